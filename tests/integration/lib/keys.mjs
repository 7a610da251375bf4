// Helpers for the API key tests: `switchboard keys ...` run as a real process.
import { spawnSync } from 'node:child_process';
import { BIN, SOURCE_DIR } from './harness.mjs';

// Runs `switchboard keys <args>`; returns {status, stdout, stderr}.
export function keysCli(args) {
  const r = spawnSync(BIN, ['keys', ...args], { cwd: SOURCE_DIR, encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Creates a key in `db` with `switchboard keys create --json`; returns {secret, key}.
export function createKey(db, name, opts = {}) {
  const args = ['create', '--db', db, '--name', name, '--json'];
  const flag = (f, v) => { if (v !== undefined) args.push(f, String(v)); };
  flag('--team', opts.team);
  flag('--routes', opts.routes);
  flag('--models', opts.models);
  flag('--objectives', opts.objectives);
  flag('--rpm', opts.rpm);
  flag('--tpm', opts.tpm);
  flag('--usd-per-day', opts.usdPerDay);
  flag('--usd-per-month', opts.usdPerMonth);
  const r = keysCli(args);
  if (r.status !== 0) throw new Error(`keys create ${name} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

export const bearer = (secret) => ({ authorization: `Bearer ${secret}` });
