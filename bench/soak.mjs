// Fault soak (bench/soak.sh starts this; knobs and what it checks: bench/README.md, "Fault soak").
//
// Starts SOAK_REPLICAS replay backends and the gateway in front of them, then sends SOAK_REQUESTS
// chat requests (plain and streaming mixed) from SOAK_CONCURRENCY client loops while the backends
// fail in every way they can, about once per SOAK_FAULT_EVERY requests each: injected 5xx, hangs,
// dropped connections and mid-stream cuts (cut at an event, inside a line or inside a UTF-8
// character, rotated live through /admin/faults), slow trickles (tokens_per_sec), and SIGKILL with a
// restart on the same port. At the end it checks that
//   - every response was well formed: a chat.completion, or an OpenAI-style error; every stream
//     ended with [DONE] after chunks (and at most one error event), and its body ended cleanly;
//   - every request has exactly one decision record, whose status and outcome match what the client
//     saw (and whose error code is the one the client got);
//   - the gateway never crashed, answered SIGTERM with exit status 0 and logged no sanitizer report;
//   - the gateway's RSS at the end is within SOAK_RSS_TOLERANCE (10%) of its RSS after warm-up.
// Only Node built-ins; `switchboard decisions` reads the decision records.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const env = process.env;
const int = (name, dflt) => {
  const v = env[name] === undefined || env[name] === '' ? dflt : Number(env[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got '${env[name]}'`);
  return v;
};
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.resolve(env.SWITCHBOARD_BIN || path.join(ROOT, 'build/switchboard'));
const DATA = path.join(ROOT, 'demo/data/demo_outcomes.jsonl');
const MODEL = 'gpt-4-1106-preview';
const N = int('SOAK_REQUESTS', 1_000_000);
const CONCURRENCY = int('SOAK_CONCURRENCY', 64);
const STREAM_SHARE = int('SOAK_STREAM_SHARE', 0.5);
const FAULT_EVERY = int('SOAK_FAULT_EVERY', 1000);
const REPLICAS = int('SOAK_REPLICAS', 3);
const THREADS = int('SOAK_THREADS', 2);
const TIMEOUT_MS = int('SOAK_TIMEOUT_MS', 2000);
const WARMUP = int('SOAK_WARMUP', Math.min(50_000, Math.max(1000, Math.floor(N / 2))));
const RSS_TOLERANCE = int('SOAK_RSS_TOLERANCE', 0.10);
const OUT = env.SOAK_OUT || path.join(ROOT, 'bench/out/soak.json');
const KEEP_TMP = env.SOAK_KEEP_TMP === '1';
const RATE = FAULT_EVERY > 0 ? 1 / FAULT_EVERY : 0;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-soak-'));
const log = (...a) => console.log('soak:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
let finishing = false;
const problems = []; // failed checks, printed at the end
const problem = (msg) => { if (problems.length < 10_000) problems.push(msg); };

function cleanup() {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  if (!KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Spawns the binary with output to a log file; resolves once it prints `re` (the listening line).
function start(name, args, re, logFile) {
  const fd = openSync(logFile, 'a');
  const child = spawn(BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', fd] });
  children.add(child);
  let out = '';
  const proc = { name, child, exited: null, code: undefined, signal: undefined };
  proc.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    proc.code = code; proc.signal = signal;
    resolve({ code, signal });
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s: ${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      writeFileSync(logFile, d, { flag: 'a' });
      if (out.length < 65536) {
        out += d;
        if (re.test(out)) { clearTimeout(timer); resolve(proc); }
      }
    });
    proc.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) while starting: ${out}`));
    });
  });
}

// ------------------------------------------------------------------ processes

const cuts = ['event', 'line', 'utf8'];
const backends = []; // {port, proc, index, restarts, cut}

async function startBackend(b) {
  b.proc = await start(`replay-${b.index}`, [
    'replay-backend', '--data', DATA, '--model', MODEL, '--port', String(b.port), '--threads', '1',
    '--error-rate', String(RATE), '--hang-rate', String(RATE), '--drop-rate', String(RATE),
    '--cut', b.cut, '--seed', String(1000 * b.index + b.restarts),
    '--input-price', '10', '--output-price', '30',
  ], /listening on \S+:\d+\s/, path.join(tmp, `replay-${b.index}.log`));
}

async function admin(b, faults) {
  if (!b.proc || b.proc.code !== undefined || b.proc.signal !== undefined || b.down) return;
  try {
    const res = await fetch(`http://127.0.0.1:${b.port}/admin/faults`, {
      method: 'POST', body: JSON.stringify(faults), signal: AbortSignal.timeout(2000),
    });
    await res.text();
  } catch { /* killed in between: fine */ }
}

for (let i = 0; i < REPLICAS; ++i) {
  const b = { index: i, port: await freePort(), restarts: 0, cut: cuts[i % 3], down: false };
  backends.push(b);
  await startBackend(b);
}

const dbPath = path.join(tmp, 'decisions.db');
const config = {
  listen: '127.0.0.1:0',
  server: { threads: THREADS },
  models: [{
    name: MODEL,
    price: { input_per_mtok: 10, output_per_mtok: 30 },
    timeout_ms: TIMEOUT_MS,
    stream_idle_timeout_ms: TIMEOUT_MS,
    outlier_ejection: { consecutive_failures: 5, base_ejection_ms: 250, max_ejection_ms: 2000 },
    health_check: { path: '/health', interval_ms: 500, timeout_ms: 300, unhealthy_after: 2, healthy_after: 1 },
    replicas: backends.map((b) => ({ url: `http://127.0.0.1:${b.port}`, name: `r${b.index}` })),
  }],
  routes: [{ name: 'soak', policy: { type: 'static', model: MODEL } }],
  store: { sqlite: dbPath },
};
const configPath = path.join(tmp, 'gateway.yaml');
writeFileSync(configPath, JSON.stringify(config, null, 2));
const gatewayLog = path.join(tmp, 'gateway.log');
const gateway = await start('gateway', ['serve', '--config', configPath], /listening on \S+:\d+\s/, gatewayLog);
const gwPort = Number(readFileSync(gatewayLog, 'utf8').match(/listening on [^\s]*:(\d+)/)[1]);
gateway.exited.then(({ code, signal }) => {
  if (!finishing) {
    console.error(`soak: FAIL: the gateway exited during the run (${code ?? signal}); log: ${gatewayLog}`);
    finishing = true;
    KEEP_TMP || log(`log kept in ${tmp}`);
    process.exitCode = 1;
    process.removeListener('exit', cleanup);
    for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    process.exit(1);
  }
});
log(`gateway pid ${gateway.child.pid} on port ${gwPort}, ${REPLICAS} replay backends, ${THREADS} threads; ` +
    `${N} requests, ${CONCURRENCY} clients, faults about 1/${FAULT_EVERY} each`);

const rssKb = () => {
  try { return Number(readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]); }
  catch { return NaN; }
};

// ------------------------------------------------------------------ chaos

const faults = { kill: 0, trickle: 0, cut_change: 0 };
async function killAndRestart(b) {
  // One backend down at a time: the kill rate follows the request rate, the restart takes wall time.
  if (backends.some((x) => x.down)) return;
  b.down = true;
  faults.kill++;
  b.proc.child.kill('SIGKILL');
  await b.proc.exited;
  await sleep(100 + Math.random() * 400);  // down for a while: connects are refused meanwhile
  b.restarts++;
  b.cut = cuts[Math.floor(Math.random() * 3)];
  for (let tries = 0; ; ++tries) {
    try { await startBackend(b); break; } catch (e) {
      if (tries >= 5 || finishing) throw e;
      await sleep(500);
    }
  }
  b.down = false;
}
async function trickle(b) {
  faults.trickle++;
  await admin(b, { tokens_per_sec: 5 });  // a 20-piece answer now takes 4 s: plain ones time out
  await sleep(100);
  await admin(b, { tokens_per_sec: 0 });
}
async function changeCut(b) {
  faults.cut_change++;
  b.cut = cuts[(cuts.indexOf(b.cut) + 1) % 3];
  await admin(b, { cut: b.cut });
}
const pick = () => backends[Math.floor(Math.random() * backends.length)];
let chaosPending = Promise.resolve();
function chaos(done) {
  if (FAULT_EVERY === 0 || done % FAULT_EVERY !== 0) return;
  const actions = [() => killAndRestart(pick()), () => trickle(pick()), () => changeCut(pick())];
  for (const a of actions) {
    // spread the three over the next FAULT_EVERY requests
    chaosPending = Promise.all([chaosPending, sleep(Math.random() * 300).then(a)]).catch((e) => {
      problem(`chaos: ${e.message}`);
    });
  }
}

// ------------------------------------------------------------------ clients

const prompts = readFileSync(DATA, "utf8").split("\n").filter(Boolean)
  .map((l) => JSON.parse(l).prompt);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });

// Outcome the client saw: 'ok', 'stream_broken', or 'error' (an HTTP error answer). The record must agree.
const seen = new Map(); // decision id -> [status, kind, code, stream]
const counts = { sent: 0, done: 0, ok_plain: 0, ok_stream: 0, stream_broken: 0, partial_event_closed: 0, http_error: 0,
                 malformed: 0, transport_error: 0, no_decision_id: 0, duplicate_id: 0 };
const statuses = {};
const errorCodes = {};

function isError(o) {
  return o && typeof o.error === 'object' && o.error !== null && typeof o.error.message === 'string' &&
         typeof o.error.type === 'string' && 'code' in o.error;
}

function check(stream, res, body) {
  // returns {kind, code} or throws with what is malformed
  const status = res.statusCode;
  const ctype = res.headers['content-type'] || '';
  if (status !== 200 || !stream) {
    let j;
    try { j = JSON.parse(body); } catch { throw new Error(`status ${status}: body is not JSON: ${body.slice(0, 200)}`); }
    if (status === 200) {
      if (j.object !== 'chat.completion' || typeof j.choices?.[0]?.message?.content !== 'string')
        throw new Error(`200 but not a chat.completion: ${body.slice(0, 200)}`);
      return { kind: 'ok', code: '' };
    }
    if (!isError(j)) throw new Error(`status ${status} without an OpenAI error: ${body.slice(0, 200)}`);
    return { kind: 'error', code: j.error.code ?? '' };
  }
  if (!ctype.startsWith('text/event-stream')) throw new Error(`stream answered with ${ctype}`);
  if (!body.endsWith('\n\n')) throw new Error(`stream does not end with a blank line: ${JSON.stringify(body.slice(-100))}`);
  const events = body.slice(0, -2).split('\n\n');
  let done = false, error = null, chunks = 0, partial = null;
  for (const ev of events) {
    if (done) throw new Error(`event after [DONE]: ${JSON.stringify(ev.slice(0, 200))}`);
    const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    let j;
    if (data !== '[DONE]') { try { j = JSON.parse(data); } catch { j = undefined; } }
    if (partial !== null && !isError(j))
      throw new Error(`an unparseable event not followed by the error event: ${JSON.stringify(partial.slice(0, 200))}`);
    if (data === '[DONE]') { done = true; continue; }
    if (j === undefined) {
      // The event the upstream broke off in, closed by the gateway: allowed only right before the
      // gateway's error event (README, "Errors": upstream_stream_broken).
      if (error) throw new Error(`unparseable event after the error event: ${JSON.stringify(ev.slice(0, 200))}`);
      partial = ev;
      continue;
    }
    if (isError(j)) {
      if (error) throw new Error('two error events');
      error = j.error;
    } else if (j.object === 'chat.completion.chunk') {
      if (error) throw new Error('chunk after an error event');
      chunks++;
    } else {
      throw new Error(`event is neither a chunk nor an error: ${JSON.stringify(ev.slice(0, 200))}`);
    }
    partial = null;
  }
  if (!done) throw new Error('stream did not end with [DONE]');
  if (error) {
    if (error.code !== 'upstream_stream_broken' && partialSeen(events)) throw new Error(`a closed partial event before a ${error.code} error`);
    return { kind: 'stream_broken', code: error.code ?? '', partial: partialSeen(events) };
  }
  if (chunks === 0) throw new Error('stream without chunks');
  return { kind: 'ok', code: '' };
}

function partialSeen(events) {
  return events.some((ev) => {
    const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    if (data === '[DONE]') return false;
    try { JSON.parse(data); return false; } catch { return true; }
  });
}

function request(i) {
  const stream = Math.random() < STREAM_SHARE;
  const r = Math.random();
  const prompt = r < 0.8 ? prompts[i % prompts.length] : `soak prompt ${i} — ünïcödé ✓ ${Math.random()}`;
  const payload = {
    model: Math.random() < 0.5 ? 'soak' : MODEL,
    messages: [{ role: 'user', content: prompt }],
  };
  if (stream) {
    payload.stream = true;
    if (Math.random() < 0.5) payload.stream_options = { include_usage: true };
  }
  const data = JSON.stringify(payload);
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port: gwPort, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', () => {});
      res.on('close', () => {
        const id = res.headers['x-switchboard-decision'];
        if (!res.complete) {
          counts.transport_error++;
          problem(`request ${i} (${stream ? 'stream' : 'plain'}, id ${id}): the response body was cut short`);
          if (id) seen.set(id, [res.statusCode, 'cut', '', stream]);
          return resolve();
        }
        const body = Buffer.concat(parts).toString('utf8');
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        let v;
        try { v = check(stream, res, body); } catch (e) {
          counts.malformed++;
          problem(`request ${i} (${stream ? 'stream' : 'plain'}, id ${id}): malformed: ${e.message}`);
          v = { kind: 'malformed', code: '' };
        }
        if (v.kind === 'ok') counts[stream ? 'ok_stream' : 'ok_plain']++;
        else if (v.kind === 'stream_broken') { counts.stream_broken++; if (v.partial) counts.partial_event_closed++; }
        else if (v.kind === 'error') counts.http_error++;
        if (v.code) errorCodes[v.code] = (errorCodes[v.code] ?? 0) + 1;
        if (!id) { counts.no_decision_id++; problem(`request ${i}: no x-switchboard-decision header`); }
        else if (seen.has(id)) { counts.duplicate_id++; problem(`request ${i}: decision id ${id} seen twice`); }
        else seen.set(id, [res.statusCode, v.kind, v.code, stream]);
        resolve();
      });
    });
    req.on('error', (e) => {
      counts.transport_error++;
      problem(`request ${i} (${stream ? 'stream' : 'plain'}): ${e.code ?? e.message}`);
      resolve();
    });
    req.end(data);
  });
}

const t0 = Date.now();
let rssWarm = NaN, rssMax = 0, next = 0, lastReport = Date.now();
const rssSamples = [];
async function client() {
  while (next < N && !finishing) {
    const i = next++;
    counts.sent++;
    await request(i);
    const done = ++counts.done;
    if (done === WARMUP) { rssWarm = rssKb(); log(`warm-up done after ${done} requests: gateway RSS ${rssWarm} KB`); }
    chaos(done);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const rss = rssKb();
      rssMax = Math.max(rssMax, rss);
      rssSamples.push([done, rss]);
      const s = (Date.now() - t0) / 1000;
      log(`${done}/${N} in ${s.toFixed(0)} s (${(done / s).toFixed(0)} req/s), RSS ${rss} KB, ` +
          `ok ${counts.ok_plain + counts.ok_stream}, broken ${counts.stream_broken}, errors ${counts.http_error}, ` +
          `bad ${counts.malformed + counts.transport_error}; kills ${faults.kill}`);
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, client));
const seconds = (Date.now() - t0) / 1000;
await chaosPending;
agent.destroy();
log(`${counts.done} requests in ${seconds.toFixed(1)} s (${(counts.done / seconds).toFixed(0)} req/s)`);

// ------------------------------------------------------------------ records

// The records are encoded in batches (docs/reliability.md): `switchboard decisions` reads them.
const storedCount = () => Number(execFileSync(BIN, ['decisions', '--store', dbPath, '--count'],
                                              { encoding: 'utf8' }).trim());
let records = 0;
for (let t = 0, last = -1, still = 0; t < 600; ++t) {
  records = storedCount();
  if (records >= counts.done) break;
  still = records === last ? still + 1 : 0;
  if (still >= 20) break;  // 10 s without progress
  last = records;
  await sleep(500);
}
await sleep(2000);  // let the gateway settle before reading its RSS
const rssEnd = rssKb();
rssMax = Math.max(rssMax, rssWarm || 0, rssEnd);
// What the gateway's attempts met upstream (injected errors, hangs, drops, kills), from the records
// (counted while reading them below).
const attemptResults = {};
const dropped = (await (await fetch(`http://127.0.0.1:${gwPort}/metrics`)).text())
  .match(/^switchboard_decisions_dropped_total (\S+)/m)?.[1];
log(`${records} decision records (${dropped ?? '?'} dropped); RSS after warm-up ${rssWarm} KB, at the end ${rssEnd} KB, max ${rssMax} KB`);

const outcomeOf = { ok: ['ok'], stream_broken: ['stream_broken', 'upstream_error'],
                    error: ['client_error', 'upstream_error', 'upstream_timeout', 'no_candidate', 'internal_error'] };
const matched = { records: 0, missing: 0, mismatched: 0, unknown: 0 };
const outcomes = {};
await new Promise((resolve, reject) => {
  const q = spawn(BIN, ['decisions', '--store', dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: q.stdout });
  rl.on('line', (line) => {
    const r = JSON.parse(line);
    for (const a of r.attempts) attemptResults[a.result] = (attemptResults[a.result] ?? 0) + 1;
    const { id, status, outcome } = r;
    const code = r.error?.code ?? '';
    const stream = r.stream ? '1' : '0';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    const s = seen.get(id);
    if (!s) { matched.unknown++; problem(`record ${id} (${outcome}) matches no request`); return; }
    seen.delete(id);
    matched.records++;
    const [cStatus, kind, cCode, cStream] = s;
    // An upstream's own error answer is passed through unchanged; its record says upstream_status_N.
    const passedThrough = kind === 'error' && code === `upstream_status_${status}`;
    const ok = Number(status) === cStatus && (outcomeOf[kind] ?? []).includes(outcome) &&
               (kind === 'ok' || code === cCode || passedThrough) && (stream === '1') === cStream;
    if (!ok) {
      matched.mismatched++;
      problem(`record ${id}: status ${status} outcome ${outcome} code '${code}' stream ${stream}; ` +
              `the client saw ${cStatus} ${kind} '${cCode}' stream ${cStream}`);
    }
  });
  q.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`switchboard decisions exited ${code}`))));
});
matched.missing = seen.size;
for (const [id, [status, kind]] of [...seen].slice(0, 20)) problem(`request with decision ${id} (${status} ${kind}) has no record`);

// ------------------------------------------------------------------ shutdown and verdict

finishing = true;
gateway.child.kill('SIGTERM');
const exit = await Promise.race([gateway.exited, sleep(30_000).then(() => ({ code: 'timeout' }))]);
for (const b of backends) b.proc?.child.kill('SIGTERM');
const gwText = readFileSync(gatewayLog, 'utf8');
const sanitizer = gwText.match(/(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:)[^\n]*/);

if (exit.code !== 0) problem(`gateway exit after SIGTERM: ${exit.code ?? exit.signal}`);
if (sanitizer) problem(`sanitizer report in the gateway's log: ${sanitizer[0]}`);
if (counts.done !== N) problem(`${counts.done} of ${N} requests done`);
if (matched.missing || matched.unknown || records !== counts.done)
  problem(`${records} records for ${counts.done} requests: ${matched.missing} missing, ${matched.unknown} unknown`);
const rssOk = rssEnd <= rssWarm * (1 + RSS_TOLERANCE);
if (!rssOk) problem(`gateway RSS ${rssEnd} KB at the end > ${((1 + RSS_TOLERANCE) * 100).toFixed(0)}% of ${rssWarm} KB after warm-up`);

const result = {
  date: new Date().toISOString(), commit: (() => { try { return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return null; } })(),
  binary: BIN, requests: N, concurrency: CONCURRENCY, stream_share: STREAM_SHARE, fault_every: FAULT_EVERY,
  replicas: REPLICAS, threads: THREADS, seconds, req_per_s: counts.done / seconds,
  counts, statuses, error_codes: errorCodes, record_outcomes: outcomes, records, dropped: Number(dropped ?? NaN),
  matched, faults, attempt_results: attemptResults, restarts: backends.map((b) => b.restarts),
  rss_kb: { warm: rssWarm, end: rssEnd, max: rssMax, samples: rssSamples }, rss_ok: rssOk,
  gateway_exit: exit.code ?? exit.signal, problems: problems.length, first_problems: problems.slice(0, 20),
  load_avg: os.loadavg(), nproc: os.cpus().length,
};
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');

log(`statuses ${JSON.stringify(statuses)}; client error codes ${JSON.stringify(errorCodes)}`);
log(`record outcomes ${JSON.stringify(outcomes)}`);
log(`upstream attempts by result ${JSON.stringify(attemptResults)}`);
log(`faults injected by the script: ${faults.kill} kills (+ restarts), ${faults.trickle} trickles, ${faults.cut_change} cut changes; ` +
    `by the backends (rate 1/${FAULT_EVERY} each): errors, hangs, drops`);
log(`checks: ${matched.records} records matched, ${matched.mismatched} mismatched, ${matched.missing} missing, ` +
    `${matched.unknown} unknown; ${counts.malformed} malformed, ${counts.transport_error} transport errors; ` +
    `RSS ${rssOk ? 'ok' : 'NOT ok'}; gateway exit ${exit.code ?? exit.signal}`);
log(`results in ${OUT}`);
if (problems.length) {
  console.error(`soak: FAIL: ${problems.length} problem(s); the first ones:`);
  for (const p of problems.slice(0, 20)) console.error(`  ${p}`);
  if (!KEEP_TMP) { process.removeListener('exit', cleanup); for (const c of children) { try { c.kill('SIGKILL'); } catch {} } log(`logs kept in ${tmp}`); }
  process.exit(1);
}
log('PASS');
process.exit(0);
