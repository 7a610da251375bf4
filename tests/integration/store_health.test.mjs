// A decision database that cannot be written (here: another process holds its write lock, as a
// backup tool or a stuck migration would): the gateway goes on answering, GET /healthz says
// "degraded" naming SQLite's error (still 200: a restart would not mend it),
// switchboard_decision_store_failing_seconds grows, and once the lock is gone every record queued
// meanwhile is written and the health is ok again.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  startGateway, startReplay, model, stopAll, postChat, chatBody, demoPrompt, getJson, getDecision,
  eventually, metricSum, GPT4,
} from './lib/harness.mjs';

const HAVE_SQLITE3 = spawnSync('sqlite3', ['--version']).status === 0;

const shells = new Set();

// `sqlite3 FILE` holding BEGIN IMMEDIATE until release() (or the suite's end).
async function holdWriteLock(file) {
  const proc = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'pipe'] });
  shells.add(proc);
  proc.on('exit', () => shells.delete(proc));
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stdin.write('BEGIN IMMEDIATE;\nSELECT \'locked\';\n');
  await eventually(async () => out.includes('locked'), 10000, 'sqlite3 holds the write lock');
  return {
    release: () => new Promise((resolve) => {
      proc.on('exit', resolve);
      proc.stdin.end('COMMIT;\n.quit\n');
    }),
  };
}

describe('decision store health', { skip: HAVE_SQLITE3 ? false : 'sqlite3 is not installed (CI installs it)' }, () => {
  let gw;
  before(async () => {
    const replay = await startReplay();
    gw = await startGateway({ models: [model(GPT4, replay.url)], routes: [] });
  });
  after(async () => {
    for (const p of shells) p.kill('SIGKILL');
    await stopAll();
  });

  test('a locked database: answers go on, /healthz is degraded, the records are written later', async () => {
    const ok = await getJson(gw.base, '/healthz');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.status, 'ok');
    assert.equal(ok.json.decision_store.status, 'ok');

    const lock = await holdWriteLock(gw.sqlite);
    const ids = [];
    for (let i = 0; i < 3; ++i) {
      const r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200, r.text);
      ids.push(r.headers.get('x-switchboard-decision'));
    }
    const sick = await eventually(async () => {
      const h = await getJson(gw.base, '/healthz');
      return h.json.status === 'degraded' && h;
    }, 20000, '/healthz degraded');
    assert.equal(sick.status, 200, 'still live: a restart would not help');
    assert.equal(sick.json.decision_store.status, 'failing');
    assert.match(sick.json.decision_store.error, /locked|busy/i);
    assert.ok(sick.json.decision_store.failed_tries >= 1);
    assert.ok(sick.json.decision_store.failing_for_s >= 0);
    assert.ok(sick.json.decision_store.queued >= 1);
    assert.ok(await eventually(async () => (await metricSum(gw.base,
      'switchboard_decision_store_failing_seconds')) > 0, 10000, 'failing seconds > 0'));
    // Still findable while queued.
    assert.equal((await getDecision(gw.base, ids[0])).id, ids[0]);

    await lock.release();
    await eventually(async () => (await getJson(gw.base, '/healthz')).json.status === 'ok', 20000,
      '/healthz ok again');
    const h = await getJson(gw.base, '/healthz');
    assert.equal(h.json.decision_store.queued, 0);
    assert.equal(h.json.decision_store.dropped, 0);
    assert.equal(await metricSum(gw.base, 'switchboard_decision_store_failing_seconds'), 0);
    assert.ok(await metricSum(gw.base, 'switchboard_decision_write_failures_total') >= 1);
    const stored = spawnSync('sqlite3', [gw.sqlite, 'SELECT count(*) FROM decision_batches;']);
    assert.ok(Number(String(stored.stdout).trim()) >= 1, String(stored.stderr));
    for (const id of ids) assert.equal((await getDecision(gw.base, id)).id, id);
  });
});
