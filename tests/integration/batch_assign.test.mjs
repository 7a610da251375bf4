// `switchboard batch --in PROMPTS --budget USD`: a whole file of prompts assigned to models under a
// total budget, one OpenAI Batch-API input file per model (docs/capacity.md). On the demo outcomes
// with two models whose names make the same file name (`m/a` and `m_a`): every prompt lands in
// exactly one file, no file holds two models, the summary agrees with the files and the budget holds.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DEMO_DATA, tempDir, runCliOk as runOk } from './lib/harness.mjs';

const RENAMED = { 'gpt-4-1106-preview': 'm/a', 'mistralai/mixtral-8x7b-chat': 'm_a' };

describe('batch --in --budget', () => {
  let dir;
  let data;
  let records;

  before(() => {
    dir = tempDir('sb-batch-');
    data = path.join(dir, 'prompts.jsonl');
    records = readFileSync(DEMO_DATA, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of records) {
      r.outcomes = Object.fromEntries(Object.entries(r.outcomes)
        .filter(([m]) => m in RENAMED).map(([m, o]) => [RENAMED[m], o]));
    }
    writeFileSync(data, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    runOk(['train', '--data', data, '--policy', 'knn', '--out', path.join(dir, 'knn')]);
  });

  test('two models whose names sanitise alike get a file each; every prompt is in exactly one', () => {
    const strongCost = records.reduce((s, r) => s + r.outcomes['m/a'].cost, 0);
    const budget = 0.25 * strongCost;
    const out = path.join(dir, 'out');
    const r = runOk(['batch', '--in', data, '--budget', String(budget), '--policy', 'knn',
      '--model-dir', path.join(dir, 'knn'), '--out', out]);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.prompts, records.length);
    assert.equal(summary.within_budget, true);
    assert.ok(summary.predicted_cost_usd <= budget * (1 + 1e-9), `${summary.predicted_cost_usd} > ${budget}`);
    const files = Object.values(summary.models).map((m) => m.file);
    assert.equal(new Set(files).size, files.length, `one file per model: ${files}`);
    assert.equal(readdirSync(out).length, files.length);
    const seen = new Map();
    for (const [model, m] of Object.entries(summary.models)) {
      assert.ok(m.prompts > 0, `${model} was assigned prompts at this budget`);
      const lines = readFileSync(m.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, m.prompts, `${model}: its file holds its prompts`);
      for (const l of lines) {
        assert.equal(l.body.model, model);
        assert.equal(l.url, '/v1/chat/completions');
        assert.ok(!seen.has(l.custom_id), `${l.custom_id} in one file only`);
        seen.set(l.custom_id, model);
      }
    }
    assert.deepEqual([...seen.keys()].sort(), records.map((x) => x.id).sort());
  });

  test('a budget no assignment meets is said so, with no bound claimed', () => {
    const r = runOk(['batch', '--in', data, '--budget', '0', '--policy', 'knn', '--model-dir', path.join(dir, 'knn')]);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.within_budget, false);
    assert.equal(summary.models['m_a'].prompts, records.length, 'the cheapest assignment instead');
    assert.equal(summary.upper_bound_mean, null);
    assert.equal(summary.optimality_gap_mean, null);
  });
});
