// A capacity holds for a fleet of gateways, not for each one (docs/capacity.md, "Several
// gateways"): two gateways share one redis-server (`state: {redis: URL}`), each gets half of a
// RouterBench stream (the set-up of capacity.test.mjs: replay backends, knn trained on the train
// split), and one model's capacity is half of the fleet's demand for it. Each gateway alone sees
// exactly its capacity and would keep its price near 0 (the model would serve twice its capacity);
// stepping on the fleet's summed load, the model's served rate — both gateways' answers together —
// lands within 10% of the capacity. Then Redis goes away: both go on serving on their own load.
// Skipped without ../shared/data/routerbench_zs or redis-server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, stopAll, getJson, postChat, HAVE_ROUTERBENCH,
} from './lib/harness.mjs';
import {
  RPS, SECONDS, WARMUP, CONTROL, bodyFor, stream, prepareCapacityBench,
} from './lib/capacity_bench.mjs';
import { HAVE_REDIS, startRedis } from './lib/redis.mjs';
import { spawnSync } from 'node:child_process';
import { echoUpstream, FAKE } from './lib/echo_upstream.mjs';
import { model, sleep } from './lib/harness.mjs';

const skip = !HAVE_ROUTERBENCH ? 'no ../shared/data/routerbench_zs'
  : !HAVE_REDIS ? 'redis-server is not installed (CI installs it)' : false;

describe('capacity shared by two gateways through Redis', { skip }, () => {
  let bench;
  let redis;
  before(async () => {
    [bench, redis] = await Promise.all([prepareCapacityBench(), startRedis()]);
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('the fleet serves a capped model at its capacity; without Redis each gateway goes on alone', async () => {
    const { prompts, top, share, route, models } = bench;
    const capacity = (share * RPS) / 2;  // half of the two gateways' demand together
    const config = {
      models: models({ [top]: { capacity: { rps: capacity } } }),
      routes: [route('capped')],
      extraConfig: { control: CONTROL, state: { redis: redis.url, timeout_ms: 200 } },
    };
    const gws = await Promise.all([startGateway(config), startGateway(config)]);
    // Each gateway gets every other prompt of the stream, at half the rate.
    const halves = [prompts.filter((_, i) => i % 2 === 0), prompts.filter((_, i) => i % 2 === 1)];
    let served = 0, errors = 0;
    await Promise.all(gws.map((gw, g) => stream(gw.base, 'capped', halves[g], {
      rps: RPS / 2,
      onAnswer: (t, rec, res) => {
        if (res.status !== 200) { errors++; return; }
        if (t >= WARMUP && res.headers.get('x-switchboard-model') === top) served++;
      },
    })));
    assert.equal(errors, 0);
    const rate = served / (SECONDS - WARMUP);
    const states = await Promise.all(gws.map(async (gw) => (await getJson(gw.base, '/v1/capacity')).json));
    console.log(`fleet capacity ${capacity.toFixed(2)} rps of ${top}: served ${rate.toFixed(2)} rps ` +
      `(${((rate / capacity - 1) * 100).toFixed(1)}%); prices ${states.map((s) => s.models[0].price.toFixed(4)).join(' / ')}, ` +
      `loads ${states.map((s) => s.models[0].load.toFixed(2)).join(' / ')}`);
    for (const s of states) {
      assert.equal(s.shared, true);
      assert.equal(s.gateways, 2, 'the last step summed both gateways');
      assert.ok(s.history.some((h) => h.prices[top] > 0));
    }
    assert.ok(Math.abs(rate / capacity - 1) <= 0.10, `served ${rate} rps vs the fleet's capacity ${capacity}`);

    // Redis goes away: each gateway logs it once and goes on, stepping on its own load.
    redis.proc.kill('SIGKILL');
    await new Promise((r) => redis.proc.once('exit', r));
    for (const gw of gws) await gw.proc.waitFor(/capacity state: redis at .* unreachable/, 10000);
    for (const gw of gws) {
      const res = await postChat(gw.base, bodyFor('capped', prompts[0]));
      assert.equal(res.status, 200);
      await new Promise((r) => setTimeout(r, 3 * CONTROL.interval_ms));
      assert.equal((await getJson(gw.base, '/v1/capacity')).json.gateways, 1);
    }
  });
});

// Since session 28: a load another gateway (or anything with access to Redis) wrote that no
// gateway measures (1e300, negative, a time far ahead) is ignored and deleted: one such field
// pinned the model's price at its maximum on every gateway for about 45 minutes.
describe('capacity figures read from Redis are range-checked', { skip: !HAVE_REDIS && 'redis-server is not installed (CI installs it)' }, () => {
  let redis;
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('an absurd load in the shared hash moves no price', async () => {
    redis = await startRedis();
    const echo = await echoUpstream();
    const gw = await startGateway({
      models: [model(FAKE, echo.url, { capacity: { rps: 5 } })],
      routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
      extraConfig: { control: CONTROL, state: { redis: redis.url } },
    });
    const cli = (...args) => spawnSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' });
    const key = `sb:rl:cap:m:${FAKE}:rps`;  // per model and unit
    const now = Date.now();
    for (const [field, value] of [['evil-big', `1e300 ${now}`], ['evil-negative', `-50 ${now}`],
      ['evil-future', `40 ${now + 3_600_000}`]])
      assert.equal(cli('HSET', key, field, value).status, 0);
    await sleep(CONTROL.interval_ms * 8);
    const state = (await getJson(gw.base, '/v1/capacity')).json;
    assert.equal(state.models[0].load, 0, JSON.stringify(state.models[0]));
    assert.equal(state.models[0].price, 0, JSON.stringify(state.models[0]));
    // Deleted, not kept for the next reader.
    assert.equal(cli('HEXISTS', key, 'evil-big').stdout.trim(), '0');
  });
});
