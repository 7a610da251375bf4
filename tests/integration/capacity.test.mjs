// Capacity- and budget-aware routing (docs/capacity.md) in the gateway, on RouterBench test prompts
// served by replay backends, with a knn policy trained on the train split (skipped without
// ../shared/data/routerbench_zs; needs the signal weights).
//
// - Capacity: one model's capacity is set to half the demand the route sends it without one; a
//   stream at a fixed rate then gets that model's served rate within 10% of the capacity, and every
//   request moved away goes to its next-best model.
// - Budget: a route's budget is set to half its spend rate without one; the measured spend per hour
//   of a replayed stream lands within 5% of the budget.
// The controller runs every 200 ms here (control.interval_ms) so that each phase takes ~30 s;
// rates are measured after a 10 s warm-up.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, stopAll, getJson, getDecision, parseMetrics, sleep, HAVE_ROUTERBENCH,
} from './lib/harness.mjs';
import {
  RPS, SECONDS, WARMUP, CONTROL, stream, prepareCapacityBench,
} from './lib/capacity_bench.mjs';

async function costTotal(base) {
  const r = await getJson(base, '/metrics');
  return parseMetrics(r.text).filter((m) => m.name === 'switchboard_cost_usd_total')
    .reduce((s, m) => s + m.value, 0);
}

describe('capacity and budget', { skip: !HAVE_ROUTERBENCH && 'no ../shared/data/routerbench_zs' }, () => {
  let prompts;         // test records, shuffled
  let first;           // prompt id -> model chosen without prices
  let second;          // prompt id -> next-best model
  let top;             // the model chosen most without prices
  let share;           // its share of the prompts
  let route;
  let models;

  before(async () => {
    ({ prompts, first, second, top, share, route, models } = await prepareCapacityBench());
  });
  after(stopAll);

  test('a model at half its demand serves at its capacity; the rest goes to the next-best model', async () => {
    const capacity = (share * RPS) / 2;
    const gw = await startGateway({
      models: models({ [top]: { capacity: { rps: capacity } } }),
      routes: [route('capped')],
      extraConfig: { control: CONTROL },
    });
    let served = 0, moved = 0, movedToNext = 0, errors = 0;
    const decisionIds = [];
    await stream(gw.base, 'capped', prompts, {
      onAnswer: (t, rec, res) => {
        if (res.status !== 200) { errors++; return; }
        const m = res.headers.get('x-switchboard-model');
        if (t < WARMUP) return;
        if (m === top) served++;
        else if (first.get(rec.id) === top) {
          moved++;
          if (m === second.get(rec.id)) movedToNext++;
          if (decisionIds.length < 5) decisionIds.push(res.headers.get('x-switchboard-decision'));
        }
      },
    });
    assert.equal(errors, 0);
    const rate = served / (SECONDS - WARMUP);
    console.log(`capacity ${capacity.toFixed(2)} rps of ${top}: served ${rate.toFixed(2)} rps ` +
      `(${((rate / capacity - 1) * 100).toFixed(1)}%); ${moved} moved, ${movedToNext} to the next-best model`);
    assert.ok(Math.abs(rate / capacity - 1) <= 0.10, `served ${rate} rps vs capacity ${capacity}`);
    assert.ok(moved > 0);
    assert.equal(movedToNext, moved, 'every request moved away went to its next-best model');
    // The price is in metrics, in GET /v1/capacity with its history, and in the decision records.
    const metrics = parseMetrics((await getJson(gw.base, '/metrics')).text);
    const price = metrics.find((m) => m.name === 'switchboard_model_price' && m.labels.model === top);
    assert.ok(price && price.value > 0, 'switchboard_model_price is set');
    const cap = (await getJson(gw.base, '/v1/capacity')).json;
    assert.equal(cap.models[0].model, top);
    assert.ok(cap.history.length >= 100, `history of ${cap.history.length} steps`);
    assert.ok(cap.history.some((h) => h.prices[top] > 0));
    const d = await getDecision(gw.base, decisionIds[0]);
    const c = d.candidates.find((x) => x.model === top);
    assert.ok(c.price > 0, JSON.stringify(c));
    assert.equal(c.lambda, 0);
    assert.ok(Math.abs(c.utility - (c.predicted_quality - c.price)) < 1e-9, JSON.stringify(c));
    assert.match(d.reason, /capacity price/);
    await gw.stop();
  });

  test('a route with a budget spends within 5% of it per hour', async () => {
    // The spend rate without a budget: each prompt's recorded cost on its unpriced choice.
    const costs = prompts.map((r) => r.outcomes[first.get(r.id)].cost);
    const plainPerHour = (costs.reduce((a, b) => a + b, 0) / costs.length) * RPS * 3600;
    const budget = plainPerHour / 2;
    const gw = await startGateway({
      models: models(),
      routes: [route('budgeted', { budget: { usd_per_hour: budget } })],
      extraConfig: { control: CONTROL },
    });
    let spentAtWarmup = 0, tWarm = 0, errors = 0;
    const start = Date.now();
    const measure = (async () => {
      await sleep(WARMUP * 1000);
      tWarm = Date.now();
      spentAtWarmup = await costTotal(gw.base);
    })();
    let last;
    await stream(gw.base, 'budgeted', prompts, {
      onAnswer: (t, rec, res) => { if (res.status !== 200) errors++; else last = res.headers.get('x-switchboard-decision'); },
    });
    const tEnd = Date.now();
    await measure;
    await sleep(100);
    const spent = (await costTotal(gw.base)) - spentAtWarmup;
    const perHour = (spent / ((tEnd - tWarm) / 1000)) * 3600;
    console.log(`budget $${budget.toFixed(3)}/h (unconstrained $${plainPerHour.toFixed(3)}/h): spent ` +
      `$${perHour.toFixed(3)}/h (${((perHour / budget - 1) * 100).toFixed(1)}%) over ${((tEnd - tWarm) / 1000).toFixed(1)} s, ` +
      `total ${((Date.now() - start) / 1000).toFixed(1)} s`);
    const cap = (await getJson(gw.base, '/v1/capacity')).json;
    console.log(`controller: ${JSON.stringify(cap.routes)}; λ over time: ${cap.history.filter((_, i) => i % 10 === 0).map((h) => h.lambdas.budgeted.toFixed(1)).join(' ')}`);
    assert.equal(errors, 0);
    assert.ok(Math.abs(perHour / budget - 1) <= 0.05, `spent $${perHour}/h vs budget $${budget}/h`);
    const metrics = parseMetrics((await getJson(gw.base, '/metrics')).text);
    const lambda = metrics.find((m) => m.name === 'switchboard_route_lambda' && m.labels.route === 'budgeted');
    assert.ok(lambda && lambda.value > 0, 'switchboard_route_lambda is set');
    const d = await getDecision(gw.base, last);
    assert.ok(d.candidates.every((c) => c.lambda > 0 && (c.price ?? 0) === 0), JSON.stringify(d.candidates));
    await gw.stop();
  });
});
