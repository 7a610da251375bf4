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
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, ROUTERBENCH_DATA, GPT4, MIXTRAL, tempDir, startReplay, startGateway, model, stopAll, postChat,
  getJson, getDecision, parseMetrics, sleep, HAVE_ROUTERBENCH, runCliOk as runOk } from './lib/harness.mjs';

const MISTRAL = 'mistralai/mistral-7b-chat';
const MODELS = [GPT4, MISTRAL, MIXTRAL];
const PRICE = { input_per_mtok: 0.01, output_per_mtok: 0.01 };
const RPS = 40;           // offered load
const SECONDS = 32;       // per phase
const WARMUP = 10;        // seconds not measured
const CONTROL = { interval_ms: 200, price_step: 0.02, lambda_step: 20, smoothing: 0.3 };

// A seeded shuffle (mulberry32), so every run sends the same stream.
function shuffle(items, seed) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const bodyFor = (route, rec) => ({ model: route, messages: rec.messages ?? [{ role: 'user', content: rec.prompt }] });

// Sends `prompts` (cycling) at `rps` for `seconds`, open loop; calls onAnswer(sentAtSeconds, rec, res).
async function stream(base, route, prompts, { rps = RPS, seconds = SECONDS, onAnswer }) {
  const start = Date.now();
  const pending = [];
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rps;
    if (due - start >= seconds * 1000) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const rec = prompts[i % prompts.length];
    const t = (Date.now() - start) / 1000;
    pending.push(postChat(base, bodyFor(route, rec)).then((res) => onAnswer(t, rec, res)));
  }
  await Promise.all(pending);
}

async function costTotal(base) {
  const r = await getJson(base, '/metrics');
  return parseMetrics(r.text).filter((m) => m.name === 'switchboard_cost_usd_total')
    .reduce((s, m) => s + m.value, 0);
}

describe('capacity and budget', { skip: !HAVE_ROUTERBENCH && 'no ../shared/data/routerbench_zs' }, () => {
  let dir;
  let backends;
  let prompts;         // test records, shuffled
  const first = new Map();   // prompt id -> model chosen without prices
  const second = new Map();  // prompt id -> next-best model
  let top;             // the model chosen most without prices
  let share;           // its share of the prompts
  const modelDir = () => path.join(dir, 'model-knn');
  const route = (name, extra = {}) => ({ name, policy: { type: 'knn', model_dir: modelDir(), models: MODELS, lambda: 0 }, ...extra });
  const models = (extra = {}) => backends.map((b) => model(b.model, b.url, { context_window: 32768, price: PRICE, ...(extra[b.model] ?? {}) }));

  before(async () => {
    dir = tempDir('sb-capacity-');
    runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
    runOk(['train', '--data', path.join(dir, 'train.jsonl'), '--policy', 'knn', '--out', modelDir(),
      '--models', MODELS.join(',')]);
    const records = readFileSync(path.join(dir, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .filter((r) => MODELS.every((m) => r.outcomes[m]));
    prompts = shuffle(records, 12).slice(0, 600);
    backends = [];
    // Every backend bills at the gateway's price (PRICE for every model), so the usage it reports
    // reproduces each prompt's recorded cost and the gateway charges exactly that. The price is low
    // so that the backend's prompt-token estimate never costs more than a cheap model's recorded call.
    for (const m of MODELS) {
      backends.push(await startReplay({
        data: path.join(dir, 'test.jsonl'), model: m, inputPrice: PRICE.input_per_mtok, outputPrice: PRICE.output_per_mtok,
      }));
    }
    // Demand without prices: each prompt's choice and next-best model (POST /v1/route).
    const gw = await startGateway({ models: models(), routes: [route('plain')] });
    const counts = {};
    for (const rec of prompts) {
      const res = await fetch(`${gw.base}/v1/route`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bodyFor('plain', rec)),
      });
      const j = await res.json();
      assert.equal(res.status, 200, JSON.stringify(j));
      const ranked = j.candidates.filter((c) => c.eligible).sort((a, b) => b.utility - a.utility);
      first.set(rec.id, ranked[0].model);
      second.set(rec.id, ranked[1].model);
      counts[ranked[0].model] = (counts[ranked[0].model] ?? 0) + 1;
    }
    await gw.stop();
    top = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
    share = counts[top] / prompts.length;
    console.log(`demand without prices: ${JSON.stringify(counts)}; top ${top} (${(share * 100).toFixed(1)}%)`);
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
