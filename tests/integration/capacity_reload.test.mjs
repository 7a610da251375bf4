// Capacity prices and budget λ survive a hot reload (docs/capacity.md): the new runtime's
// controller starts from the old one's prices, λ and history instead of 0.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { startGateway, model, stopAll, chatBody, postChat, getJson, sleep, parseMetrics } from './lib/harness.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

const A = 'model-a';
// Steps of 0.2 (a step moves the price one price_step at most, since session 31): the load runs on
// through the reload, so that the price read after it can only have gone on rising (or stayed at
// max_price) had it been carried over, and is 0 if it was not.
const CONTROL = { interval_ms: 100, price_step: 0.2, smoothing: 1, max_price: 5, lambda_step: 1 };

describe('capacity prices across a reload', () => {
  after(() => stopAll());

  test('SIGHUP keeps the prices, λ and history', async () => {
    const echo = await echoUpstream();
    const gw = await startGateway({
      models: [model(A, echo.url, { capacity: { rps: 0.5 } })],
      // elo: a policy that weighs cost (a budget on a static route is refused).
      routes: [{ name: 'r', policy: { type: 'elo' }, budget: { usd_per_hour: 0.001 } }],
      extraConfig: { control: CONTROL },
    });
    for (let i = 0; i < 12; ++i) {
      await Promise.all(Array.from({ length: 10 }, () => postChat(gw.base, chatBody('r', 'hello'))));
      await sleep(40);
    }
    let loading = true;
    const load = (async () => {
      while (loading) {
        await Promise.all(Array.from({ length: 5 }, () => postChat(gw.base, chatBody('r', 'hello'))));
        await sleep(20);
      }
    })();
    const before = (await getJson(gw.base, '/v1/capacity')).json;
    const price = before.models.find((m) => m.model === A).price;
    const lambda = before.routes.find((r) => r.route === 'r').lambda;
    assert.ok(price >= 0.6, `price before the reload: ${price}`);
    assert.ok(lambda > 0, `λ before the reload: ${lambda}`);
    gw.proc.child.kill('SIGHUP');
    await gw.proc.waitFor(/reload \(sighup\) #1/, 10000);
    await sleep(150);  // a step of the new runtime's controller
    const afterReload = (await getJson(gw.base, '/v1/capacity')).json;
    loading = false;
    await load;
    const p2 = afterReload.models.find((m) => m.model === A).price;
    const l2 = afterReload.routes.find((r) => r.route === 'r').lambda;
    // Under the same load the price goes on from where it was, never back to 0.
    assert.ok(p2 >= price, `price after the reload ${p2} vs ${price} before`);
    assert.ok(l2 > 0, `λ after the reload ${l2}`);
    assert.ok(afterReload.history.length >= before.history.length,
      `history ${afterReload.history.length} steps after, ${before.history.length} before`);

    // A reload that drops the capacity, the budget and the replica (another URL) drops their
    // series: they showed the last price, λ and "available" for ever.
    const series = async () => {
      const text = (await getJson(gw.base, '/metrics')).text;
      return parseMetrics(text);
    };
    const seen = await series();
    const has = (m, name, labels) => m.some((s) => s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.ok(has(seen, 'switchboard_model_price', { model: A }));
    assert.ok(has(seen, 'switchboard_route_lambda', { route: 'r' }));
    const oldReplica = seen.find((s) => s.name === 'switchboard_replica_available' && s.labels.model === A).labels.replica;
    const echo2 = await echoUpstream();
    const cfg = JSON.parse(readFileSync(gw.configPath, 'utf8'));
    const m = cfg.models.find((x) => x.name === A);
    delete m.capacity;
    m.replicas = [{ url: echo2.url }];
    delete cfg.routes.find((r) => r.name === 'r').budget;
    writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
    gw.proc.child.kill('SIGHUP');
    await gw.proc.waitFor(/reload \(sighup\) #2/, 10000);
    const now = await series();
    assert.ok(!has(now, 'switchboard_model_price', { model: A }), 'no price series once uncontrolled');
    assert.ok(!has(now, 'switchboard_model_load', { model: A }));
    assert.ok(!has(now, 'switchboard_route_lambda', { route: 'r' }), 'no λ series once no budget');
    assert.ok(!has(now, 'switchboard_replica_available', { model: A, replica: oldReplica }), 'the removed replica is gone');
    assert.ok(has(now, 'switchboard_replica_available', { model: A }), 'its successor is there');
    // Nothing controlled: the same shape as ever (docs/capacity.md), `gateways` and `shared` too.
    const empty = (await getJson(gw.base, '/v1/capacity')).json;
    assert.deepEqual(empty, { models: [], routes: [], history: [], gateways: 1, shared: false });
  });
});
