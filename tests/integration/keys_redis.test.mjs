// Rate limits and budgets shared by two gateways through one redis-server (started here on an
// ephemeral port): N gateways enforce one limit; when Redis dies, a fail-open gateway keeps
// serving on its local counters (and says so in /metrics and its log) while a fail-closed one
// refuses limited keys with 503.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  startGateway, model, stopAll, chatBody, postChat, getJson, tempDir, sleep,
  expectErrorShape, parseMetrics, eventually, reloadConfig
} from './lib/harness.mjs';
import { SKIP_NO_REDIS, startRedis } from './lib/redis.mjs';
import { echoUpstream, FAKE } from './lib/echo_upstream.mjs';
import { createKey, bearer } from './lib/keys.mjs';

const COST = (5 * 10 + 7 * 30) / 1e6;

function metric(text, name) {
  return parseMetrics(text).find((s) => s.name === name)?.value;
}

async function syncs(gw) {
  return metric((await getJson(gw.base, '/metrics')).text, 'switchboard_ratelimit_state_syncs_total') ?? 0;
}

// Waits until `gw` has completed `n` more round trips to Redis than now: the n-th started after
// the first one completed, so after anything counted before this call.
async function moreSyncs(gw, n) {
  const from = await syncs(gw);
  for (const deadline = Date.now() + 15000; ;) {
    if ((await syncs(gw)) >= from + n) return;
    assert.ok(Date.now() < deadline, `${gw.base} did not sync with Redis`);
    await sleep(20);
  }
}

describe('rate limits shared through Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let gwA;
  let gwB;
  let gwClosed;
  let keysDb;
  const keys = {};
  before(async () => {
    let echo;
    [redis, echo] = await Promise.all([startRedis(), echoUpstream()]);
    keysDb = path.join(tempDir('sb-keys-'), 'keys.db');
    // Keys first (the gateways load them at start-up).
    keys.shared = createKey(keysDb, 'shared', { team: 'ml', rpm: 6 });
    keys.budget = createKey(keysDb, 'budget', { team: 'ml', usdPerDay: COST * 1.5 });
    keys.roomy = createKey(keysDb, 'roomy', { team: 'web', rpm: 1000 });
    keys.free = createKey(keysDb, 'free', { team: 'web' });
    const cfg = (failOpen) => ({
      models: [model(FAKE, echo.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
      extraConfig: {
        auth: { required: true, keys_db: keysDb, reload_ms: 200 },
        state: { redis: redis.url, fail_open: failOpen, sync_ms: 20, timeout_ms: 200 },
      },
    });
    [gwA, gwB, gwClosed] = await Promise.all([startGateway(cfg(true)), startGateway(cfg(true)),
      startGateway(cfg(false))]);
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('two gateways enforce one requests-per-minute limit', async () => {
    const h = { headers: bearer(keys.shared.secret) };
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      const gw = i % 2 ? gwB : gwA;
      const r = await postChat(gw.base, chatBody('auto', `q${i}`), h);
      statuses.push(r.status);
      if (r.status === 429) {
        expectErrorShape(assert, r.json, 'rate_limit_exceeded');
        assert.equal(r.headers.get('x-ratelimit-limit-requests'), '6');
        assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
      }
      // The count reaches Redis with this gateway's next sync (2: the first may have started
      // before the request was counted); the other gateway has it after its next full read-back
      // (3: at most one of its syncs only sends its own trailing counts, one may have started
      // before; each sync after that reads every total back). Gateway B reads the key's counter
      // back once it has counted the key itself (i > 0; before its first request its /metrics
      // has no sync counter yet).
      await moreSyncs(gw, 2);
      if (i > 0) await moreSyncs(gw === gwA ? gwB : gwA, 3);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429],
      'each gateway alone would have admitted 6; together they admitted 6');
    // The third gateway (same Redis) knows too, on its first request for the key... after a sync.
    const c = await postChat(gwClosed.base, chatBody('auto', 'x'), h);
    assert.ok(c.status === 429 || c.status === 200, `${c.status}`);
    // Its first request kicked a sync; the answer to the next one depends on whether that sync has
    // landed yet, so ask until it has (one sync is 20 ms; 3 s is room for a loaded machine).
    let after;
    for (const deadline = Date.now() + 3000; ;) {
      after = await postChat(gwClosed.base, chatBody('auto', 'x'), h);
      if (after.status === 429 || Date.now() > deadline) break;
      await sleep(100);
    }
    assert.equal(after.status, 429, 'after a sync the third gateway sees the shared count');
  });

  test('a budget spent through one gateway is spent on the other', async () => {
    const h = { headers: bearer(keys.budget.secret) };
    assert.equal((await postChat(gwA.base, chatBody('auto', 'one'), h)).status, 200);
    await sleep(150);
    assert.equal((await postChat(gwA.base, chatBody('auto', 'two'), h)).status, 200);
    await sleep(300); // the answer's cost is settled, then synced
    const r = await postChat(gwB.base, chatBody('auto', 'three'), h);
    assert.equal(r.status, 429, r.text);
    expectErrorShape(assert, r.json, 'budget_exceeded');
  });

  test('Redis killed: fail_open keeps serving on local counters and says so; fail closed refuses', async () => {
    const up = metric((await getJson(gwA.base, '/metrics')).text, 'switchboard_ratelimit_state_up');
    assert.equal(up, 1);
    redis.proc.kill('SIGKILL');
    await new Promise((r) => redis.proc.once('exit', r));
    const h = { headers: bearer(keys.roomy.secret) };
    // Fail open: every request is served, while the gateway notices Redis is gone.
    for (let i = 0; i < 8; i++) {
      const r = await postChat(gwA.base, chatBody('auto', `x${i}`), h);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '1000');
      await sleep(150);
    }
    const text = await eventually(async () => {
      const t = (await getJson(gwA.base, '/metrics')).text;
      return metric(t, 'switchboard_ratelimit_state_up') === 0 ? t : undefined;
    });
    assert.ok(metric(text, 'switchboard_ratelimit_state_errors_total') >= 1);
    await gwA.proc.waitFor(/redis at .* unreachable .*local counters/);
    // The limit already reached stays enforced on the local counts.
    assert.equal((await postChat(gwA.base, chatBody('auto', 'x'), { headers: bearer(keys.shared.secret) })).status, 429);
    // Fail closed: limited keys get 503 once the gateway knows; keys without limits are served.
    const refused = await eventually(async () => {
      const r = await postChat(gwClosed.base, chatBody('auto', 'x'), h);
      return r.status === 503 ? r : undefined;
    });
    expectErrorShape(assert, refused.json, 'rate_limit_state_unavailable');
    const free = await postChat(gwClosed.base, chatBody('auto', 'x'), { headers: bearer(keys.free.secret) });
    assert.equal(free.status, 200);
  });

  test('Redis back: the gateways reconnect, send what they counted meanwhile and share again', async () => {
    redis = await startRedis(redis.port); // empty: the counts it held are gone
    await gwA.proc.waitFor(/redis at .* reachable again/, 10000);
    const text = await eventually(async () => {
      const t = (await getJson(gwA.base, '/metrics')).text;
      return metric(t, 'switchboard_ratelimit_state_up') === 1 ? t : undefined;
    });
    assert.equal(metric(text, 'switchboard_ratelimit_state_up'), 1);
    // Fail closed serves limited keys again.
    await eventually(async () => (await postChat(gwClosed.base, chatBody('auto', 'x'),
      { headers: bearer(keys.roomy.secret) })).status === 200);
    // gwA's requests of `roomy` made during the outage reached the new Redis.
    const counted = await eventually(async () => {
      const r = spawnSync('redis-cli', ['-p', String(redis.port), '--scan', '--pattern', 'sb:rl:*:r:*']);
      const names = r.stdout?.toString().trim().split('\n').filter(Boolean) ?? [];
      let total = 0;
      for (const n of names.filter((x) => x.startsWith(`sb:rl:${keys.roomy.key.id}:`))) {
        total += Number(spawnSync('redis-cli', ['-p', String(redis.port), 'GET', n]).stdout.toString());
      }
      return total >= 8 ? total : undefined;
    });
    assert.ok(counted >= 8, `${counted}`);
  });

  test('a reload without `state` drops the shared-state series from /metrics', async () => {
    const has = async () => (await getJson(gwA.base, '/metrics')).text.includes('switchboard_ratelimit_state_up');
    assert.ok(await has());
    await reloadConfig(gwA, (cfg) => { delete cfg.state; }, 1);
    // Every worker drops the old runtime (and its Redis state) at the reload, not at its next
    // request: no request is sent here (an idle worker kept it for ever).
    await eventually(async () => !(await has()));
    assert.equal((await postChat(gwA.base, chatBody('auto', 'x'), { headers: bearer(keys.free.secret) })).status, 200);
  });
});
