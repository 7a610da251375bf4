// Hedging (a second attempt on another replica when the first has not answered in time) and LoRA
// adapter routing (a request naming an adapter as its model goes to the base model's replicas,
// preferring one that has the adapter loaded; the upstream sees the adapter's name).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, getDecision, getJson,
  fakeUpstream, completionJson, GPT4,
} from './lib/harness.mjs';

describe('hedging', () => {
  let fast;
  let slow;
  let gw;
  before(async () => {
    [fast, slow] = await Promise.all([startReplay({ model: GPT4 }), startReplay({ model: GPT4, ttftMs: 3000 })]);
    gw = await startGateway({
      models: [
        model(GPT4, [slow.url, fast.url], { balancer: 'round_robin', hedge: { after_ms: 150 } }),
        model('unhedged', [slow.url, fast.url].map((url) => ({ url, upstream_model: GPT4 })), { balancer: 'round_robin' }),
      ],
    });
  });
  after(stopAll);

  test('a request stuck on the slow replica is answered by the hedge; the slow attempt is cancelled', async () => {
    let hedged = 0;
    for (let i = 0; i < 4; i++) {
      const p = demoPrompt(GPT4, i);
      const t0 = performance.now();
      const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
      const ms = performance.now() - t0;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, p.response);
      assert.equal(r.headers.get('x-switchboard-replica'), '#2');  // fast, second listed
      assert.ok(ms < 2500, `answered in ${ms} ms, not after the slow replica's 3 s`);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      if (d.attempts.length === 2) {
        hedged++;
        assert.deepEqual(d.attempts.map((a) => [a.replica, a.result, a.hedge ?? false]), [
          [`127.0.0.1:${fast.port}`, 'ok', true], [`127.0.0.1:${slow.port}`, 'cancelled', false],
        ]);
        assert.ok(d.attempts[0].ms >= 0 && d.attempts[1].ms >= 150);
        // The cancelled try had the whole request: its prompt is charged (estimated) beside the
        // answer's own usage, which is what the client is told.
        assert.ok(d.usage.prompt_tokens > r.json.usage.prompt_tokens,
          `${d.usage.prompt_tokens} prompt tokens recorded, the answer's ${r.json.usage.prompt_tokens}`);
        assert.equal(d.usage.source, 'estimated');
      } else {
        assert.deepEqual(d.attempts.map((a) => a.result), ['ok']);
        assert.equal(d.usage.prompt_tokens, r.json.usage.prompt_tokens);
      }
    }
    assert.ok(hedged >= 1, 'round robin put requests first on the slow replica');
  });

  test('without hedge the slow replica answers slowly (the hedge is what made it fast)', async () => {
    let slowest = 0;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const r = await postChat(gw.base, chatBody('unhedged', demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200, r.text);
      slowest = Math.max(slowest, performance.now() - t0);
    }
    assert.ok(slowest >= 2900, `slowest ${slowest} ms`);
  });
});

describe('LoRA adapters', () => {
  let withAdapter;
  let plain;
  let gw;
  const answer = (name) => (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(completionJson(JSON.parse(body).model, `from ${name}`));
  };
  before(async () => {
    [withAdapter, plain] = await Promise.all([fakeUpstream(answer('a')), fakeUpstream(answer('b'))]);
    gw = await startGateway({
      models: [model('llama-base', [{ url: withAdapter.url, adapters: ['sql-lora'], max_adapters: 2 }, { url: plain.url, max_adapters: 2 }], {
        balancer: 'lora_affinity', adapters: ['chat-lora'],
      })],
    });
  });
  after(stopAll);

  test('/v1/models lists the adapters with their base model', async () => {
    const r = await getJson(gw.base, '/v1/models');
    const ids = Object.fromEntries(r.json.data.map((m) => [m.id, m]));
    assert.equal(ids['chat-lora']?.parent, 'llama-base');
    assert.equal(ids['sql-lora']?.parent, 'llama-base');
    assert.ok(ids['llama-base']);
  });

  test('a request for an adapter goes to the replica holding it, with the adapter as model', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await postChat(gw.base, chatBody('sql-lora', `query ${i}`));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, 'from a');
      assert.equal(r.headers.get('x-switchboard-model'), 'llama-base');
    }
    assert.ok(withAdapter.requests.every((q) => JSON.parse(q.body).model === 'sql-lora'));
    assert.equal(plain.requests.length, 0);
    const r = await postChat(gw.base, chatBody('sql-lora', 'one more'));
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.route, 'sql-lora');
    assert.equal(d.model, 'llama-base');
    assert.equal(d.policy, 'direct');
    assert.match(d.reason, /LoRA adapter 'sql-lora'/);
    // POST /v1/route explains the same decision without forwarding.
    const res = await fetch(`${gw.base}/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody('sql-lora', 'x')),
    });
    const explained = await res.json();
    assert.equal(res.status, 200, JSON.stringify(explained));
    assert.equal(explained.model, 'llama-base');
  });

  test('a new adapter goes to the replica with free slots and fewer adapters, then stays there', async () => {
    const before = plain.requests.length;
    for (let i = 0; i < 4; i++) {
      const r = await postChat(gw.base, chatBody('chat-lora', `hi ${i}`));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, 'from b');
    }
    assert.equal(plain.requests.length - before, 4);
    assert.ok(plain.requests.slice(before).every((q) => JSON.parse(q.body).model === 'chat-lora'));
  });

  test('the base model itself is sent as the base model', async () => {
    const seen = [withAdapter.requests.length, plain.requests.length];
    const r = await postChat(gw.base, chatBody('llama-base', 'plain'));
    assert.equal(r.status, 200, r.text);
    // Either replica may serve the base model: find the one request sent since.
    const fresh = [...withAdapter.requests.slice(seen[0]), ...plain.requests.slice(seen[1])];
    assert.equal(fresh.length, 1);
    assert.equal(JSON.parse(fresh[0].body).model, 'llama-base');
  });
});
