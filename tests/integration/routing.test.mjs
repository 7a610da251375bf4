// Model fallback and replica balancing through real processes: a route falls back to its next
// model when the first one's replica is down, and a model's replicas share the load.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getDecision,
  closedPort, GPT4, MIXTRAL,
} from './lib/harness.mjs';

describe('fallback and balancing', () => {
  let gpt4a;
  let gpt4b;
  let gw;
  let downPort;
  before(async () => {
    [gpt4a, gpt4b, downPort] = await Promise.all([
      startReplay({ model: GPT4 }), startReplay({ model: GPT4 }), closedPort(),
    ]);
    gw = await startGateway({
      models: [
        model(GPT4, [gpt4a.url, gpt4b.url], { balancer: 'round_robin' }),
        model(MIXTRAL, `http://127.0.0.1:${downPort}`),
      ],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } }],
    });
  });
  after(stopAll);

  test('a route falls back to the next model when the first is unreachable', async () => {
    const p = demoPrompt(GPT4, 0);
    const r = await postChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
    assert.equal(r.headers.get('x-switchboard-model'), GPT4);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.model, GPT4);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.attempts.length, 2);
    assert.deepEqual(d.attempts.map((a) => [a.model, a.result]), [[MIXTRAL, 'upstream_unreachable'], [GPT4, 'ok']]);
    assert.match(d.reason, /fell back/);
  });

  test('fallback works for streams too', async () => {
    const p = demoPrompt(GPT4, 1);
    const s = await streamChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(s.status, 200);
    assert.equal(s.text, p.response);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(s.headers.get('x-switchboard-model'), GPT4);
  });

  test('round_robin spreads requests over both replicas', async () => {
    const [a0, b0] = [(await gpt4a.stats()).requests, (await gpt4b.stats()).requests];
    const replicas = new Set();
    for (let i = 0; i < 10; i++) {
      const r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, demoPrompt(GPT4, i).response);
      replicas.add(r.headers.get('x-switchboard-replica'));
    }
    const [a1, b1] = [(await gpt4a.stats()).requests, (await gpt4b.stats()).requests];
    assert.deepEqual(replicas, new Set(['#1', '#2']));  // positions: clients are not told addresses
    assert.equal(a1 - a0 + b1 - b0, 10);
    assert.equal(a1 - a0, 5);
    assert.equal(b1 - b0, 5);
  });
});
