// Many streams (bench/streams.sh starts this; knobs: bench/README.md, "Many concurrent streams").
//
// Starts STREAMS_BACKENDS replay backends answering slowly (STREAMS_TOKENS_PER_SEC) and the gateway in
// front of them, measures the gateway's RSS when idle (after a warm-up of a few hundred short
// streams), then opens STREAMS_COUNT streaming chat requests through it at STREAMS_OPEN_RATE per
// second and holds them all open. Once every stream has received its first content chunk and the
// gateway reports them all in flight, it reads the gateway's RSS again (for STREAMS_HOLD seconds,
// keeping the highest value) and reports (RSS held − RSS idle) ÷ streams: the gateway's memory per
// open stream (goal: ≤ 20 KB). Then it closes the clients and checks the gateway is still healthy.
// Only Node built-ins.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const num = (name, dflt) => {
  const v = env[name] === undefined || env[name] === '' ? dflt : Number(env[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got '${env[name]}'`);
  return v;
};
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.resolve(env.SWITCHBOARD_BIN || path.join(ROOT, 'build/switchboard'));
const DATA = path.join(ROOT, 'demo/data/demo_outcomes.jsonl');
const MODEL = 'gpt-4-1106-preview';
const COUNT = num('STREAMS_COUNT', 10_000);
const BACKENDS = num('STREAMS_BACKENDS', 2);
const THREADS = num('STREAMS_THREADS', 2);
const TOKENS_PER_SEC = num('STREAMS_TOKENS_PER_SEC', 0.05);  // one chunk per 20 s after the first
const OPEN_RATE = num('STREAMS_OPEN_RATE', 1000);
const HOLD = num('STREAMS_HOLD', 10);
const GOAL_KB = num('STREAMS_GOAL_KB', 20);
const OUT = env.STREAMS_OUT || path.join(ROOT, 'bench/out/streams.json');
const KEEP_TMP = env.STREAMS_KEEP_TMP === '1';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-streams-'));
const log = (...a) => console.log('streams:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  if (KEEP_TMP) log(`kept ${tmp}`); else rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function start(name, args, logFile) {
  const fd = openSync(logFile, 'a');
  const child = spawn(BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', fd] });
  children.add(child);
  let out = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s: ${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      writeFileSync(logFile, d, { flag: 'a' });
      if (out.length < 65536) out += d;
      const m = out.match(/listening on [^\s]*:(\d+)[\s(]/);
      if (m) { clearTimeout(timer); resolve({ child, exited, port: Number(m[1]) }); }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? signal}): ${out}`)); });
  });
}

const backends = [];
for (let i = 0; i < BACKENDS; ++i) {
  backends.push(await start(`replay-${i}`, ['replay-backend', '--data', DATA, '--model', MODEL, '--port', '0',
                                            '--threads', '1', '--tokens-per-sec', String(TOKENS_PER_SEC)],
                            path.join(tmp, `replay-${i}.log`)));
}
const idleMs = Math.max(60_000, Math.ceil(3000 / Math.max(TOKENS_PER_SEC, 1e-3)));
const config = {
  listen: '127.0.0.1:0',
  server: { threads: THREADS, idle_timeout_ms: idleMs, write_timeout_ms: idleMs },
  models: [{
    name: MODEL, timeout_ms: 120_000, stream_idle_timeout_ms: idleMs,
    balancer: 'round_robin',
    replicas: backends.map((b, i) => ({ url: `http://127.0.0.1:${b.port}`, name: `r${i}` })),
  }],
  store: { sqlite: path.join(tmp, 'decisions.db') },
};
writeFileSync(path.join(tmp, 'gateway.yaml'), JSON.stringify(config, null, 2));
const gateway = await start('gateway', ['serve', '--config', path.join(tmp, 'gateway.yaml')], path.join(tmp, 'gateway.log'));
let gatewayDied = null;
gateway.exited.then((e) => { gatewayDied = e; });
const base = `http://127.0.0.1:${gateway.port}`;
const status = () => readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8');
const rssKb = () => Number(status().match(/VmRSS:\s+(\d+)/)[1]);
const fds = () => { try { return Number(execFileSync('ls', [`/proc/${gateway.child.pid}/fd`], { encoding: 'utf8' }).split('\n').filter(Boolean).length); } catch { return NaN; } };
async function inFlight() {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(text.match(/^switchboard_requests_in_flight (\S+)/m)?.[1] ?? NaN);
}

const body = JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'hello' }] });
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const streams = [];
let firstChunk = 0, errors = 0, ended = 0;
const errorKinds = {};

// One streaming request; resolves when its first content chunk arrived (or it failed).
function open(i) {
  const s = { req: null, content: false, done: false };
  streams.push(s);
  return new Promise((resolve) => {
    const fail = (what) => {
      if (s.done) return;
      s.done = true;
      errors++;
      errorKinds[what] = (errorKinds[what] ?? 0) + 1;
      resolve();
    };
    s.req = http.request(`${base}/v1/chat/completions`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      if (res.statusCode !== 200) { res.resume(); fail(`status ${res.statusCode}`); return; }
      let seen = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        if (s.content) return;
        seen += d;
        if (seen.includes('"content"')) { s.content = true; firstChunk++; resolve(); }
      });
      res.on('end', () => { ended++; if (!s.content) fail('ended before content'); });
      res.on('error', () => {});
      res.on('aborted', () => {});
    });
    s.req.on('error', (e) => { if (!s.closing) fail(e.code ?? e.message); else resolve(); });
    s.req.end(body);
  });
}

// Warm-up: a few hundred streams answered at full speed, read to their end, so that the gateway's
// pools, threads and allocator are warm; then the backends slow down.
const setRate = (tps) => Promise.all(backends.map((b) => fetch(`http://127.0.0.1:${b.port}/admin/faults`, {
  method: 'POST', body: JSON.stringify({ tokens_per_sec: tps }) }).then((r) => r.text())));
{
  await setRate(0);
  const warm = [];
  for (let i = 0; i < 256; ++i) {
    warm.push(fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((r) => r.text()));
  }
  const texts = await Promise.all(warm);
  if (!texts.every((t) => t.endsWith('data: [DONE]\n\n'))) throw new Error('a warm-up stream did not end with [DONE]');
  for (let t = 0; t < 100 && (await inFlight()) > 0; ++t) await sleep(100);
  await setRate(TOKENS_PER_SEC);
  await sleep(2000);
}
const rssIdle = rssKb();
const fdsIdle = fds();
log(`gateway pid ${gateway.child.pid}, ${THREADS} threads, ${BACKENDS} backends at ${TOKENS_PER_SEC} tokens/s; ` +
    `idle RSS ${rssIdle} KB, ${fdsIdle} fds; opening ${COUNT} streams at ${OPEN_RATE}/s`);

const t0 = Date.now();
const opened = [];
for (let i = 0; i < COUNT; ++i) {
  opened.push(open(i));
  const due = t0 + ((i + 1) * 1000) / OPEN_RATE;
  if (due > Date.now() + 5) await sleep(due - Date.now());
}
await Promise.all(opened);
const openSeconds = (Date.now() - t0) / 1000;
let flight = await inFlight();
log(`${firstChunk} streams receiving, ${errors} failed (${JSON.stringify(errorKinds)}) after ${openSeconds.toFixed(1)} s; ` +
    `gateway in flight: ${flight}`);

let rssHeld = 0, fdsHeld = 0;
for (let t = 0; t < HOLD; ++t) {
  await sleep(1000);
  rssHeld = Math.max(rssHeld, rssKb());
  fdsHeld = Math.max(fdsHeld, fds());
}
flight = await inFlight();
const perStreamKb = (rssHeld - rssIdle) / Math.max(1, firstChunk);
log(`held for ${HOLD} s: gateway RSS ${rssHeld} KB (idle ${rssIdle} KB), ${fdsHeld} fds, in flight ${flight}; ` +
    `${ended} streams ended early`);
log(`RSS per open stream: ${perStreamKb.toFixed(1)} KB (goal <= ${GOAL_KB} KB: ${perStreamKb <= GOAL_KB ? 'met' : 'NOT met'})`);

// Close every client; the gateway must notice, free the streams and stay healthy.
for (const s of streams) { s.closing = true; s.req.destroy(); }
agent.destroy();
let after = flight;
// A stream whose client left is noticed at the next write to it (the second, when the first still
// fits in the socket's buffer): up to two token gaps.
const closeWaitMs = 5000 + 2 * Math.ceil(1000 / Math.max(TOKENS_PER_SEC, 1e-3));
const tClose = Date.now();
while (after > 0 && Date.now() - tClose < closeWaitMs) { await sleep(250); after = await inFlight(); }
const closeSeconds = (Date.now() - tClose) / 1000;
await sleep(3000);
const rssAfter = rssKb();
const health = await fetch(`${base}/healthz`).then((r) => r.status).catch((e) => e.message);
log(`${closeSeconds.toFixed(1)} s after closing the clients: in flight ${after}, RSS ${rssAfter} KB, /healthz ${health}`);

gateway.child.kill('SIGTERM');
const exit = await Promise.race([gateway.exited, sleep(30_000).then(() => ({ code: 'timeout' }))]);
const sanitizer = readFileSync(path.join(tmp, 'gateway.log'), 'utf8').match(/(ERROR: \w+Sanitizer|runtime error:)[^\n]*/);

const result = {
  date: new Date().toISOString(),
  commit: (() => { try { return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return null; } })(),
  binary: BIN, streams: COUNT, streams_requested: num('STREAMS_REQUESTED', COUNT), nofile_limit: Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' })), threads: THREADS, backends: BACKENDS, tokens_per_sec: TOKENS_PER_SEC, open_rate: OPEN_RATE,
  open_seconds: openSeconds, receiving: firstChunk, failed: errors, error_kinds: errorKinds, ended_early: ended,
  in_flight_held: flight, close_seconds: closeSeconds, rss_kb: { idle: rssIdle, held: rssHeld, after_close: rssAfter }, fds: { idle: fdsIdle, held: fdsHeld },
  rss_per_stream_kb: perStreamKb, goal_kb: GOAL_KB, goal_met: perStreamKb <= GOAL_KB,
  gateway_exit: exit.code ?? exit.signal, gateway_died: gatewayDied, sanitizer: sanitizer?.[0] ?? null,
  load_avg: os.loadavg(), nproc: os.cpus().length,
};
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
log(`gateway exit after SIGTERM: ${exit.code ?? exit.signal}; results in ${OUT}`);
const bad = errors > 0 || firstChunk !== COUNT || exit.code !== 0 || sanitizer || after !== 0 || health !== 200;
if (bad) { console.error('streams: FAIL: not every stream was held, or the gateway did not end cleanly'); process.exit(1); }
for (const b of backends) b.child.kill('SIGTERM');
process.exit(env.STREAMS_STRICT === '1' && perStreamKb > GOAL_KB ? 3 : 0);
