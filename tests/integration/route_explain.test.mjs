// POST /v1/route explains the decision a chat request would get without forwarding it: the
// upstream sees no request, and the explanation matches what the chat path then records.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, getDecision, getJson,
  expectErrorShape, GPT4, MIXTRAL, rawExchange,
} from './lib/harness.mjs';

async function postRoute(base, body, headers = {}) {
  const res = await fetch(`${base}/v1/route`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/route', () => {
  let gpt4;
  let mixtral;
  let gw;
  before(async () => {
    [gpt4, mixtral] = await Promise.all([startReplay({ model: GPT4 }), startReplay({ model: MIXTRAL })]);
    gw = await startGateway({
      models: [model(GPT4, gpt4.url), model(MIXTRAL, mixtral.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } }],
    });
  });
  after(stopAll);

  test('explains a route decision and forwards nothing', async () => {
    const p = demoPrompt(MIXTRAL, 0);
    const r = await postRoute(gw.base, chatBody('auto', p.prompt));
    assert.equal(r.status, 200);
    assert.equal(r.json.route, 'auto');
    assert.equal(r.json.model, MIXTRAL);
    assert.equal(r.json.policy, 'static');
    assert.deepEqual(r.json.fallbacks, [GPT4]);
    assert.equal(r.json.candidates[0].model, MIXTRAL);
    assert.ok(r.json.signals.prompt_tokens > 0);
    const stats = await getJson(mixtral.url, '/admin/stats');
    assert.equal(stats.json.requests, 0, 'the upstream must not have been called');

    // The chat path decides the same way and records the same explanation.
    const chat = await postChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(chat.status, 200);
    const d = await getDecision(gw.base, chat.headers.get('x-switchboard-decision'));
    assert.equal(d.model, r.json.model);
    assert.equal(d.policy, r.json.policy);
    assert.deepEqual(d.candidates, r.json.candidates);
  });

  test('a configured model is a direct decision', async () => {
    const r = await postRoute(gw.base, chatBody(GPT4, 'hello'));
    assert.equal(r.status, 200);
    assert.equal(r.json.model, GPT4);
    assert.equal(r.json.policy, 'direct');
  });

  test('errors have the OpenAI shape', async () => {
    const unknown = await postRoute(gw.base, chatBody('nope', 'hello'));
    assert.equal(unknown.status, 404);
    expectErrorShape(assert, unknown.json, 'model_not_found');
    const bad = await postRoute(gw.base, '{"model":');
    assert.equal(bad.status, 400);
    expectErrorShape(assert, bad.json, 'invalid_json');
  });

  test('malformed routing headers are rejected on both paths, naming the header', async () => {
    const bad = await postRoute(gw.base, chatBody('auto', 'hello'), { 'x-switchboard-objective': 'cheapest' });
    assert.equal(bad.status, 400);
    expectErrorShape(assert, bad.json, 'invalid_header');
    assert.match(bad.json.error.message, /x-switchboard-objective/);
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-switchboard-max-cost': '-1' },
      body: JSON.stringify(chatBody('auto', 'hello')),
    });
    assert.equal(res.status, 400);
    const json = await res.json();
    expectErrorShape(assert, json, 'invalid_header');
    assert.match(json.error.message, /x-switchboard-max-cost/);
    const ok = await postRoute(gw.base, chatBody('auto', 'hello'),
      { 'x-switchboard-objective': 'cost', 'x-switchboard-max-cost': '0.01' });
    assert.equal(ok.status, 200);
    // Repeated with different values (a proxy appending its own cap): 400, recorded.
    const body = JSON.stringify(chatBody('auto', 'hello'));
    const raw = await rawExchange(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
      'Content-Type: application/json\r\nx-switchboard-max-cost: 5\r\nx-switchboard-max-cost: 0.0001\r\n' +
      `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    assert.equal(raw.status, 400, raw.text.slice(0, 400));
    assert.match(raw.text, /x-switchboard-max-cost appears more than once with different values/);
    assert.match(raw.text, /x-switchboard-decision: dec_/i);
  });
});
