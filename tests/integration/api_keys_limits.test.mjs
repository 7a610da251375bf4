// Every client API runs through the same auth and limits stages when the config has `auth:`
// (docs/apis.md, docs/keys.md): a key that may not use a route gets 403 in the endpoint's own
// error shape (Anthropic's on /v1/messages, where the key may come as x-api-key as Anthropic's SDK
// sends it), embeddings count against a key's requests per minute with the x-ratelimit-* headers,
// and every record names the key and the API the request came in on.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, getDecision, sleep, GPT4, eventually
} from './lib/harness.mjs';
import { createKey, bearer } from './lib/keys.mjs';
import { postJson } from './lib/post.mjs';

describe('auth and limits on every API', () => {
  let gw;
  const secrets = {};
  before(async () => {
    const backend = await startReplay({ model: GPT4, extraArgs: ['--embedding-dim', '8'] });
    gw = await startGateway({
      models: [model(GPT4, backend.url)],
      routes: [
        { name: 'auto', policy: { type: 'static', model: GPT4 } },
        { name: 'other', policy: { type: 'static', model: GPT4 } },
      ],
      extraConfig: { auth: { required: true, reload_ms: 100 }, apis: { responses: { store: true } } },
    });
    secrets.autoOnly = createKey(gw.sqlite, 'auto-only', { team: 'web', routes: 'auto' });
    secrets.rpm = createKey(gw.sqlite, 'rpm2', { team: 'ml', rpm: 2 });
    secrets.other = createKey(gw.sqlite, 'other-team', { team: 'ops' });
    await eventually(async () => (await postJson(gw.base, '/v1/embeddings', { model: 'auto', input: 'warm' },
      bearer(secrets.autoOnly.secret))).status === 200);
  });
  after(stopAll);

  test('/v1/messages: x-api-key accepted; a route the key may not use is 403 permission_error in Anthropic\'s shape', async () => {
    const client = new Anthropic({ apiKey: secrets.autoOnly.secret, baseURL: gw.base, maxRetries: 0 });
    const { data: msg, response } = await client.messages.create({
      model: 'auto', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }],
    }).withResponse();
    assert.equal(msg.type, 'message');
    const ok = await getDecision(gw.base, response.headers.get('x-switchboard-decision'),
      { headers: bearer(secrets.autoOnly.secret) });
    assert.deepEqual(ok.key, { name: 'auto-only', team: 'web' });
    assert.equal(ok.api, 'messages');
    await assert.rejects(
      client.messages.create({ model: 'other', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] }),
      (e) => e.status === 403 && e.error?.type === 'error' && e.error?.error?.type === 'permission_error');
    const raw = await postJson(gw.base, '/v1/messages',
      { model: 'other', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
      { 'x-api-key': secrets.autoOnly.secret, 'anthropic-version': '2023-06-01' });
    assert.equal(raw.status, 403);
    assert.equal(raw.json.type, 'error');
    assert.equal(raw.json.error.type, 'permission_error');
    const d = await getDecision(gw.base, raw.headers.get('x-switchboard-decision'),
      { headers: bearer(secrets.autoOnly.secret) });
    assert.equal(d.api, 'messages');
    assert.equal(d.status, 403);
    assert.deepEqual(d.key, { name: 'auto-only', team: 'web' });
  });

  test('/v1/messages without a key: 401 authentication_error in Anthropic\'s shape', async () => {
    const r = await postJson(gw.base, '/v1/messages', { model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.status, 401);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'authentication_error');
    assert.ok(r.headers.get('x-switchboard-decision'));
  });

  test('/v1/responses, /v1/completions, /v1/embeddings: 403 in OpenAI\'s shape, recorded with their API', async () => {
    const h = bearer(secrets.autoOnly.secret);
    for (const [path, body, api] of [
      ['/v1/responses', { model: 'other', input: 'x' }, 'responses'],
      ['/v1/completions', { model: 'other', prompt: 'x', max_tokens: 5 }, 'completions'],
      ['/v1/embeddings', { model: 'other', input: 'x' }, 'embeddings'],
      ['/v1/chat/completions', { model: 'other', messages: [{ role: 'user', content: 'x' }] }, 'chat'],
    ]) {
      const r = await postJson(gw.base, path, body, h);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal(typeof r.json.error.message, 'string', path);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), { headers: h });
      assert.equal(d.api, api, path);
      assert.deepEqual(d.key, { name: 'auto-only', team: 'web' }, path);
    }
  });

  test('a stored Responses conversation continues with the key that stored it only', async () => {
    const mine = bearer(secrets.autoOnly.secret);
    const first = await postJson(gw.base, '/v1/responses', { model: 'auto', input: 'Remember: blue.', store: true }, mine);
    assert.equal(first.status, 200, first.text);
    const next = { model: 'auto', input: 'Which colour?', previous_response_id: first.json.id };
    const same = await eventually(async () => {
      const r = await postJson(gw.base, '/v1/responses', next, mine);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(same.json.object, 'response');
    const other = await postJson(gw.base, '/v1/responses', next, bearer(secrets.other.secret));
    assert.equal(other.status, 404, other.text);
    assert.equal(other.json.error.code, 'previous_response_not_found', 'another key\'s conversation is unknown to it');
    const none = await postJson(gw.base, '/v1/responses', next);
    assert.equal(none.status, 401, 'no key: refused by the auth stage, nothing looked up');
    assert.equal(none.json.error.code, 'invalid_api_key');
    // Read back and deleted by the same key only.
    const url = `${gw.base}/v1/responses/${first.json.id}`;
    assert.equal((await fetch(url, { headers: bearer(secrets.other.secret) })).status, 404);
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { method: 'DELETE', headers: bearer(secrets.other.secret) })).status, 404);
    const read = await fetch(url, { headers: mine });
    assert.equal(read.status, 200);
    assert.equal((await read.json()).id, first.json.id);
    assert.equal((await fetch(url, { method: 'DELETE', headers: mine })).status, 200);
    assert.equal((await fetch(url, { headers: mine })).status, 404);
  });

  test('embeddings are metered by the limits stage: requests per minute, x-ratelimit-* headers, 429', async () => {
    const openai = new OpenAI({ apiKey: secrets.rpm.secret, baseURL: `${gw.base}/v1`, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const { data, response } = await openai.embeddings.create({ model: 'auto', input: `text ${i}` }).withResponse();
      assert.equal(data.data[0].embedding.length, 8);
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '2');
      assert.equal(response.headers.get('x-ratelimit-remaining-requests'), String(1 - i));
      const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'),
        { headers: bearer(secrets.rpm.secret) });
      assert.equal(d.api, 'embeddings');
      assert.deepEqual(d.key, { name: 'rpm2', team: 'ml' });
      assert.ok(d.usage.prompt_tokens > 0);
    }
    const r = await postJson(gw.base, '/v1/embeddings', { model: 'auto', input: 'one too many' }, bearer(secrets.rpm.secret));
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, 'rate_limit_exceeded');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), { headers: bearer(secrets.rpm.secret) });
    assert.equal(d.api, 'embeddings');
    assert.equal(d.outcome, 'rate_limited');
  });
});
