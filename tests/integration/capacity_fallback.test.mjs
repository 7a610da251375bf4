// A request answered by a fallback model counts against that model's capacity (docs/capacity.md):
// its load was counted on the model the policy chose only, so a fallback model took any traffic
// at price 0 however far over its capacity it ran.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, model, stopAll, chatBody, postChat, getJson, closedPort, sleep } from './lib/harness.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

describe('capacity and fallbacks', () => {
  after(() => stopAll());

  test("a fallback model's answers count against its capacity and raise its price", async () => {
    const echo = await echoUpstream();
    // (Every request falls back: a retry budget that never runs out, the default's 20% would.)
    const retry = { max_attempts: 2, budget_percent: 100, min_retries: 100 };
    const gw = await startGateway({
      models: [
        model('broken', `http://127.0.0.1:${await closedPort()}`, { capacity: { rps: 100 }, retry }),
        model('backup', echo.url, { capacity: { rps: 1 }, retry }),
      ],
      routes: [{ name: 'r', policy: { type: 'static', model: 'broken', fallbacks: ['backup'] } }],
      extraConfig: { control: { interval_ms: 100, smoothing: 1, price_step: 0.5, max_price: 5 } },
    });
    let peakLoad = 0;
    let peakPrice = 0;
    for (let i = 0; i < 15; ++i) {
      await Promise.all(Array.from({ length: 4 }, async () => {
        const r = await postChat(gw.base, chatBody('r', `hello ${i}`));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('x-switchboard-model'), 'backup');
      }));
      const backup = (await getJson(gw.base, '/v1/capacity')).json.models.find((m) => m.model === 'backup');
      peakLoad = Math.max(peakLoad, backup.load);
      peakPrice = Math.max(peakPrice, backup.price);
      await sleep(50);
    }
    // ~4 requests per ~100 ms against a capacity of 1 per second.
    assert.ok(peakLoad > 5, `backup's load peaked at ${peakLoad} req/s`);
    assert.ok(peakPrice > 0, `backup's price peaked at ${peakPrice}`);
  });
});
