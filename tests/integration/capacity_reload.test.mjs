// Capacity prices and budget λ survive a hot reload (docs/capacity.md): the new runtime's
// controller starts from the old one's prices, λ and history instead of 0.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, model, stopAll, chatBody, postChat, getJson, sleep } from './lib/harness.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

const A = 'model-a';
// Fast steps, a slow decay: one burst drives the price to its cap, from which it falls by
// price_step per step once the burst is over.
const CONTROL = { interval_ms: 100, price_step: 0.01, smoothing: 1, max_price: 5, lambda_step: 1 };

describe('capacity prices across a reload', () => {
  after(() => stopAll());

  test('SIGHUP keeps the prices, λ and history', async () => {
    const echo = await echoUpstream();
    const gw = await startGateway({
      models: [model(A, echo.url, { capacity: { rps: 0.5 } })],
      routes: [{ name: 'r', policy: { type: 'static', model: A }, budget: { usd_per_hour: 0.001 } }],
      extraConfig: { control: CONTROL },
    });
    for (let i = 0; i < 6; ++i) {
      await Promise.all(Array.from({ length: 10 }, () => postChat(gw.base, chatBody('r', 'hello'))));
      await sleep(100);
    }
    const before = (await getJson(gw.base, '/v1/capacity')).json;
    const price = before.models.find((m) => m.model === A).price;
    const lambda = before.routes.find((r) => r.route === 'r').lambda;
    assert.ok(price > 1, `price before the reload: ${price}`);
    assert.ok(lambda > 0, `λ before the reload: ${lambda}`);
    gw.proc.child.kill('SIGHUP');
    await gw.proc.waitFor(/reload \(sighup\) #1/, 10000);
    const afterReload = (await getJson(gw.base, '/v1/capacity')).json;
    const p2 = afterReload.models.find((m) => m.model === A).price;
    const l2 = afterReload.routes.find((r) => r.route === 'r').lambda;
    // At most a few steps of decay (0.01 each) since the first read, never back to 0.
    assert.ok(p2 > price - 0.5, `price after the reload ${p2} vs ${price} before`);
    assert.ok(l2 > 0, `λ after the reload ${l2}`);
    assert.ok(afterReload.history.length >= before.history.length,
      `history ${afterReload.history.length} steps after, ${before.history.length} before`);
  });
});
