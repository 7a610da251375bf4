// The learned policies in the gateway: `switchboard train` fits knn, classifier and mf on the
// RouterBench train split (for the three models the replay backends serve), the gateway loads the
// model directories, and RouterBench test prompts are routed through replay backends. The decision
// and every model's predictions (quality, cost, utility) are visible in POST /v1/route and
// GET /v1/decisions/{id}; `switchboard calibrate` writes the route's default λ. Skipped without
// ../shared/data/routerbench_zs; needs the signal weights (`make weights`, run by `make test`).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, ROUTERBENCH_DATA, GPT4, MIXTRAL, tempDir, startReplay, startGateway, model, stopAll, postChat,
  getDecision, chatBody, HAVE_ROUTERBENCH, runCliOk as runOk } from './lib/harness.mjs';

const MISTRAL = 'mistralai/mistral-7b-chat';
const MODELS = [GPT4, MISTRAL, MIXTRAL];
const POLICIES = ['knn', 'classifier', 'mf'];

async function postRoute(base, body, headers = {}) {
  const res = await fetch(`${base}/v1/route`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// The candidates are consistent with the objective: every model predicted, the chosen one has the
// highest utility among the eligible, fallbacks follow by utility.
function checkCandidates(decision, policy) {
  assert.equal(decision.policy, policy);
  assert.deepEqual(decision.candidates.map((c) => c.model).sort(), [...MODELS].sort());
  for (const c of decision.candidates) {
    assert.ok(c.predicted_quality >= 0 && c.predicted_quality <= 1, JSON.stringify(c));
    assert.ok(c.predicted_cost > 0, JSON.stringify(c));
    assert.equal(typeof c.utility, 'number');
    assert.equal(c.eligible, true);
  }
  const byUtility = [...decision.candidates].sort((a, b) => b.utility - a.utility);
  assert.equal(decision.model, byUtility[0].model, decision.reason);
  if (decision.fallbacks) assert.deepEqual(decision.fallbacks, byUtility.slice(1).map((c) => c.model));
  assert.match(decision.reason, new RegExp(`^${policy}: `));
}

describe('learned policies in the gateway', { skip: !HAVE_ROUTERBENCH && 'no ../shared/data/routerbench_zs' }, () => {
  let dir;
  let gw;
  let testRecords;
  const modelDir = (p) => path.join(dir, `model-${p}`);

  before(async () => {
    dir = tempDir('sb-learned-');
    runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
    for (const p of POLICIES) {
      const r = runOk(['train', '--data', path.join(dir, 'train.jsonl'), '--policy', p, '--out', modelDir(p),
        '--models', MODELS.join(',')]);
      assert.match(r.stdout, new RegExp(`policy: \\{type: ${p}, model_dir: `));
      assert.match(r.stderr, /train: .*100%/);  // plain progress lines when stderr is not a terminal
    }
    testRecords = readFileSync(path.join(dir, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const backends = [];
    for (const m of MODELS) backends.push(await startReplay({ data: path.join(dir, 'test.jsonl'), model: m }));
    gw = await startGateway({
      models: backends.map((b) => model(b.model, b.url, { context_window: 32768 })),
      routes: POLICIES.map((p) => ({ name: p, policy: { type: p, model_dir: modelDir(p), models: MODELS } })),
    });
  });
  after(stopAll);

  for (const policy of POLICIES) {
    test(`${policy}: POST /v1/route shows every model's predictions and the choice`, async () => {
      for (const rec of testRecords.slice(0, 5)) {
        const r = await postRoute(gw.base, chatBody(policy, rec.prompt));
        assert.equal(r.status, 200, JSON.stringify(r.json));
        checkCandidates(r.json, policy);
      }
    });

    test(`${policy}: chat requests are answered by the chosen model and recorded with predictions`, async () => {
      const chosen = new Set();
      for (const rec of testRecords.filter((_, i) => i % 97 === 0)) {
        const res = await postChat(gw.base, chatBody(policy, rec.prompt));
        assert.equal(res.status, 200, res.text);
        const m = res.headers.get('x-switchboard-model');
        chosen.add(m);
        // The replay backend answers with what that model really said on this prompt.
        assert.equal(res.json.choices[0].message.content, rec.outcomes[m].response);
        const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
        assert.equal(d.model, m);
        assert.equal(d.route, policy);
        checkCandidates({ ...d, policy: d.policy }, policy);
      }
      assert.ok(chosen.size >= 1);
    });
  }

  test('per-request headers choose the tier: quality, cost and a cost ceiling', async () => {
    for (const rec of testRecords.filter((_, i) => i % 151 === 0)) {
      const body = chatBody('classifier', rec.prompt);
      const quality = await postRoute(gw.base, body, { 'x-switchboard-objective': 'quality' });
      const cost = await postRoute(gw.base, body, { 'x-switchboard-objective': 'cost' });
      assert.equal(quality.status, 200, JSON.stringify(quality.json));
      assert.equal(cost.status, 200, JSON.stringify(cost.json));
      const pick = (r) => r.json.candidates.find((c) => c.model === r.json.model);
      // quality: the highest predicted quality wins; cost: never a costlier model than quality's.
      const best = Math.max(...quality.json.candidates.map((c) => c.predicted_quality));
      assert.equal(pick(quality).predicted_quality, best, JSON.stringify(quality.json.candidates));
      assert.ok(pick(cost).predicted_cost <= pick(quality).predicted_cost, JSON.stringify(cost.json.candidates));
      // An explicit lambda of 0 is the quality objective.
      const zero = await postRoute(gw.base, body, { 'x-switchboard-lambda': '0' });
      assert.equal(zero.json.model, quality.json.model);
      // A ceiling below every model but the cheapest leaves only the cheapest eligible.
      const costs = quality.json.candidates.map((c) => c.predicted_cost).sort((a, b) => a - b);
      const capped = await postRoute(gw.base, body, { 'x-switchboard-max-cost': String((costs[0] + costs[1]) / 2) });
      assert.equal(capped.status, 200, JSON.stringify(capped.json));
      assert.equal(pick(capped).predicted_cost, costs[0]);
      assert.equal(capped.json.candidates.filter((c) => c.eligible).length, 1, JSON.stringify(capped.json.candidates));
    }
  });

  test('calibrate finds the lambda for a target and writes it as the balanced objective', () => {
    // The command end to end; that a calibrated lambda holds on held-back data is checked in
    // tests/unit/calibrate_test.cc.
    const r = runOk(['calibrate', '--model-dir', modelDir('classifier'), '--data', path.join(dir, 'test.jsonl'),
      '--target', `share:${GPT4}=0.3`, '--write']);
    const lambda = Number(/lambda: (\S+)/.exec(r.stdout)[1]);
    const achieved = Number(/achieved: (\S+)/.exec(r.stdout)[1]);
    assert.ok(lambda > 0, r.stdout);
    assert.ok(achieved <= 0.3 + 1e-9 && achieved > 0.2, r.stdout);
    const manifest = JSON.parse(readFileSync(path.join(modelDir('classifier'), 'manifest.json'), 'utf8'));
    assert.ok(Math.abs(manifest.objectives.balanced - lambda) <= 1e-5 * lambda, `${manifest.objectives.balanced} vs ${lambda}`);
    assert.equal(manifest.calibration.target, `share:${GPT4}=0.3`);
  });

  test('a model directory trained for other models is refused with both lists', () => {
    const config = path.join(dir, 'two-models.yaml');
    writeFileSync(config, JSON.stringify({
      models: [GPT4, MIXTRAL].map((m) => ({ name: m, replicas: [{ url: 'http://127.0.0.1:9' }] })),
      routes: [{ name: 'auto', policy: { type: 'knn', model_dir: modelDir('knn') } }],
    }));
    const r = spawnSync(BIN, ['route', '--config', config, 'hello'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /was trained for the models \[gpt-4-1106-preview, mistralai\/mistral-7b-chat, mistralai\/mixtral-8x7b-chat\] but the route may choose \[gpt-4-1106-preview, mistralai\/mixtral-8x7b-chat\]/);
  });
});
