// `switchboard import`, `eval` and `route` as a user runs them. The RouterBench part needs
// ../shared/data/routerbench_zs and is skipped without it; it checks the figures that follow from
// the data (RouterBench zero-shot test split, 945 prompts): gpt-4-1106-preview scores 0.879 for
// $4.73, the oracle 0.976, mixtral-8x7b 0.747 for $0.23, mistral-7b 0.593 for $0.08.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, SOURCE_DIR, DEMO_DATA, ROUTERBENCH_DATA, GPT4, MIXTRAL, tempDir, HAVE_ROUTERBENCH, runCli as run, runCliOk as runOk } from './lib/harness.mjs';

const MISTRAL = 'mistralai/mistral-7b-chat';
const DEMO_CONFIG = path.join(SOURCE_DIR, 'demo/switchboard.yaml');


const byName = (list, name) => {
  const found = list.find((c) => c.name === name);
  assert.ok(found, `no curve named ${name} in ${list.map((c) => c.name).join(', ')}`);
  return found;
};
const top = (curve) => curve.points.reduce((a, b) => (b.quality > a.quality || (b.quality === a.quality && b.cost < a.cost) ? b : a));

describe('eval on RouterBench (import, baselines, policies, outputs)', { skip: !HAVE_ROUTERBENCH && 'no ../shared/data/routerbench_zs' }, () => {
  let dir;
  let report;
  const outputs = (d) => ['--json', path.join(d, 'eval.json'), '--plot', path.join(d, 'eval.svg'),
    '--report', path.join(d, 'eval.md')];
  const evalArgs = (d) => ['eval', '--train', path.join(dir, 'train.jsonl'), '--test', path.join(dir, 'test.jsonl'),
    '--policy-config', DEMO_CONFIG, '--strong', GPT4, '--weak', MIXTRAL, ...outputs(d)];

  before(() => {
    dir = tempDir('sb-eval-');
    const imported = runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
    assert.match(imported.stdout, /train\.jsonl: 2205 prompts, 11 models, tasks: arc-challenge, mbpp, winogrande/);
    assert.match(imported.stdout, /test\.jsonl: 945 prompts, 11 models/);
    const r = runOk(evalArgs(dir));
    assert.match(r.stdout, /Test: 945 prompts/);
    report = JSON.parse(readFileSync(path.join(dir, 'eval.json'), 'utf8'));
  });

  test('the imported files hold every prompt with its responses', () => {
    const lines = readFileSync(path.join(dir, 'test.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 945);
    const rec = JSON.parse(lines.find((l) => l.includes('"mbpp.dev.1"')));
    assert.equal(rec.task, 'mbpp');
    assert.match(rec.prompt, /identify non-prime numbers/);
    assert.equal(Object.keys(rec.outcomes).length, 11);
    assert.match(rec.outcomes[GPT4].response, /\S/);
  });

  test('single models and the oracle match the published figures', () => {
    assert.equal(report.test.records, 945);
    assert.equal(report.train.records, 2205);
    const gpt4 = byName(report.baselines, GPT4).points[0];
    assert.equal(gpt4.quality.toFixed(3), '0.879');
    assert.equal(gpt4.cost.toFixed(2), '4.73');
    const mixtral = byName(report.baselines, MIXTRAL).points[0];
    assert.equal(mixtral.quality.toFixed(3), '0.747');
    assert.equal(mixtral.cost.toFixed(2), '0.23');
    const mistral = byName(report.baselines, MISTRAL).points[0];
    assert.equal(mistral.quality.toFixed(3), '0.593');
    assert.equal(mistral.cost.toFixed(2), '0.08');
    const oracle = byName(report.baselines, 'oracle');
    assert.equal(top(oracle).quality.toFixed(3), '0.976');
    assert.equal(report.max_cost.model, GPT4);
    // AIQ of a single point: its quality from its normalised cost to 1.
    assert.equal(byName(report.baselines, GPT4).aiq, 0);
    assert.ok(Math.abs(byName(report.baselines, MIXTRAL).aiq - 0.747 * (1 - mixtral.cost / gpt4.cost)) < 2e-3);
  });

  test('baselines: every model, random, oracle, task-best; the oracle bounds them all', () => {
    const kinds = report.baselines.map((c) => c.kind);
    assert.equal(kinds.filter((k) => k === 'single').length, 11);
    for (const k of ['random', 'oracle', 'task-best']) assert.ok(kinds.includes(k), k);
    const oracleAiq = byName(report.baselines, 'oracle').aiq;
    for (const c of [...report.baselines, ...report.policies]) assert.ok(c.aiq <= oracleAiq, c.name);
    // The random mix of weak and strong recovers the gap linearly: APGR 0.5, CPT(50%) = 50%.
    const rws = byName(report.baselines, 'random-weak-strong');
    assert.equal(rws.apgr, 0.5);
    assert.equal(rws.cpt50, 0.5);
    // task-best beats gpt-4 alone at equal quality (learned on TRAIN, applied on TEST).
    const tb = byName(report.baselines, 'task-best');
    assert.ok(top(tb).quality >= 0.879 && top(tb).cost < 4.73);
    for (const c of report.baselines) {
      assert.ok(c.points.length >= 1);
      for (const p of c.points) assert.ok(typeof p.cost === 'number' && typeof p.quality === 'number');
    }
  });

  test('policies are the demo config\'s routes, routed through the gateway\'s policy code', () => {
    assert.deepEqual(report.policies.map((p) => p.name), ['auto', 'best', 'guarded', 'cascade', 'ensemble', 'cached']);
    // Multi-call routes report where prompts stopped and how many calls they took.
    const cascade = byName(report.policies, 'cascade');
    assert.equal(cascade.type, 'cascade');
    for (const p of cascade.points) {
      assert.ok(p.mean_calls >= 2 && p.mean_calls <= 3, `mean calls ${p.mean_calls}`);
      assert.ok(Math.abs(p.tier_shares.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    }
    // s is the share of prompts the strong model was called on, whichever answer was taken (the
    // ensemble calls GPT-4 on every prompt; s counted only the prompts its answer won).
    for (const p of byName(report.policies, 'ensemble').points) {
      assert.equal(p.mean_calls, 3);
      assert.equal(p.strong_share, 1);
      assert.equal(Object.keys(p.shares).length, 3);
      for (const share of Object.values(p.shares)) assert.equal(share, 1);
    }
    for (const p of cascade.points) assert.ok(Math.abs(p.strong_share - (p.tier_shares[1] ?? 0)) < 1e-4);
    // The routes' caches and guards are not run offline, and the report says so.
    assert.ok(report.notes.some((n) => n.startsWith("route 'cached': its settings `cache:` are not applied")), report.notes);
    assert.ok(report.notes.some((n) => n.startsWith("route 'guarded': its settings `guard:`")), report.notes);
    const auto = byName(report.policies, 'auto');
    assert.equal(auto.type, 'static');
    assert.equal(auto.points.length, 1);  // a static policy has one point whatever λ
    const { knob, ...point } = auto.points[0];
    assert.equal(knob, 0);  // the first λ of the sweep
    const { knob: none, ...single } = byName(report.baselines, MIXTRAL).points[0];
    assert.equal(none, null);
    assert.deepEqual(point, single);
    assert.equal(auto.aiq, byName(report.baselines, MIXTRAL).aiq);
    assert.equal(auto.apgr, 0.5);
    const best = byName(report.policies, 'best').points[0];
    assert.deepEqual([best.cost, best.quality, best.strong_share], [4.72818, 0.879365, 1]);
    for (const key of ['aiq', 'apgr', 'cpt50', 'cpt80', 'quality_at_budget']) assert.ok(key in auto, key);
  });

  test('the same inputs give the same bytes', () => {
    const again = tempDir('sb-eval-again-');
    runOk(evalArgs(again));
    for (const f of ['eval.json', 'eval.md', 'eval.svg'])
      assert.ok(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(again, f))), f);
  });

  test('plot and report', () => {
    const svg = readFileSync(path.join(dir, 'eval.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    for (const label of ['oracle 0.976', 'gpt-4-1106-preview', 'task-best', 'auto']) assert.ok(svg.includes(label), label);
    const md = readFileSync(path.join(dir, 'eval.md'), 'utf8');
    assert.match(md, /^# Routing evaluation/);
    assert.match(md, /\| gpt-4-1106-preview \| 0\.879 \| 4\.7282 \|/);
  });
});

describe('eval on the demo data (always available)', () => {
  test('a self-evaluation runs and reports the demo routes', () => {
    const d = tempDir('sb-eval-demo-');
    const json = path.join(d, 'out.json');
    const r = runOk(['eval', '--train', DEMO_DATA, '--test', DEMO_DATA, '--policy-config', DEMO_CONFIG,
      '--policy', 'best', '--json', json, '--quiet']);
    assert.equal(r.stdout, '');
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(out.policies.map((p) => p.name), ['best']);
    assert.equal(out.policies[0].apgr, null);  // no --strong/--weak
    assert.ok(out.baselines.some((c) => c.name === 'oracle'));
  });

  test('errors exit non-zero with a reason', () => {
    let r = run(['eval', '--train', DEMO_DATA, '--test', '/nonexistent.jsonl']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nonexistent\.jsonl: cannot open/);
    r = run(['eval', '--train', DEMO_DATA, '--test', DEMO_DATA, '--policy', 'no_such_type']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown policy type 'no_such_type'/);
    r = run(['eval', '--train', DEMO_DATA, '--test', DEMO_DATA, '--strong', GPT4, '--weak', 'nope']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /'nope'/);
    const d = tempDir('sb-eval-bad-');
    const bad = path.join(d, 'bad.jsonl');
    writeFileSync(bad, '{"id": "x", "prompt": "p", "outcomes": {"m": {"score": 2, "cost": 0}}}\n');
    r = run(['eval', '--train', bad, '--test', bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.jsonl:1: outcomes\.m\.score must be a number in \[0, 1\]/);
    // One model: the online replay's pairwise feedback has no other (it died of SIGFPE).
    const one = path.join(d, 'one.jsonl');
    writeFileSync(one, '{"id": "x", "prompt": "p", "outcomes": {"m": {"score": 1, "cost": 0.1}}}\n');
    r = run(['eval', '--online', '--train', one, '--test', one, '--policy', 'bandit']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /--online needs at least two models in TEST/);
    r = run(['import', 'routerbench', '--in', '/nonexistent', '--out', d]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nonexistent/);
  });
});

describe('route: the decision a route would make, without forwarding', () => {
  test('human and JSON explanations', () => {
    const r = runOk(['route', '--config', DEMO_CONFIG, 'Write a python function to identify non-prime numbers.']);
    assert.match(r.stdout, /^route +auto$/m);
    assert.match(r.stdout, new RegExp(`^model +${MIXTRAL}$`, 'm'));
    assert.match(r.stdout, /^fallback +gpt-4-1106-preview$/m);
    const j = JSON.parse(runOk(['route', '--config', DEMO_CONFIG, '--route', 'best', '--lambda', '3', '--json', 'hello']).stdout);
    assert.equal(j.route, 'best');
    assert.equal(j.model, GPT4);
    assert.equal(j.policy, 'static');
    assert.equal(j.lambda, 3);
    assert.equal(j.signals.message_count, 1);
    assert.ok(j.signals.prompt_tokens >= 1);
    assert.deepEqual(j.candidates.map((c) => [c.model, c.predicted_quality, c.predicted_cost]), [[GPT4, null, null]]);
    // A model name is answered directly, as the gateway does.
    const direct = JSON.parse(runOk(['route', '--config', DEMO_CONFIG, '--route', MIXTRAL, '--json', 'hi']).stdout);
    assert.equal(direct.policy, 'direct');
    assert.equal(direct.model, MIXTRAL);
  });

  test('unknown route and bad config', () => {
    let r = run(['route', '--config', DEMO_CONFIG, '--route', 'nope', 'hi']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no route or model 'nope'.*routes: auto, best/);
    const d = tempDir('sb-route-');
    const cfg = path.join(d, 'bad.yaml');
    writeFileSync(cfg, 'models: []\nroutes:\n  - name: x\n    policy: {type: nope}\n');
    r = run(['route', '--config', cfg, 'hi']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml/);
  });
});
