// `switchboard eval --sessions` (docs/sessions.md) on RouterBench (../shared/data/routerbench_zs;
// skipped without it): multi-turn conversations replayed with and without stickiness — switches per
// session fall as the margin grows and vanish with `always`, `off` routes exactly as the policy
// does, and the command's errors.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, ROUTERBENCH_DATA, tempDir, HAVE_ROUTERBENCH, runCli as run, runCliOk as runOk } from './lib/harness.mjs';



describe('eval --sessions on RouterBench', { skip: !HAVE_ROUTERBENCH && 'no ../shared/data/routerbench_zs' }, () => {
  let dir, report;
  const data = () => ['--train', path.join(dir, 'train.jsonl'), '--test', path.join(dir, 'test.jsonl')];

  before(() => {
    dir = tempDir('sb-sessions-');
    runOk(['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', dir]);
    const r = runOk(['eval', '--sessions', '4', ...data(), '--policy', 'knn',
      '--margins', 'off,0.02,0.05,0.1,always', '--json', path.join(dir, 's.json')]);
    assert.match(r.stdout, /945 TEST prompts in \d+ sessions of up to 4 turns/);
    report = JSON.parse(readFileSync(path.join(dir, 's.json'), 'utf8'));
  });

  test('sessions are built per task, every prompt once', () => {
    // 3 tasks: each task's prompts cut into groups of 4.
    assert.equal(report.prompts, 945);
    assert.ok(report.sessions >= Math.ceil(945 / 4) && report.sessions <= Math.ceil(945 / 4) + 3);
    assert.deepEqual(report.rows.map((r) => r.margin), ['off', '0.02', '0.05', '0.1', 'always']);
  });

  test('stickiness removes switches, at a measured quality and cost', () => {
    const row = (m) => report.rows.find((r) => r.margin === m);
    assert.ok(row('off').switches_per_session > 0.3, `knn switches ${row('off').switches_per_session} per session`);
    assert.equal(row('off').kept_share, 0);
    assert.ok(row('0.05').switches_per_session < row('off').switches_per_session);
    assert.ok(row('0.1').switches_per_session < row('0.02').switches_per_session);
    assert.equal(row('always').switches_per_session, 0);
    assert.equal(row('always').sessions_with_switch, 0);
    assert.ok(row('always').kept_share > row('0.05').kept_share);
    for (const r of report.rows) {
      assert.ok(r.quality > 0.5 && r.quality <= 1, JSON.stringify(r));
      assert.ok(r.cost_usd > 0, JSON.stringify(r));
      assert.ok(Math.abs(r.utility - (r.quality - 20 * r.cost_usd / 945)) < 1e-9, JSON.stringify(r));
    }
  });

  test('bad arguments are refused with a message', () => {
    let r = run(['eval', '--sessions', '4', ...data(), '--policy', 'knn', '--margins', 'off,soon']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /'soon' is not off, always or a number/);
    r = run(['eval', '--sessions', '4', '--online', ...data(), '--policy', 'knn']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /separate replays/);
    r = run(['eval', ...data(), '--policy', 'knn', '--margins', '0.1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--margins goes with --sessions/);
  });
});
