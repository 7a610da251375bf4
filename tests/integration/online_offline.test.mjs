// Online decisions equal offline ones, for every kind of route. A sample of recorded prompts is sent
// through a running gateway (replay backends upstream, priced like the config's models) and each
// request's decision record (GET /v1/decisions/{id}) is compared with the record `switchboard batch`
// writes for the same prompt and the same configuration file — the same stages and executor, on
// the recorded-outcomes upstream. Compared: the chosen model, policy, reason, fallbacks tried,
// every candidate's predicted quality, cost and utility, the usage and the cost, status, outcome
// and the stages run. Routes: static (with a fallback), rules on signals, and — with RouterBench
// beside the project — knn, classifier and mf trained on its train split, at the route's default
// objective and at an explicit λ; a cascade (two probes judged by `agreement`, then GPT-4) and an
// ensemble (three members voting), whose records list every call (compared without latencies);
// with RouterBench, a routed cascade (classifier, verifier with `threshold: utility`, probes, GPT-4).
// Without RouterBench the demo set serves static, rules, cascade and ensemble.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, DEMO_DATA, ROUTERBENCH_DATA, GPT4, MIXTRAL, startReplay, startGateway, model, stopAll,
  postChat, getDecision, tempDir, HAVE_ROUTERBENCH, runCliOk as runOk } from './lib/harness.mjs';

const MISTRAL = 'mistralai/mistral-7b-chat';
const MODELS = [GPT4, MIXTRAL, MISTRAL];
const PRICES = {
  [GPT4]: { input_per_mtok: 10, output_per_mtok: 30 },
  [MIXTRAL]: { input_per_mtok: 0.6, output_per_mtok: 0.6 },
  [MISTRAL]: { input_per_mtok: 0.2, output_per_mtok: 0.2 },
};
const LEARNED = HAVE_ROUTERBENCH ? ['knn', 'classifier', 'mf'] : [];
const SAMPLE = 14;

// What must be equal online and offline (ids, times and measured latencies differ by nature).
function comparable(d) {
  return {
    status: d.status, outcome: d.outcome, error: d.error, route: d.route, policy: d.policy, model: d.model,
    replica: d.replica, reason: d.reason, stream: d.stream, usage: d.usage, cost_usd: d.cost_usd,
    candidates: d.candidates,
    attempts: d.attempts.map((a) => ({ model: a.model, replica: a.replica, result: a.result })),
    stages: d.stages.map((s) => `${s.name}:${s.outcome}`),
    calls: (d.calls ?? []).map(({ ms, ...c }) => c),
  };
}

describe('online decisions equal offline decisions', () => {
  let gw;
  let data;
  let records;
  let every;

  before(async () => {
    const dir = tempDir('sb-online-');
    data = DEMO_DATA;
    if (HAVE_ROUTERBENCH) {
      runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
      data = path.join(dir, 'test.jsonl');
      for (const p of LEARNED) {
        runOk(['train', '--data', path.join(dir, 'train.jsonl'), '--policy', p, '--out', path.join(dir, `model-${p}`),
          '--models', MODELS.join(',')]);
      }
      runOk(['train', '--data', path.join(dir, 'train.jsonl'), '--policy', 'verifier', '--out', path.join(dir, 'verifier'),
        '--models', MODELS.join(',')]);
    }
    records = readFileSync(data, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    every = Math.max(1, Math.floor(records.length / SAMPLE));
    const backends = await Promise.all(MODELS.map((m) => startReplay({
      model: m, data, inputPrice: PRICES[m].input_per_mtok, outputPrice: PRICES[m].output_per_mtok,
    })));
    const routes = [
      { name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } },
      {
        name: 'ruled',
        policy: {
          type: 'rules',
          rules: [
            { name: 'code', when: { any: [{ has_code: true }, { keywords: ['python', 'function'] }] }, model: GPT4 },
            { name: 'long', when: { prompt_tokens: { gt: 120 } }, models: [MIXTRAL, GPT4] },
          ],
          default: MISTRAL,
        },
      },
      { name: 'cascade', policy: { type: 'cascade', tiers: [
        { models: [MISTRAL, MIXTRAL], judge: { type: 'agreement' }, threshold: 1 }, { model: GPT4 }] } },
      { name: 'ensemble', policy: { type: 'ensemble', members: [MIXTRAL, MISTRAL, GPT4], judge: 'agreement',
        aggregator: 'vote', member_quality: [0.75, 0.6, 0.88] } },
      ...LEARNED.map((p) => ({ name: p, policy: { type: p, model_dir: path.join(dir, `model-${p}`), models: MODELS } })),
    ];
    // Route first, then verify (the `routed` default of `eval --policy cascade`): the classifier's
    // choice, kept when the verifier's P(correct) reaches GPT-4's utility at the request's λ, else
    // judged again beside two probes (its answer reused), else GPT-4.
    if (HAVE_ROUTERBENCH) {
      routes.push({ name: 'routed', policy: { type: 'cascade',
        first: { type: 'classifier', model_dir: path.join(dir, 'model-classifier'), models: MODELS },
        tiers: [
          { models: ['first'], judge: { type: 'verifier', model_dir: path.join(dir, 'verifier') }, threshold: 'utility', margin: 0.1 },
          { models: ['first', MIXTRAL, MISTRAL], judge: 'agreement', threshold: 0.6 },
          { model: GPT4 },
        ] } });
    }
    gw = await startGateway({
      models: backends.map((b) => model(b.model, b.url, { price: PRICES[b.model], context_window: 32768 })),
      routes,
    });
  });
  after(stopAll);

  async function online(route, rec, headers = {}) {
    const body = { model: route, messages: rec.messages ?? [{ role: 'user', content: rec.prompt }] };
    const res = await postChat(gw.base, body, { headers });
    assert.equal(res.status, 200, res.text);
    return getDecision(gw.base, res.headers.get('x-switchboard-decision'));
  }

  function offline(route, extra = []) {
    const r = runOk(['batch', '--config', gw.configPath, '--data', data, '--route', route, '--every', String(every),
      '--limit', String(SAMPLE), ...extra]);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  }

  async function compareRoute(route, { headers = {}, extra = [] } = {}) {
    const lines = offline(route, extra);
    assert.equal(lines.length, Math.min(SAMPLE, Math.ceil(records.length / every)));
    const chosen = new Set();
    for (let i = 0; i < lines.length; ++i) {
      const rec = records[i * every];
      assert.equal(lines[i].id, rec.id);
      const on = await online(route, rec, headers);
      assert.deepEqual(comparable(on), comparable(lines[i].decision), `${route}: prompt ${rec.id}`);
      chosen.add(on.model);
    }
    return chosen;
  }

  test('static route with a fallback', async () => {
    const chosen = await compareRoute('auto');
    assert.deepEqual([...chosen], [MIXTRAL]);
  });

  test('a configured model named directly', async () => {
    await compareRoute(GPT4);
  });

  test('rules on signals choose more than one model, the same way online and offline', async () => {
    const chosen = await compareRoute('ruled');
    assert.ok(chosen.size >= 2, `rules chose only ${[...chosen]}: the sample does not exercise them`);
  });

  test('a cascade: the same calls, scores, escalations and summed cost online and offline', async () => {
    const chosen = await compareRoute('cascade');
    assert.ok(chosen.size >= 1);
  });

  test('an ensemble: the same members, votes and summed cost online and offline', async () => {
    await compareRoute('ensemble');
  });

  if (HAVE_ROUTERBENCH) {
    test('a routed cascade: utility thresholds, reused answers and escalations equal online and offline', async () => {
      const headers = { 'x-switchboard-lambda': '30' };
      const lines = offline('routed', ['--lambda', '30']);
      await compareRoute('routed', { headers, extra: ['--lambda', '30'] });
      // The sample exercises more than the first tier: some prompt was judged again or escalated.
      const tiers = lines.map((l) => Math.max(0, ...(l.decision.calls ?? []).map((c) => c.tier)));
      assert.ok(tiers.some((t) => t > 0), `tiers reached: ${tiers}`);
    });
  }

  for (const p of LEARNED) {
    test(`${p}: decisions, predictions and cost at the default objective and at an explicit lambda`, async () => {
      const chosen = await compareRoute(p);
      // At λ = 0 the best predicted quality wins; the per-request λ travels as a header both ways.
      await compareRoute(p, { headers: { 'x-switchboard-lambda': '0' }, extra: ['--lambda', '0'] });
      await compareRoute(p, { headers: { 'x-switchboard-objective': 'cost' }, extra: ['--objective', 'cost'] });
      assert.ok(chosen.size >= 1);
    });
  }
});
