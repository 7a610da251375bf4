// Non-streaming and streaming chat completions through the gateway to a replay backend serving
// the demo set: the content is the recorded answer, streams arrive in several chunks and end with
// [DONE], and the decision record carries the model, replica, tokens and a cost from the price.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat,
  getDecision, getJson, GPT4, GPT4_PRICE,
} from './lib/harness.mjs';

describe('chat completions through the gateway', () => {
  let backend;
  let gw;
  before(async () => {
    backend = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 });
    gw = await startGateway({
      models: [model(GPT4, backend.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: GPT4 } }],
    });
  });
  after(stopAll);

  const priceOf = (usage) =>
    (usage.prompt_tokens * GPT4_PRICE.input_per_mtok + usage.completion_tokens * GPT4_PRICE.output_per_mtok) / 1e6;

  test('non-streaming answer is the recorded response; decision has model, replica, tokens, cost', async () => {
    const p = demoPrompt(GPT4, 0);
    const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.json.choices[0].message.content, p.response);
    assert.equal(r.json.choices[0].message.role, 'assistant');
    assert.ok(r.json.usage.prompt_tokens > 0 && r.json.usage.completion_tokens > 0, JSON.stringify(r.json.usage));

    const id = r.headers.get('x-switchboard-decision');
    assert.match(id ?? '', /^dec_[0-9a-f]+$/);
    assert.equal(r.headers.get('x-switchboard-model'), GPT4);
    // Clients are told the replica's position, not its address (the record keeps the address).
    assert.equal(r.headers.get('x-switchboard-replica'), '#1');

    const d = await getDecision(gw.base, id);
    assert.equal(d.id, id);
    assert.equal(d.route, GPT4);
    assert.equal(d.policy, 'direct');
    assert.equal(d.model, GPT4);
    assert.equal(d.replica, `127.0.0.1:${backend.port}`);
    assert.equal(d.status, 200);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.error, null);
    assert.equal(d.stream, false);
    assert.deepEqual(d.usage, { ...pick(r.json.usage, 'prompt_tokens', 'completion_tokens'), source: 'upstream' });
    assert.ok(d.cost_usd > 0, `cost_usd ${d.cost_usd}`);
    assert.ok(Math.abs(d.cost_usd - priceOf(d.usage)) < 1e-12, `cost ${d.cost_usd} vs price ${priceOf(d.usage)}`);
    // The replay backend's usage reproduces the recorded cost at the same prices.
    assert.ok(Math.abs(d.cost_usd - p.cost) <= GPT4_PRICE.output_per_mtok / 1e6, `cost ${d.cost_usd} vs recorded ${p.cost}`);
    assert.ok(d.latency_ms > 0 && d.upstream_ms > 0 && d.latency_ms >= d.upstream_ms, JSON.stringify(d));
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0].result, 'ok');
    assert.ok(typeof d.time_ms === 'number' && Math.abs(d.time_ms - Date.now()) < 60_000);
  });

  test('streaming answer arrives as several chunks, ends with [DONE], assembles to the recorded text', async () => {
    const p = demoPrompt(GPT4, 2);
    const r = await streamChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const id = r.headers.get('x-switchboard-decision');
    assert.match(id ?? '', /^dec_/);
    assert.equal(r.headers.get('x-switchboard-model'), GPT4);
    assert.ok(r.headers.get('x-switchboard-replica'));

    assert.ok(r.events.length >= 3, `only ${r.events.length} events`);
    assert.equal(r.events.at(-1).data, '[DONE]');
    assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 1);
    for (const e of r.events.slice(0, -1)) {
      assert.ok(e.json, `event is JSON: ${e.data}`);
      assert.equal(e.json.object, 'chat.completion.chunk');
    }
    const withContent = r.events.filter((e) => e.json?.choices?.[0]?.delta?.content);
    assert.ok(withContent.length > 1, 'content comes in more than one chunk');
    assert.equal(r.text, p.response);
    assert.equal(r.trailing, '');

    const d = await getDecision(gw.base, id);
    assert.equal(d.stream, true);
    assert.equal(d.status, 200);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.model, GPT4);
    assert.ok(d.replica);
    assert.ok(d.usage.prompt_tokens > 0, JSON.stringify(d.usage));
    assert.ok(d.usage.completion_tokens > 0, JSON.stringify(d.usage));
    assert.ok(d.cost_usd > 0);
    assert.ok(Math.abs(d.cost_usd - priceOf(d.usage)) < 1e-12);
  });

  test('streaming with include_usage: the usage chunk reaches the client and the decision uses it', async () => {
    const p = demoPrompt(GPT4, 3);
    const r = await streamChat(gw.base, chatBody(GPT4, p.prompt, { stream_options: { include_usage: true } }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.events.at(-1).data, '[DONE]');
    const usageEvents = r.events.filter((e) => e.json?.usage);
    assert.equal(usageEvents.length, 1, 'exactly one usage chunk');
    const usage = usageEvents[0].json.usage;
    assert.equal(r.text, p.response);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.usage, { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens,
                                source: 'upstream' });
    assert.ok(Math.abs(d.cost_usd - priceOf(d.usage)) < 1e-12);
    assert.ok(Math.abs(d.cost_usd - p.cost) <= GPT4_PRICE.output_per_mtok / 1e6, `cost ${d.cost_usd} vs ${p.cost}`);
  });

  test('a route name is resolved by its policy and recorded', async () => {
    const p = demoPrompt(GPT4, 1);
    const r = await postChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
    assert.equal(r.headers.get('x-switchboard-model'), GPT4);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.route, 'auto');
    assert.equal(d.policy, 'static');
    assert.equal(d.model, GPT4);
    assert.equal(d.outcome, 'ok');
  });

  test('an unrecorded prompt gets the deterministic placeholder, the same twice', async () => {
    const body = chatBody(GPT4, `not in the demo set ${'z'.repeat(17)}`);
    const a = await postChat(gw.base, body);
    const b = await postChat(gw.base, body);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.ok(a.json.choices[0].message.content.length > 0);
    assert.equal(a.json.choices[0].message.content, b.json.choices[0].message.content);
    assert.notEqual(a.headers.get('x-switchboard-decision'), b.headers.get('x-switchboard-decision'));
  });

  test('keep-alive: several requests in a row on one client all succeed', async () => {
    for (let i = 0; i < 5; i++) {
      const p = demoPrompt(GPT4, i);
      const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, p.response);
    }
  });

  test('unknown decision id is a 404 in the OpenAI error shape', async () => {
    const r = await getJson(gw.base, '/v1/decisions/dec_000000000000000000000000');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'decision_not_found');
    for (const id of ["x' OR '1'='1", '%27%20OR%201%3D1%20--', '', '..%2F..%2Fetc%2Fpasswd']) {
      const q = await getJson(gw.base, `/v1/decisions/${id.includes('%') ? id : encodeURIComponent(id)}`);
      assert.equal(q.status, 404, `id ${id}: ${q.status} ${q.text}`);
    }
  });

  test('health and readiness endpoints answer', async () => {
    const h = await getJson(gw.base, '/healthz');
    assert.equal(h.status, 200);
    assert.equal(h.json.status, 'ok');
    const rd = await getJson(gw.base, '/readyz');
    assert.equal(rd.status, 200);
    assert.equal(rd.json.status, 'ready');
  });
});

function pick(obj, ...keys) {
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}
