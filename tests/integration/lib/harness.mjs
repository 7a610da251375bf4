// Test harness for the integration and compatibility tests: starts real processes on loopback
// (the gateway and replay backends), tiny Node upstreams, and gives small HTTP/SSE/socket helpers.
//
// Every process started here is registered and killed in stopAll(), which tests call from an
// after() hook; a process 'exit' hook kills whatever is still running as a last resort.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SOURCE_DIR = path.resolve(process.env.SB_SOURCE_DIR ?? process.cwd());
export const BIN = path.resolve(process.env.SWITCHBOARD_BIN ?? path.join(SOURCE_DIR, 'build/switchboard'));
export const DEMO_DATA = path.join(SOURCE_DIR, 'demo/data/demo_outcomes.jsonl');
export const ROUTERBENCH_DATA = path.join(SOURCE_DIR, '../shared/data/routerbench_zs');
export const GPT4 = 'gpt-4-1106-preview';
export const MIXTRAL = 'mistralai/mixtral-8x7b-chat';
export const GPT4_PRICE = { input_per_mtok: 10.0, output_per_mtok: 30.0 };
// RouterBench's zero-shot CSVs (../shared/data/routerbench_zs): the offline tests skip without them.
export const HAVE_ROUTERBENCH = ['arc_challenge', 'mbpp', 'winograde'].every((t) =>
  ['_train.csv', '_test.csv'].every((s) => existsSync(path.join(ROUTERBENCH_DATA, t + s))));

// How much slower than a release build the binary under test runs: tests/CMakeLists.txt sets
// SB_TEST_SLOWDOWN for the sanitized build (`make test-asan`); timeouts meant for waiting on the
// binary (not for asserting a speed) are multiplied by it.
export const SLOWDOWN = Number(process.env.SB_TEST_SLOWDOWN) || 1;
// True when the binary under test is the sanitized build (tests/sanitizers/README.md).
export const SANITIZED = process.env.SB_SANITIZED === '1';

// Runs the switchboard CLI to completion: spawnSync's result (status, stdout, stderr).
export function runCli(args, { timeoutMs = 300_000 * SLOWDOWN } = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}
// runCli(), asserting that the command exits 0 (the message carries its stderr).
export function runCliOk(args, opts) {
  const r = runCli(args, opts);
  if (r.status !== 0) throw new Error(`switchboard ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

const live = new Set(); // running ManagedProcess instances
const started = new Set(); // every ManagedProcess since the last stopAll(), for the sanitizer check
const unexpected = new Set(); // processes that exited without being asked to
const tempDirs = new Set();
const servers = new Set(); // Node servers started by fakeUpstream()

process.on('exit', () => {
  for (const p of live) {
    try { p.child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tempDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

export function tempDir(prefix = 'sb-it-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with `promise`'s value, or with `fallback` after `ms`, whichever comes first; the timer
// is cleared either way so that it cannot keep the test process alive.
export function waitOr(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((r) => { timer = setTimeout(() => r(fallback), ms); })])
    .finally(() => clearTimeout(timer));
}

// Rejects with `message` if `promise` has not settled within `ms`.
export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ processes

class ManagedProcess {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.output = '';
    this.exitCode = undefined;
    this.signal = undefined;
    this.stopping = false; // set when the harness or a test asked it to stop
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        live.delete(this);
        if (!this.stopping) unexpected.add(this);
        resolve({ code, signal });
      });
    });
    const collect = (chunk) => {
      this.output += chunk.toString('utf8');
      if (this.output.length > 1 << 20) this.output = this.output.slice(-(1 << 19));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    live.add(this);
    started.add(this);
  }

  get running() { return this.exitCode === undefined && this.signal === undefined; }

  // Waits for a line of output matching `re` and returns the match. On timeout or early exit,
  // rejects with the process's output so the failure explains itself.
  waitFor(re, timeoutMs = 15000 * SLOWDOWN) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.output.match(re);
        if (m) { finish(); resolve(m); return true; }
        return false;
      };
      const onData = () => { check(); };
      const onExit = () => {
        if (check()) return;
        finish();
        unexpected.delete(this); // reported here, with its output
        reject(new Error(`${this.name} exited (code ${this.exitCode}, signal ${this.signal}) before printing ` +
                         `${re}\n--- ${this.name} output ---\n${this.output}`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name} did not print ${re} within ${timeoutMs} ms\n` +
                         `--- ${this.name} output ---\n${this.output}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.child.stdout.off('data', onData);
        this.child.stderr.off('data', onData);
        this.child.off('exit', onExit);
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.on('exit', onExit);
      if (!this.running) { onExit(); return; }
      check();
    });
  }

  // Sends a signal; the process counts as asked to stop.
  kill(signal = 'SIGTERM') {
    this.stopping = true;
    this.child.kill(signal);
  }

  // Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs`. Returns {code, signal}.
  async stop(signal = 'SIGTERM', timeoutMs = 10000) {
    if (!this.running) return { code: this.exitCode, signal: this.signal };
    this.kill(signal);
    const timer = setTimeout(() => { try { this.child.kill('SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

// `nofile`: the process's file-descriptor limit (set by a shell's `ulimit -n` before exec).
export function startProcess(name, args, { env = {}, nofile } = {}) {
  if (!existsSync(BIN)) throw new Error(`switchboard binary not found at ${BIN} (set SWITCHBOARD_BIN)`);
  const [cmd, argv] = nofile === undefined
    ? [BIN, args]
    : ['/bin/sh', ['-c', `ulimit -n ${Number(nofile)} && exec "$0" "$@"`, BIN, ...args]];
  const child = spawn(cmd, argv, {
    cwd: SOURCE_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ManagedProcess(name, child);
}

const LISTEN_RE = /listening on (?:\[?[0-9a-fA-F.:]+\]?):(\d+)/;

// Starts `switchboard replay-backend`. Options: data, model, inputPrice, outputPrice, ttftMs,
// tokensPerSec, errorRate, hangRate, dropRate, cut (event|line|utf8), seed, port (default 0: any),
// extraArgs.
export async function startReplay(opts = {}) {
  const model = opts.model ?? GPT4;
  const args = ['replay-backend', '--data', opts.data ?? DEMO_DATA, '--model', model, '--port', String(opts.port ?? 0)];
  const flag = (name, v) => { if (v !== undefined) args.push(name, String(v)); };
  flag('--input-price', opts.inputPrice);
  flag('--output-price', opts.outputPrice);
  flag('--ttft-ms', opts.ttftMs);
  flag('--tokens-per-sec', opts.tokensPerSec);
  flag('--error-rate', opts.errorRate);
  flag('--hang-rate', opts.hangRate);
  flag('--drop-rate', opts.dropRate);
  flag('--cut', opts.cut);
  flag('--seed', opts.seed);
  args.push(...(opts.extraArgs ?? []));
  const proc = startProcess(`replay-backend(${model})`, args, { env: opts.env });
  const m = await proc.waitFor(/replay-backend: model=.* listening on (?:\[?[0-9a-fA-F.:]+\]?):(\d+)/,
                               opts.startTimeoutMs ?? 30000);
  const port = Number(m[1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    proc, port, url, model,
    async setFaults(faults) {
      const res = await fetch(`${url}/admin/faults`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`POST /admin/faults -> ${res.status}: ${text}`);
      return JSON.parse(text);
    },
    async stats() {
      const res = await fetch(`${url}/admin/stats`);
      return res.json();
    },
    stop: (sig) => proc.stop(sig),
  };
}

// A gateway config object (written as JSON, which is YAML) with sensible test defaults.
// `models` entries: {name, price?, timeout_ms?, stream_idle_timeout_ms?, replicas: [{url,...}]}.
export function gatewayConfig({ models, routes = [], server = {}, dir, sqlite } = {}) {
  return {
    listen: '127.0.0.1:0',
    server: {
      // Idle connections kept 5 s (scaled for the sanitized build: its tests pause longer between
      // requests, and a request sent on a keep-alive connection as the gateway closes it fails
      // with "other side closed").
      threads: 2, max_body_bytes: 1048576, idle_timeout_ms: 5000 * SLOWDOWN, body_timeout_ms: 5000,
      write_timeout_ms: 5000, ...server,
    },
    models,
    ...(routes.length ? { routes } : {}),
    store: { sqlite: sqlite ?? path.join(dir, 'decisions.db') },
  };
}

// Starts `switchboard serve` with a generated config (decisions in a fresh temp dir unless `sqlite`
// names a database file; `nofile` sets its file-descriptor limit). Returns {proc, port, base, dir,
// config, sqlite, stop}.
export async function startGateway({ models, routes, server, env, sqlite, extraConfig, nofile } = {}) {
  const dir = tempDir('sb-gw-');
  const config = { ...gatewayConfig({ models, routes, server, dir, sqlite }), ...(extraConfig ?? {}) };
  const configPath = path.join(dir, 'switchboard.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const proc = startProcess('gateway', ['serve', '--config', configPath], { env, nofile });
  const m = await proc.waitFor(/switchboard listening on (?:\[?[0-9a-fA-F.:]+\]?):(\d+)/, 15000);
  const port = Number(m[1]);
  return {
    proc, port, dir, config, configPath, sqlite: config.store.sqlite,
    base: `http://127.0.0.1:${port}`,
    stop: (sig, ms) => proc.stop(sig, ms),
  };
}

// A model entry for gatewayConfig() pointing at one or more URLs.
export function model(name, urls, extra = {}) {
  const list = Array.isArray(urls) ? urls : [urls];
  return {
    name, price: GPT4_PRICE, timeout_ms: 5000, stream_idle_timeout_ms: 5000,
    replicas: list.map((u) => (typeof u === 'string' ? { url: u } : u)),
    ...extra,
  };
}

// Stops everything this file started. A process that had exited on its own (a crash, say) gets its
// output printed, because the test failures it caused rarely explain themselves.
export async function stopAll() {
  for (const p of unexpected) {
    console.error(`--- ${p.name} exited unexpectedly (code ${p.exitCode}, signal ${p.signal}); output:\n${p.output}`);
  }
  unexpected.clear();
  await Promise.all([...live].map((p) => p.stop('SIGKILL', 5000)));
  await Promise.all([...servers].map((s) => closeServer(s)));
  for (const d of tempDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
  // A sanitized build (`make test-asan`) aborts on a report, but a process the test killed anyway may
  // not have been noticed: any report fails the test file.
  const reports = [];
  for (const p of started) {
    const m = p.output.match(SANITIZER_REPORT);
    if (m) reports.push(`--- ${p.name}: ${m[0]}\n${p.output.slice(Math.max(0, m.index - 200), m.index + 4000)}`);
  }
  started.clear();
  if (reports.length) throw new Error(`sanitizer report(s) in process output:\n${reports.join('\n')}`);
}

const SANITIZER_REPORT = /(ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: UndefinedBehaviorSanitizer|runtime error:)[^\n]*/;

// ------------------------------------------------------------------ demo data

let demoCache;
// The demo set: [{id, prompt, outcomes: {model: {score, cost, response}}}].
export function demoRecords() {
  demoCache ??= readFileSync(DEMO_DATA, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  return demoCache;
}

// A demo record that has a recorded response for `modelName` (the index-th such record).
export function demoPrompt(modelName = GPT4, index = 0) {
  const rows = demoRecords().filter((r) => typeof r.outcomes?.[modelName]?.response === 'string' &&
                                           r.outcomes[modelName].response.length > 0);
  const r = rows[index % rows.length];
  return { id: r.id, prompt: r.prompt, response: r.outcomes[modelName].response, cost: r.outcomes[modelName].cost };
}

// ------------------------------------------------------------------ HTTP helpers

export function chatBody(modelName, prompt, extra = {}) {
  return { model: modelName, messages: [{ role: 'user', content: prompt }], ...extra };
}

// POST /v1/chat/completions. `body` is an object (JSON-encoded) or a string (sent as is).
// Returns {status, headers, text, json}; json is undefined when the body is not JSON.
export async function postChat(base, body, { headers = {}, signal } = {}) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export async function getJson(base, p, headers = {}) {
  const res = await fetch(`${base}${p}`, { headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// GET /v1/decisions/{id}, retried briefly (the record is written right after the response).
// With `auth:` a caller reads its own key's decisions only: pass that key's headers.
export async function getDecision(base, id, { timeoutMs = 5000, headers = {} } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await getJson(base, `/v1/decisions/${encodeURIComponent(id)}`, headers);
    if (r.status === 200) return r.json;
    if (Date.now() > deadline) throw new Error(`decision ${id}: HTTP ${r.status} ${r.text}`);
    await sleep(50);
  }
}

// A decision record as the store's SQLite file holds it (`switchboard decisions`), waiting until
// the gateway's writer has written it: for records no API key may read (a request refused for
// having no key) on a gateway without an admin listener.
export async function storedDecision(sqlite, id, { timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = runCli(['decisions', '--store', sqlite]);
    const found = r.status === 0 &&
      r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((d) => d.id === id);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`decision ${id} not in ${sqlite}: ${r.stderr}`);
    await sleep(100);
  }
}

// ------------------------------------------------------------------ SSE

// Parses an SSE byte stream into events. feed() takes text; each complete event's data (data:
// lines joined by '\n') is passed to onEvent(data).
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.data = null;
  }
  feed(text) {
    this.buf += text;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      let line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data !== null) this.onEvent(this.data);
        this.data = null;
      } else if (line.startsWith('data:')) {
        const v = line.slice(5).startsWith(' ') ? line.slice(6) : line.slice(5);
        this.data = this.data === null ? v : `${this.data}\n${v}`;
      } // comments, event:, id:, retry: are ignored
    }
  }
  // True when bytes of an unfinished event remain.
  get pending() { return this.buf.length > 0 || this.data !== null; }
}

// Reads a fetch Response's SSE body to its end. Returns {events: [{data, json, at}], reads,
// trailing} where `at` is performance.now() when the event arrived, `reads` the number of body
// reads that delivered bytes and `trailing` any unterminated bytes left at the end.
// onEvent(ev) is called as each event arrives.
export async function readSse(res, { onEvent } = {}) {
  const events = [];
  let reads = 0;
  const parser = new SseParser((data) => {
    let json;
    try { json = data === '[DONE]' ? undefined : JSON.parse(data); } catch { json = undefined; }
    const ev = { data, json, at: performance.now() };
    events.push(ev);
    onEvent?.(ev);
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    if (chunk.length) reads += 1;
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  parser.feed(decoder.decode());
  return { events, reads, trailing: parser.pending ? parser.buf : '' };
}

// Text assembled from the choices[0].delta.content of chat.completion.chunk events.
export function assembleContent(events) {
  return events.map((e) => e.json?.choices?.[0]?.delta?.content ?? '').join('');
}

// Streams a chat completion. Returns {status, headers, events, reads, text}.
export async function streamChat(base, body, { headers = {}, onEvent } = {}) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await res.text();
    return { status: res.status, headers: res.headers, events: [], reads: 0, text };
  }
  const { events, reads, trailing } = await readSse(res, { onEvent });
  return { status: res.status, headers: res.headers, events, reads, trailing, text: assembleContent(events) };
}

// ------------------------------------------------------------------ raw sockets

// Opens a TCP connection and resolves once connected. The returned socket records everything it
// receives in `socket.received`; `socket.whenClosed` resolves (with {at}) when the connection closes.
export function rawConnect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.received = '';
    socket.whenClosed = new Promise((res) => {
      socket.on('close', () => res({ at: performance.now() }));
    });
    socket.on('data', (d) => { socket.received += d.toString('latin1'); });
    socket.once('connect', () => { socket.off('error', reject); socket.on('error', () => {}); resolve(socket); });
    socket.once('error', reject);
  });
}

// Sends raw bytes and collects the reply until the peer closes the connection (or `timeoutMs`).
// Returns {text, status, closed}.
export async function rawExchange(port, bytes, { timeoutMs = 10000, endAfterWrite = false } = {}) {
  const s = await rawConnect(port);
  s.write(bytes);
  if (endAfterWrite) s.end();
  let closed = true;
  try {
    await withTimeout(s.whenClosed, timeoutMs, 'raw connection not closed');
  } catch {
    closed = false;
  }
  s.destroy();
  const m = s.received.match(/^HTTP\/1\.[01] (\d{3})/);
  return { text: s.received, status: m ? Number(m[1]) : undefined, closed };
}

// Resolves true if a TCP connect to the port is refused, false if it connects (or is reset, which
// happens to a connection caught in the backlog of a listener that is closing).
export function connectRefused(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e) => {
      if (e.code === 'ECONNREFUSED') resolve(true);
      else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') resolve(false);
      else reject(e);
    });
  });
}

// A port on 127.0.0.1 with nothing listening (bound once, then released).
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// ------------------------------------------------------------------ fake upstreams

function closeServer(srv) {
  servers.delete(srv);
  return new Promise((resolve) => {
    srv.closeAllConnections?.();
    srv.close(() => resolve());
  });
}

// A Node HTTP server standing in for an upstream. handler(req, res, body) with the body read as
// text. Every request is recorded in `requests` as {method, url, headers, body}. `host` is the
// address it listens on ('::1' for IPv6; `url` then has the address in brackets).
export async function fakeUpstream(handler, { host = '127.0.0.1' } = {}) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      Promise.resolve(handler(req, res, body)).catch((e) => {
        try { res.destroy(e); } catch { /* ignore */ }
      });
    });
  });
  servers.add(srv);
  await new Promise((r) => srv.listen(0, host, r));
  const { port } = srv.address();
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { server: srv, port, url: `http://${authority}`, requests, close: () => closeServer(srv) };
}

// OpenAI-shaped bodies for fake upstreams.
export function completionJson(modelName, text, usage = { prompt_tokens: 5, completion_tokens: 7 }) {
  return JSON.stringify({
    id: 'chatcmpl-fake', object: 'chat.completion', created: 1700000000, model: modelName,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  });
}

export function chunkEvent(modelName, content, finish = null) {
  return `data: ${JSON.stringify({
    id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1700000000, model: modelName,
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  })}\n\n`;
}

// Checks the OpenAI error shape; returns the error object.
export function expectErrorShape(assert, json, code) {
  assert.ok(json && typeof json === 'object', 'error body is JSON');
  assert.ok(json.error && typeof json.error === 'object', `error body has "error": ${JSON.stringify(json)}`);
  assert.equal(typeof json.error.message, 'string');
  assert.ok(json.error.message.length > 0, 'error message is not empty');
  assert.equal(typeof json.error.type, 'string');
  assert.ok('param' in json.error, 'error has a param key');
  if (code !== undefined) assert.equal(json.error.code, code);
  return json.error;
}

// Parses Prometheus text into [{name, labels: {...}, value}].
// Calls fn (sync or async) every 50 ms until it returns something truthy, which is returned; throws naming
// `what` (and fn's last error, if it threw) when `ms` pass first.
// Rewrites the gateway's config file through `edit(config)` and reloads it (SIGHUP), waiting for
// the log line of reload number `generation` (1 for the gateway's first).
export async function reloadConfig(gw, edit, generation) {
  const config = JSON.parse(readFileSync(gw.configPath, 'utf8'));
  edit(config);
  writeFileSync(gw.configPath, JSON.stringify(config, null, 2));
  gw.proc.child.kill('SIGHUP');
  await gw.proc.waitFor(new RegExp(`reload \\(sighup\\) #${generation}\\b`), 10000);
}

export async function eventually(fn, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    let error;
    const v = await Promise.resolve().then(fn).catch((e) => { error = e; });
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms${error ? `: ${error.message}` : ''}`);
    await sleep(50);
  }
}

// The sum of the samples of metric `name` on the gateway at `base` whose labels include `labels`.
export async function metricSum(base, name, labels = {}) {
  const text = (await getJson(base, '/metrics')).text;
  return parseMetrics(text).filter((x) => x.name === name &&
    Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
      }
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
