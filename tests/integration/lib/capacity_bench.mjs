// The set-up the capacity tests share (capacity.test.mjs, capacity_fleet.test.mjs): RouterBench
// test prompts in a seeded order, replay backends for three models billing at one low price, a knn
// policy trained on the train split (λ = 0: quality first), each prompt's unpriced choice and
// next-best model, and an open-loop stream of requests at a fixed rate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROUTERBENCH_DATA, GPT4, MIXTRAL, tempDir, startReplay, startGateway, model, postChat, sleep,
  runCliOk as runOk,
} from './harness.mjs';

export const MISTRAL = 'mistralai/mistral-7b-chat';
export const MODELS = [GPT4, MISTRAL, MIXTRAL];
const PRICE = { input_per_mtok: 0.01, output_per_mtok: 0.01 };
export const RPS = 40;           // offered load
export const SECONDS = 32;       // per phase
export const WARMUP = 10;        // seconds not measured
export const CONTROL = { interval_ms: 200, price_step: 0.02, lambda_step: 20, smoothing: 0.3 };

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

export const bodyFor = (route, rec) => ({ model: route, messages: rec.messages ?? [{ role: 'user', content: rec.prompt }] });

// Sends `prompts` (cycling) at `rps` for `seconds`, open loop; calls onAnswer(sentAtSeconds, rec, res).
export async function stream(base, route, prompts, { rps = RPS, seconds = SECONDS, onAnswer }) {
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

// Imports RouterBench, trains knn, starts the backends and measures the unpriced demand. Returns
// { prompts, first, second, top, share, route(name, extra), models(extra) }: `first`/`second` map a
// prompt id to its choice and next-best model without prices; `top` is the model chosen most, for
// `share` of the prompts; route() and models() build config entries for startGateway().
export async function prepareCapacityBench() {
  const dir = tempDir('sb-capacity-');
  const modelDir = path.join(dir, 'model-knn');
  runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
  runOk(['train', '--data', path.join(dir, 'train.jsonl'), '--policy', 'knn', '--out', modelDir,
    '--models', MODELS.join(',')]);
  const records = readFileSync(path.join(dir, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((r) => MODELS.every((m) => r.outcomes[m]));
  const prompts = shuffle(records, 12).slice(0, 600);
  const backends = [];
  // Every backend bills at the gateway's price (PRICE for every model), so the usage it reports
  // reproduces each prompt's recorded cost and the gateway charges exactly that. The price is low
  // so that the backend's prompt-token estimate never costs more than a cheap model's recorded call.
  for (const m of MODELS) {
    backends.push(await startReplay({
      data: path.join(dir, 'test.jsonl'), model: m, inputPrice: PRICE.input_per_mtok, outputPrice: PRICE.output_per_mtok,
    }));
  }
  const route = (name, extra = {}) => ({ name, policy: { type: 'knn', model_dir: modelDir, models: MODELS, lambda: 0 }, ...extra });
  const models = (extra = {}) => backends.map((b) => model(b.model, b.url, { context_window: 32768, price: PRICE, ...(extra[b.model] ?? {}) }));
  // Demand without prices: each prompt's choice and next-best model (POST /v1/route).
  const first = new Map();
  const second = new Map();
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
  const top = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
  const share = counts[top] / prompts.length;
  console.log(`demand without prices: ${JSON.stringify(counts)}; top ${top} (${(share * 100).toFixed(1)}%)`);
  return { prompts, first, second, top, share, route, models };
}
