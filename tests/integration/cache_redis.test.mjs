// Two gateways share one cache in Redis (a redis-server this test starts on an ephemeral port): an
// answer stored through one is a hit — exact and semantic — through the other, without an upstream
// call; when Redis goes away, requests bypass the cache and still succeed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, getDecision, sleep,
} from './lib/harness.mjs';
import { SKIP_NO_REDIS, startRedis } from './lib/redis.mjs';
import { echoUpstream, FAKE } from './lib/echo_upstream.mjs';
describe('cache shared through Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let echo;
  let gwA;
  let gwB;
  before(async () => {
    [redis, echo] = await Promise.all([startRedis(), echoUpstream()]);
    const cfg = {
      models: [model(FAKE, echo.url)],
      routes: [{ name: 'cached', policy: { type: 'static', model: FAKE }, cache: { ttl_s: 600 } }],
      extraConfig: { cache: { redis: redis.url } },
    };
    [gwA, gwB] = await Promise.all([startGateway(cfg), startGateway(cfg)]);
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('an answer stored through one gateway is a hit through the other', async () => {
    const q = 'How do I reverse a list in Python?';
    const n0 = echo.requests.length;
    const a = await postChat(gwA.base, chatBody('cached', q));
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('x-switchboard-cache'), 'miss');
    await getDecision(gwA.base, a.headers.get('x-switchboard-decision'));
    // The insert is queued to gateway A's Redis thread after the answer: give it a moment.
    let b;
    for (let i = 0; i < 20; i++) {
      b = await postChat(gwB.base, chatBody('cached', q));
      if (b.headers.get('x-switchboard-cache') === 'hit') break;
      await sleep(50);
    }
    assert.equal(b.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(b.json.choices[0].message.content, `answer to: ${q}`);
    const d = await getDecision(gwB.base, b.headers.get('x-switchboard-decision'));
    assert.equal(d.cache.match, 'exact');
    assert.equal(echo.requests.length - n0, 1);

    // Semantic: gateway B syncs A's entry into its local index.
    const para = await postChat(gwB.base, chatBody('cached', 'What is the way to reverse a list in Python?'));
    assert.equal(para.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(para.json.choices[0].message.content, `answer to: ${q}`);
    const neg = await postChat(gwB.base, chatBody('cached', 'How do I reverse a list in Java?'));
    assert.equal(neg.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(echo.requests.length - n0, 2);
  });

  test('a Redis outage means bypass, never a failed request', async () => {
    redis.proc.kill('SIGKILL');
    await sleep(200);
    for (const gw of [gwA, gwB]) {
      const r = await postChat(gw.base, chatBody('cached', 'How do I reverse a list in Python?'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-switchboard-cache'), 'bypass');
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.match(d.cache.note, /unavailable|busy|slow/);
    }
  });
});
