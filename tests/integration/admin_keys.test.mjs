// API key management on the admin listener (docs/keys.md, docs/admin.md): a key created through
// POST /admin/keys works on the public listener at once, is listed without its secret, its requests
// are found by key in the decision search and in the usage report, and DELETE revokes it at once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReplay, startGateway, model, stopAll, chatBody, postChat, sleep, MIXTRAL } from './lib/harness.mjs';
import { startAdminGateway, adminFetch } from './lib/admin.mjs';

const ADMIN = 'adm-keys-51c0ffee';

async function until(fn, want, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fn();
    if (want(r) || Date.now() > deadline) return r;
    await sleep(50);
  }
}

describe('admin key management', () => {
  let gw, secret;
  before(async () => {
    const mixtral = await startReplay({ model: MIXTRAL, inputPrice: 0.6, outputPrice: 0.6 });
    gw = await startAdminGateway({
      models: [model(MIXTRAL, mixtral.url, { price: { input_per_mtok: 0.6, output_per_mtok: 0.6 } })],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL } }],
      admin: { key_env: 'SB_TEST_ADMIN_KEY' },
      extraConfig: { auth: { required: true, reload_ms: 60000 } },
      env: { SB_TEST_ADMIN_KEY: ADMIN },
    });
  });
  after(stopAll);

  test('keys need the admin key, and malformed specs are refused with the field named', async () => {
    assert.equal((await adminFetch(gw.adminBase, '/admin/keys')).status, 401);
    const bad = await adminFetch(gw.adminBase, '/admin/keys', { key: ADMIN, method: 'POST', body: '{"team":"ml"}' });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error.message, /name/);
    const unknown = await adminFetch(gw.adminBase, '/admin/keys', {
      key: ADMIN, method: 'POST', body: '{"name":"x","colour":"red"}',
    });
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json.error.message, /colour/);
    // A repeated key, at any depth, is refused (the last value won: no budget, or no restriction).
    for (const body of ['{"name":"d1","limits":{"usd_per_day":5,"usd_per_day":0}}',
      '{"name":"d2","allow":{"routes":["auto"]},"allow":{}}']) {
      const dup = await adminFetch(gw.adminBase, '/admin/keys', { key: ADMIN, method: 'POST', body });
      assert.equal(dup.status, 400, dup.text);
      assert.match(dup.json.error.message, /duplicate key '(usd_per_day|allow)'/);
    }
    const huge = await adminFetch(gw.adminBase, '/admin/keys', {
      key: ADMIN, method: 'POST', body: '{"name":"h","limits":{"requests_per_minute":9223372036854775807}}',
    });
    assert.equal(huge.status, 400, huge.text);
    assert.match(huge.json.error.message, /at most/);
  });

  test('a created key works on the public listener at once and is listed without its secret', async () => {
    const created = await adminFetch(gw.adminBase, '/admin/keys', {
      key: ADMIN, method: 'POST',
      body: JSON.stringify({ name: 'ci-bot', team: 'ml', allow: { routes: ['auto'] }, limits: { requests_per_minute: 100 } }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.warnings, undefined, created.text);
    secret = created.json.secret;
    assert.match(secret, /^sk-sb-/);
    // Without a key: 401; with it: 200 (the gateway was told at once, its own reload is 60 s).
    assert.equal((await postChat(gw.base, chatBody('auto', 'hello'))).status, 401);
    const ok = await postChat(gw.base, chatBody('auto', 'hello'), { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.headers.get('x-ratelimit-limit-requests'));
    const list = await adminFetch(gw.adminBase, '/admin/keys', { key: ADMIN });
    assert.equal(list.status, 200, list.text);
    const k = list.json.data.find((x) => x.name === 'ci-bot');
    assert.ok(k, list.text);
    assert.equal(k.team, 'ml');
    assert.ok(!list.text.includes(secret), 'the listing must not carry the secret');
  });

  test('a key naming a route or model the running config lacks is created with a warning each', async () => {
    const created = await adminFetch(gw.adminBase, '/admin/keys', {
      key: ADMIN, method: 'POST',
      body: JSON.stringify({ name: 'typo', allow: { routes: ['atuo', '*'], models: ['gpt-5', MIXTRAL] } }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.warnings.length, 2, created.text);
    assert.match(created.json.warnings[0], /route 'atuo' is not in the configuration \(routes: auto\)/);
    assert.match(created.json.warnings[1], /model 'gpt-5' is not in the configuration/);
  });

  test('its requests are found by key in the decision search and the usage report', async () => {
    const found = await until(
      () => adminFetch(gw.adminBase, '/admin/decisions?key=ci-bot', { key: ADMIN }),
      (r) => r.json?.data?.length >= 1);
    assert.equal(found.status, 200, found.text);
    assert.ok(found.json.data.every((d) => d.key === 'ci-bot'), found.text);
    const none = await adminFetch(gw.adminBase, '/admin/decisions?key=nobody', { key: ADMIN });
    assert.equal(none.json.data.length, 0);
    const usage = await until(
      () => adminFetch(gw.adminBase, '/admin/usage?by=key', { key: ADMIN }),
      (r) => r.json?.data?.some((row) => row.group === 'ci-bot' && row.requests >= 1), 8000);
    assert.equal(usage.status, 200, usage.text);
    assert.ok(usage.json.data.some((row) => row.group === 'ci-bot' && row.requests >= 1), usage.text);
  });

  test('DELETE revokes the key at once; an unknown one is 404', async () => {
    const gone = await adminFetch(gw.adminBase, '/admin/keys/ci-bot', { key: ADMIN, method: 'DELETE' });
    assert.equal(gone.status, 200, gone.text);
    const r = await postChat(gw.base, chatBody('auto', 'hello'), { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error.code, 'invalid_api_key');
    const unknown = await adminFetch(gw.adminBase, '/admin/keys/nobody', { key: ADMIN, method: 'DELETE' });
    assert.equal(unknown.status, 404, unknown.text);
  });
});

describe('admin key management without auth', () => {
  let gw;
  before(async () => {
    const mixtral = await startReplay({ model: MIXTRAL });
    gw = await startAdminGateway({
      models: [model(MIXTRAL, mixtral.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL } }],
    });
  });
  after(stopAll);

  test('the key routes say that auth is not configured', async () => {
    const r = await adminFetch(gw.adminBase, '/admin/keys');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'auth_not_configured');
  });
});
