// The admin listener (docs/admin.md): a second listener with metrics, decision search and records,
// the running config with secrets masked, the live time series, bearer-key authentication; and the
// public listener no longer serving /metrics and /v1/decisions/{id} unless configured to.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, chatBody, postChat, getJson, demoPrompt, expectErrorShape,
  startProcess, tempDir, sleep, rawExchange, rawConnect, eventually, GPT4, MIXTRAL,
} from './lib/harness.mjs';
import { startAdminGateway, adminFetch } from './lib/admin.mjs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const KEY = 'adm-test-9f2c1e7d';
const PROVIDER_SECRET = 'sk-provider-secret-0123456789';

// Polls the admin decision search until `want(json)` holds (records reach SQLite within ~50 ms).
async function searchUntil(base, query, want, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await adminFetch(base, `/admin/decisions?${query}`, { key: KEY });
    assert.equal(r.status, 200, r.text);
    if (want(r.json) || Date.now() > deadline) return r.json;
    await sleep(50);
  }
}

describe('admin listener', () => {
  let gpt4, mixtral, gw;
  const ids = [];
  before(async () => {
    [gpt4, mixtral] = await Promise.all([
      startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }),
      startReplay({ model: MIXTRAL, inputPrice: 0.6, outputPrice: 0.6 }),
    ]);
    gw = await startAdminGateway({
      models: [
        model(GPT4, [{ url: gpt4.url, api_key_env: 'SB_TEST_PROVIDER_KEY' }]),
        model(MIXTRAL, mixtral.url, { price: { input_per_mtok: 0.6, output_per_mtok: 0.6 } }),
      ],
      routes: [
        { name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } },
        { name: 'best', policy: { type: 'static', model: GPT4 } },
      ],
      admin: { key_env: 'SB_TEST_ADMIN_KEY' },
      env: { SB_TEST_ADMIN_KEY: KEY, SB_TEST_PROVIDER_KEY: PROVIDER_SECRET },
    });
    for (const [route, i] of [['auto', 0], ['best', 1], ['auto', 2], ['best', 3], ['auto', 4]]) {
      const r = await postChat(gw.base, chatBody(route, demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200, r.text);
      ids.push(r.headers.get('x-switchboard-decision'));
    }
    const bad = await postChat(gw.base, chatBody('no-such-model', 'hi'));
    assert.equal(bad.status, 404);
    ids.push(bad.headers.get('x-switchboard-decision'));
  });
  after(stopAll);

  test('the public listener no longer serves /metrics or decision records', async () => {
    const m = await getJson(gw.base, '/metrics');
    assert.equal(m.status, 404);
    expectErrorShape(assert, m.json, 'not_found');
    const d = await getJson(gw.base, `/v1/decisions/${ids[0]}`);
    assert.equal(d.status, 404);
    expectErrorShape(assert, d.json, 'not_found');
    assert.equal((await getJson(gw.base, '/healthz')).status, 200, 'health stays public');
  });

  test('every admin endpoint needs the bearer key; a wrong or missing one is 401', async () => {
    for (const p of ['/metrics', '/admin/decisions', `/admin/decisions/${ids[0]}`, '/admin/config',
      '/admin/api/timeseries', '/admin']) {
      const none = await adminFetch(gw.adminBase, p);
      assert.equal(none.status, 401, p);
      expectErrorShape(assert, none.json, 'invalid_admin_key');
      assert.equal((await adminFetch(gw.adminBase, p, { key: `${KEY}x` })).status, 401, p);
      assert.equal((await adminFetch(gw.adminBase, p, { key: KEY.slice(0, -1) })).status, 401, p);
      assert.equal((await adminFetch(gw.adminBase, p, { key: KEY })).status, 200, p);
    }
    const reload = await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' });
    assert.equal(reload.status, 401);
    // Refused from the head, before the body is read (since session 30): a caller without the key
    // declaring a large body and sending none of it gets its 401 at once and holds none of the
    // listener's body budget (bodies were read first, then refused).
    const idle = await rawConnect(gw.adminPort);
    idle.write(`POST /admin/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
               'Content-Length: 900000\r\n\r\n{');
    await eventually(async () => /^HTTP\/1\.1 401 /.test(idle.received), 5000, 'the 401 before the body');
    assert.match(idle.received, /www-authenticate: Bearer/i);
    assert.match(idle.received, /invalid_admin_key/);
    idle.destroy();
    // The dashboard's static files carry no data: served without the key.
    const page = await adminFetch(gw.adminBase, '/dashboard/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    const lib = await adminFetch(gw.adminBase, '/dashboard/vendor/uPlot.iife.min.js');
    assert.equal(lib.status, 200);
    assert.match(lib.text, /uPlot/);
    assert.equal((await adminFetch(gw.adminBase, '/dashboard/nope.js')).status, 404);
    assert.equal((await adminFetch(gw.adminBase, '/admin/nothing', { key: KEY })).status, 404);
    assert.equal((await adminFetch(gw.adminBase, '/admin/config', { key: KEY, method: 'POST' })).status, 405);
  });

  test('GET /metrics on the admin listener has the request counters', async () => {
    const r = await adminFetch(gw.adminBase, '/metrics', { key: KEY });
    assert.equal(r.status, 200);
    assert.match(r.text, /switchboard_requests_total\{route="auto"/);
  });

  test('GET /admin/decisions searches by id, route, model, outcome, status and pages by cursor', async () => {
    const all = await searchUntil(gw.adminBase, 'limit=100', (j) => ids.every((id) => j.data.some((d) => d.id === id)));
    for (const id of ids) assert.ok(all.data.some((d) => d.id === id), `${id} listed`);
    const times = all.data.map((d) => d.id);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');

    const byId = await searchUntil(gw.adminBase, `id=${ids[1]}`, (j) => j.data.length === 1);
    assert.equal(byId.data.length, 1);
    assert.equal(byId.data[0].route, 'best');
    assert.equal(byId.data[0].model, GPT4);
    const prefix = await searchUntil(gw.adminBase, `id=${ids[1].slice(0, -4)}`, (j) => j.data.length >= 1);
    assert.ok(prefix.data.some((d) => d.id === ids[1]), 'an id prefix finds the record');

    const auto = await searchUntil(gw.adminBase, 'route=auto', () => true);
    assert.equal(auto.data.length, 3);
    assert.ok(auto.data.every((d) => d.route === 'auto' && d.model === MIXTRAL));
    const gpt = await searchUntil(gw.adminBase, `model=${encodeURIComponent(GPT4)}`, () => true);
    assert.equal(gpt.data.length, 2);
    const failed = await searchUntil(gw.adminBase, 'outcome=client_error', () => true);
    assert.deepEqual(failed.data.map((d) => d.id), [ids[5]]);
    const s404 = await searchUntil(gw.adminBase, 'status=404', () => true);
    assert.deepEqual(s404.data.map((d) => d.id), [ids[5]]);
    const none = await searchUntil(gw.adminBase, 'route=auto&model=nope', () => true);
    assert.equal(none.data.length, 0);
    const future = await searchUntil(gw.adminBase, `since=${Date.now() + 60000}`, () => true);
    assert.equal(future.data.length, 0);
    const past = await searchUntil(gw.adminBase, `until=${Date.now() - 3600000}`, () => true);
    assert.equal(past.data.length, 0);

    // Pages of 2 by cursor cover all six records exactly once.
    const seen = [];
    let cursor = '';
    for (let page = 0; page < 10; page += 1) {
      const r = await adminFetch(gw.adminBase, `/admin/decisions?limit=2${cursor ? `&before=${cursor}` : ''}`, { key: KEY });
      assert.equal(r.status, 200);
      assert.ok(r.json.data.length <= 2);
      seen.push(...r.json.data.map((d) => d.id));
      if (!r.json.next) break;
      cursor = r.json.next;
    }
    assert.deepEqual(seen, times);

    const bad = await adminFetch(gw.adminBase, '/admin/decisions?limit=abc', { key: KEY });
    assert.equal(bad.status, 400);
    expectErrorShape(assert, bad.json, 'invalid_request');
    assert.match(bad.json.error.message, /limit/);
    assert.equal((await adminFetch(gw.adminBase, '/admin/decisions?since=-5', { key: KEY })).status, 400);
    // 2^32 + 200 was cast to int: the status-200 records came back (since session 28: 400).
    const wrapped = await adminFetch(gw.adminBase, '/admin/decisions?status=4294967496', { key: KEY });
    assert.equal(wrapped.status, 400, wrapped.text);
    assert.match(wrapped.json.error.message, /status/);
    // Since session 30: a parameter not known (a typo) and a cursor that is no decision id are
    // refused by name; they were ignored (a whole default page, or a page from anywhere).
    const typo = await adminFetch(gw.adminBase, '/admin/decisions?limt=5', { key: KEY });
    assert.equal(typo.status, 400, typo.text);
    assert.match(typo.json.error.message, /unknown query parameter 'limt'/);
    const cursorless = await adminFetch(gw.adminBase, '/admin/decisions?before=garbage', { key: KEY });
    assert.equal(cursorless.status, 400, cursorless.text);
    assert.match(cursorless.json.error.message, /'before'/);
    // HEAD is answered as GET, without a body.
    const head = await fetch(`${gw.adminBase}/admin/decisions?limit=1`, { method: 'HEAD', headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    // The scheme's case does not matter; the time-series parameters are checked, not defaulted.
    const lower = await fetch(`${gw.adminBase}/admin/decisions?limit=1`, { headers: { authorization: `bearer ${KEY}` } });
    assert.equal(lower.status, 200);
    for (const q of ['seconds=-1', 'seconds=abc', 'step=0', 'seconds=999999']) {
      const ts = await adminFetch(gw.adminBase, `/admin/api/timeseries?${q}`, { key: KEY });
      assert.equal(ts.status, 400, `${q}: ${ts.text}`);
      assert.match(ts.json.error.message, /seconds from 1 to 86400/);
    }
    assert.equal((await adminFetch(gw.adminBase, '/admin/api/timeseries?seconds=60&step=5', { key: KEY })).status, 200);
  });

  test('GET /admin/decisions/{id} is the whole record; an unknown id is 404', async () => {
    const r = await adminFetch(gw.adminBase, `/admin/decisions/${ids[0]}`, { key: KEY });
    assert.equal(r.status, 200);
    assert.equal(r.json.id, ids[0]);
    assert.deepEqual(r.json.stages.map((s) => s.name).filter((n) => ['parse', 'decide', 'execute'].includes(n)),
      ['parse', 'decide', 'execute']);
    assert.ok(r.json.candidates.length >= 1);
    assert.ok(r.json.attempts.length >= 1);
    const missing = await adminFetch(gw.adminBase, '/admin/decisions/dec_nope', { key: KEY });
    assert.equal(missing.status, 404);
    expectErrorShape(assert, missing.json, 'decision_not_found');
  });

  test('GET /admin/config shows the running config with secrets masked', async () => {
    const r = await adminFetch(gw.adminBase, '/admin/config', { key: KEY });
    assert.equal(r.status, 200);
    assert.equal(r.json.source, gw.configPath);
    const cfg = r.json.config;
    assert.equal(cfg.models[0].replicas[0].api_key_env, 'SB_TEST_PROVIDER_KEY', 'variable names are shown');
    assert.equal(cfg.admin.key_env, 'SB_TEST_ADMIN_KEY');
    assert.deepEqual(cfg.routes.map((x) => x.name), ['auto', 'best']);
    assert.ok(!r.text.includes(PROVIDER_SECRET), 'no provider key value');
    assert.ok(!r.text.includes(KEY), 'no admin key value');
  });

  test('GET /admin/api/timeseries counts the requests, spend per model and route, and the model mix', async () => {
    const r = await adminFetch(gw.adminBase, '/admin/api/timeseries?seconds=120&step=10', { key: KEY });
    assert.equal(r.status, 200);
    const ts = r.json;
    assert.equal(ts.step_s, 10);
    assert.equal(ts.t.length, 12);
    assert.equal(ts.totals.requests, 6);
    assert.equal(ts.totals.errors, 1);
    assert.ok(ts.totals.p50_ms > 0);
    assert.ok(ts.cost_usd.by_model[GPT4].reduce((a, b) => a + b, 0) > 0);
    assert.ok(ts.cost_usd.by_route.auto.reduce((a, b) => a + b, 0) > 0);
    assert.deepEqual(ts.mix.auto, { [MIXTRAL]: 3 });
    assert.deepEqual(ts.mix.best, { [GPT4]: 2 });
    assert.equal(ts.requests_per_s.reduce((a, b) => a + b, 0) * 10, 6);
  });
});

describe('admin listener options', () => {
  after(stopAll);

  test('public_metrics and public_decisions keep the public endpoints', async () => {
    const backend = await startReplay({ model: GPT4 });
    const gw = await startAdminGateway({
      models: [model(GPT4, backend.url)],
      admin: { public_metrics: true, public_decisions: true },
    });
    const r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, 0).prompt));
    assert.equal(r.status, 200);
    assert.equal((await getJson(gw.base, '/metrics')).status, 200);
    const id = r.headers.get('x-switchboard-decision');
    let d;
    for (let i = 0; i < 50; i += 1) {
      d = await getJson(gw.base, `/v1/decisions/${id}`);
      if (d.status === 200) break;
      await sleep(50);
    }
    assert.equal(d.status, 200);
    // Without key_env, the admin API is open (it listens on loopback by default).
    assert.equal((await adminFetch(gw.adminBase, '/admin/config')).status, 200);
  });

  test('without a key, what a web page could send is refused: foreign Host (DNS rebinding), cross-site changes', async () => {
    const backend = await startReplay({ model: GPT4 });
    const gw = await startAdminGateway({
      models: [model(GPT4, backend.url)],
      admin: { allowed_hosts: ['admin.internal'] },
    });
    const send = async (method, target, headers) => {
      const r = await rawExchange(gw.adminPort, `${method} ${target} HTTP/1.1\r\n${headers}` +
        'Content-Length: 0\r\nConnection: close\r\n\r\n');
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      let json;
      try { json = JSON.parse(body); } catch { json = undefined; }
      return { status: r.status, json };
    };
    // What a page's fetch carries (every current browser sends Sec-Fetch-* on each request).
    const browser = 'Sec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n';
    const rebound = await send('GET', '/admin/config', `Host: attacker.example:9090\r\n${browser}Sec-Fetch-Site: same-origin\r\n`);
    assert.equal(rebound.status, 403);
    expectErrorShape(assert, rebound.json, 'host_not_allowed');
    // A tool (a scraper, curl) names the listener as it likes.
    assert.equal((await send('GET', '/admin/config', 'Host: switchboard-admin:9090\r\n')).status, 200);
    const local = `Host: 127.0.0.1:${gw.adminPort}\r\n${browser}`;
    assert.equal((await send('GET', '/admin/config', local)).status, 200);
    assert.equal((await send('GET', '/admin/config', `Host: admin.internal\r\n${browser}`)).status, 200);
    const csrf = await send('POST', '/admin/reload', `${local}Origin: http://attacker.example\r\n`);
    assert.equal(csrf.status, 403);
    expectErrorShape(assert, csrf.json, 'cross_site_request');
    const fetched = await send('POST', '/admin/reload', `${local}Sec-Fetch-Site: cross-site\r\n`);
    assert.equal(fetched.status, 403);
    // Its own page and tools still work.
    const own = await send('POST', '/admin/reload',
      `${local}Origin: http://127.0.0.1:${gw.adminPort}\r\nSec-Fetch-Site: same-origin\r\n`);
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.equal((await send('POST', '/admin/reload', `Host: 127.0.0.1:${gw.adminPort}\r\n`)).status, 200);
  });

  test('without an admin section the public listener serves /metrics as before', async () => {
    const backend = await startReplay({ model: GPT4 });
    const gw = await startGateway({ models: [model(GPT4, backend.url)] });
    assert.equal((await getJson(gw.base, '/metrics')).status, 200);
  });

  test('an unset admin key variable or a bad admin section stops start-up with its location', async () => {
    const dir = tempDir();
    const write = (name, text) => { const p = path.join(dir, name); writeFileSync(p, text); return p; };
    const base = `models:\n  - name: m\n    replicas: [{url: "http://127.0.0.1:1"}]\nstore: {sqlite: ${path.join(dir, 'd.db')}}\n`;
    const unset = write('a.yaml', `${base}admin:\n  listen: 127.0.0.1:0\n  key_env: SB_TEST_UNSET_ADMIN_KEY\n`);
    let p = startProcess('gateway-unset', ['serve', '--config', unset]);
    p.stopping = true;  // expected to exit
    await p.waitFor(/SB_TEST_UNSET_ADMIN_KEY, which is not set/);
    assert.equal((await p.exited).code, 2);
    const unknown = write('b.yaml', `${base}admin:\n  listen: 127.0.0.1:0\n  public_metric: true\n`);
    p = startProcess('gateway-bad', ['serve', '--config', unknown]);
    p.stopping = true;
    await p.waitFor(/b\.yaml:7:3: unknown key 'public_metric' in admin/);
    assert.equal((await p.exited).code, 2);
    const nolisten = write('c.yaml', `${base}admin: {key_env: X}\n`);
    p = startProcess('gateway-nolisten', ['serve', '--config', nolisten]);
    p.stopping = true;
    await p.waitFor(/c\.yaml:5:8: admin needs listen/);
    assert.equal((await p.exited).code, 2);
  });
});
