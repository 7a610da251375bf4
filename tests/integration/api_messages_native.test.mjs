// Native pass-through of POST /v1/messages to a replica with `api: anthropic`: the client's body
// goes to the replica's /v1/messages unchanged (model renamed) with the key as x-api-key, the answer
// and the stream come back byte for byte, usage and cost are recorded from Anthropic's usage. A
// chat request to such a model cannot use it (api_mismatch); a model with both kinds of replicas
// serves both APIs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import {
  startReplay, startGateway, model, stopAll, getDecision, postChat, chatBody, GPT4, GPT4_PRICE,
} from './lib/harness.mjs';
import { anthropicUpstream } from './lib/anthropic_upstream.mjs';

const KEY = 'sk-ant-test-123';
const CLAUDE = 'claude-native';

describe('Messages passed through to an Anthropic-compatible replica', () => {
  let gw;
  let client;
  let upstream;
  before(async () => {
    upstream = await anthropicUpstream(KEY);
    const chat = await startReplay({ model: GPT4 });
    gw = await startGateway({
      models: [
        model(CLAUDE, [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY', upstream_model: 'claude-upstream' }]),
        model(GPT4, chat.url),
      ],
      routes: [{ name: 'claude', policy: { type: 'static', model: CLAUDE } }],
      env: { SB_TEST_ANTHROPIC_KEY: KEY },
    });
    client = new Anthropic({ apiKey: 'client-key-not-forwarded', baseURL: gw.base, maxRetries: 0 });
  });
  after(stopAll);

  test('plain: the replica gets the client body natively and its answer comes back unchanged', async () => {
    const { data: msg, response } = await client.messages.create({
      model: 'claude', max_tokens: 300, system: 'Be brief.', top_k: 5,
      messages: [{ role: 'user', content: 'hello there' }],
    }).withResponse();
    assert.equal(msg.id, 'msg_native_01');  // the upstream's own id: not translated
    assert.equal(msg.content[0].text, 'native answer to: hello there');
    assert.deepEqual(msg.usage, { input_tokens: 21, output_tokens: 8 });
    const got = upstream.requests.at(-1);
    assert.equal(got.url, '/v1/messages');
    assert.equal(got.headers['x-api-key'], KEY);
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.headers['anthropic-version'], '2023-06-01');
    const body = JSON.parse(got.body);
    assert.equal(body.model, 'claude-upstream');
    assert.equal(body.system, 'Be brief.');  // Anthropic fields kept as the client sent them
    assert.equal(body.top_k, 5);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'hello there' }]);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.model, CLAUDE);
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: 21, completion_tokens: 8, source: 'upstream' });
    const price = (21 * GPT4_PRICE.input_per_mtok + 8 * GPT4_PRICE.output_per_mtok) / 1e6;
    assert.ok(Math.abs(d.cost_usd - price) < 1e-12, String(d.cost_usd));
  });

  test('streamed: the replica\'s events pass through (ping included), usage recorded', async () => {
    const res = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /event: ping/);  // a translation never emits ping
    assert.match(text, /msg_native_01/);
    const stream = client.messages.stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'stream me' }] });
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, 'native answer to: stream me');
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.stream, true);
    assert.deepEqual(d.usage, { prompt_tokens: 21, completion_tokens: 8, source: 'upstream' });
  });

  test('chat completions to that model: no replica speaks chat (502 api_mismatch, replica not ejected)', async () => {
    const r = await postChat(gw.base, chatBody(CLAUDE, 'hi'));
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, 'api_mismatch');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts[0].result, 'api_mismatch');
    // Messages still reach it.
    const msg = await client.messages.create({ model: CLAUDE, max_tokens: 10, messages: [{ role: 'user', content: 'still there?' }] });
    assert.equal(msg.content[0].text, 'native answer to: still there?');
  });

  test('the same SDK to a chat model is translated as before', async () => {
    const msg = await client.messages.create({ model: GPT4, max_tokens: 2048, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.type, 'message');
    assert.match(msg.id, /^msg_/);
    assert.notEqual(msg.id, 'msg_native_01');
  });
});
