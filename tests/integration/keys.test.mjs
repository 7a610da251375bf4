// Virtual API keys (docs/keys.md) against a real gateway: keys made with `switchboard keys`, the
// 401/403/429 answers in OpenAI's shape with retry-after and x-ratelimit-* headers, budgets spent
// after each answer, revocation, decision records naming the key, per-key metrics, usage metering,
// and the official openai client seeing AuthenticationError / PermissionDeniedError / RateLimitError.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import {
  startGateway, model, stopAll, chatBody, postChat, getDecision, getJson, sleep, expectErrorShape,
  storedDecision, fakeUpstream, completionJson,
  parseMetrics, streamChat, eventually, SLOWDOWN,
} from './lib/harness.mjs';
import { echoUpstream, FAKE } from './lib/echo_upstream.mjs';
import { postJson } from './lib/post.mjs';
import { keysCli, createKey, bearer } from './lib/keys.mjs';

// The echo upstream reports 5 prompt + 7 completion tokens; at $10/$30 per million that is
// $0.00026 per request.
const COST = (5 * 10 + 7 * 30) / 1e6;

// A gateway on an echo upstream with one static route `auto` and `auth: {required}` (keys
// reloaded every 100 ms).
async function echoGatewayWithAuth(required) {
  const echo = await echoUpstream();
  return startGateway({
    models: [model(FAKE, echo.url)],
    routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
    extraConfig: { auth: { required, reload_ms: 100 } },
  });
}

describe('API keys', () => {
  let echo;
  let gw;
  let db;
  const secrets = {};
  before(async () => {
    echo = await echoUpstream();
    gw = await startGateway({
      models: [model(FAKE, echo.url)],
      routes: [
        { name: 'auto', policy: { type: 'static', model: FAKE } },
        { name: 'other', policy: { type: 'static', model: FAKE } },
      ],
      // The operator keeps the public /metrics (with the per-key series) and decisions next to an
      // admin listener; without that, the public /metrics leaves the per-key series out (below).
      extraConfig: {
        auth: { required: true, reload_ms: 100 },
        admin: { listen: '127.0.0.1:0', public_metrics: true, public_decisions: true },
      },
    });
    db = gw.sqlite;
    // Keys made by the CLI while the gateway runs: it picks them up within reload_ms.
    secrets.open = createKey(db, 'open', { team: 'platform' });
    secrets.routes = createKey(db, 'auto-only', { team: 'web', routes: 'auto' });
    secrets.cheap = createKey(db, 'cheap', { team: 'web', objectives: 'balanced,cost' });
    secrets.rpm = createKey(db, 'rpm3', { team: 'ml', rpm: 3 });
    secrets.tpm = createKey(db, 'tpm40', { team: 'ml', tpm: 40 });
    secrets.tpmChoices = createKey(db, 'tpm100', { team: 'ml', tpm: 100 });
    secrets.budget = createKey(db, 'budget', { team: 'ml', usdPerDay: COST * 1.5 });
    secrets.sdk = createKey(db, 'sdk', { team: 'ml', rpm: 1 });
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(secrets.sdk.secret) })).status !== 401);
  });
  after(stopAll);

  test('the secret is shown once: list shows neither it nor its hash', () => {
    assert.match(secrets.open.secret, /^sk-sb-[0-9a-f]{48}$/);
    const r = keysCli(['list', '--db', db, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const keys = JSON.parse(r.stdout);
    const open = keys.find((k) => k.name === 'open');
    assert.equal(open.team, 'platform');
    assert.equal(open.prefix, secrets.open.secret.slice(0, 12));
    assert.ok(!r.stdout.includes(secrets.open.secret), 'no secret in the listing');
    assert.equal(open.hash, undefined);
    const text = keysCli(['list', '--db', db]);
    assert.match(text.stdout, /auto-only\s+web/);
    const dup = keysCli(['create', '--db', db, '--name', 'open']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /exists/);
    // Only create makes a database: a list, usage or revoke of a path holding none says so and
    // leaves nothing there (an empty database was made, and "no keys" listed).
    const typo = `${db}.typo`;
    for (const args of [['list'], ['usage'], ['revoke', 'open']]) {
      const r = keysCli([args[0], '--db', typo, ...args.slice(1)]);
      assert.notEqual(r.status, 0, args[0]);
      assert.match(r.stderr, /no key database at .*\.typo/);
    }
    assert.ok(!existsSync(typo));
  });

  test('create --config warns about routes and models the config lacks, and creates the key', () => {
    const r = keysCli(['create', '--config', gw.configPath, '--name', 'typo', '--routes', 'auto,atuo',
      '--models', 'gpt-5']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: route 'atuo' is not in the configuration \(routes: auto, other\)/);
    assert.match(r.stderr, /warning: model 'gpt-5' is not in the configuration/);
    assert.doesNotMatch(r.stderr, /route 'auto' /);
    assert.match(r.stdout, /created key 'typo'/);
    assert.equal(keysCli(['revoke', '--db', db, 'typo']).status, 0);
  });

  test('no key, or a malformed body without a key: 401 invalid_api_key, recorded', async () => {
    const r = await postChat(gw.base, chatBody('auto', 'hello'));
    assert.equal(r.status, 401);
    const e = expectErrorShape(assert, r.json, 'invalid_api_key');
    assert.equal(e.type, 'authentication_error');
    assert.match(e.message, /missing API key/);
    // No key may read a key-less request's record (docs/keys.md): it is in the store.
    const id = r.headers.get('x-switchboard-decision');
    const read = await getJson(gw.base, `/v1/decisions/${id}`);
    assert.equal(read.status, 401, 'reading records needs a key too');
    assert.equal((await getJson(gw.base, `/v1/decisions/${id}`, bearer(secrets.open.secret))).status, 404);
    // The routes' budgets and spend too (they were shown to anyone, since session 31 not).
    const capacity = await getJson(gw.base, '/v1/capacity');
    assert.equal(capacity.status, 401);
    expectErrorShape(assert, capacity.json, 'invalid_api_key');
    assert.equal((await getJson(gw.base, '/v1/capacity', bearer(secrets.open.secret))).status, 200);
    const d = await storedDecision(db, id);
    assert.equal(d.status, 401);
    assert.equal(d.outcome, 'unauthorized');
    assert.equal(d.key, null);
    assert.deepEqual(d.stages.map((s) => `${s.name}:${s.outcome}`), ['auth:error', 'record:next']);
    // Auth runs before the body is parsed: garbage gets 401, not 400.
    const garbage = await postChat(gw.base, '{not json');
    assert.equal(garbage.status, 401);
    // With a key, the same garbage is a 400.
    const bad = await postChat(gw.base, '{not json', { headers: bearer(secrets.open.secret) });
    assert.equal(bad.status, 400);
  });

  test('unknown key and a key of the wrong scheme: 401', async () => {
    for (const headers of [{ authorization: 'Bearer sk-sb-0000' }, { authorization: `Basic ${secrets.open.secret}` },
      bearer(secrets.open.key.id)]) {
      const r = await postChat(gw.base, chatBody('auto', 'hello'), { headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.match(expectErrorShape(assert, r.json, 'invalid_api_key').message, /API key/);
    }
  });

  test('a valid key is served; the record names the key and its team', async () => {
    const r = await postChat(gw.base, chatBody('auto', 'hello'), { headers: bearer(secrets.open.secret) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'answer to: hello');
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), null, 'no limits, no headers');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), { headers: bearer(secrets.open.secret) });
    assert.deepEqual(d.key, { name: 'open', team: 'platform' });
    assert.deepEqual(d.stages.map((s) => s.name),
      ['auth', 'parse', 'limits', 'signals', 'decide', 'execute', 'record']);
    assert.ok(!JSON.stringify(d).includes(secrets.open.secret), 'the secret is not recorded');
  });

  test('routes and models the key may not name: 403 model_not_allowed', async () => {
    const h = { headers: bearer(secrets.routes.secret) };
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'), h)).status, 200);
    for (const name of ['other', FAKE]) {
      const r = await postChat(gw.base, chatBody(name, 'x'), h);
      assert.equal(r.status, 403, name);
      const e = expectErrorShape(assert, r.json, 'model_not_allowed');
      assert.match(e.message, new RegExp(`'${name}'`));
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), h);
      assert.equal(d.outcome, 'forbidden');
      assert.deepEqual(d.key, { name: 'auto-only', team: 'web' });
    }
    // count_tokens too, in Anthropic's shape; no key or an unknown one where keys are required: 401.
    const count = (name, headers) => postJson(gw.base, '/v1/messages/count_tokens',
      { model: name, messages: [{ role: 'user', content: 'x' }] }, headers);
    assert.equal((await count('auto', bearer(secrets.routes.secret))).status, 200);
    const refused = await count(FAKE, bearer(secrets.routes.secret));
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.type, 'permission_error');
    assert.match(refused.json.error.message, new RegExp(`may not use model '${FAKE}'`));
    for (const headers of [{}, { 'x-api-key': 'sk-sb-0000' }])
      assert.equal((await count('auto', headers)).json.error.type, 'authentication_error');
  });

  test('objectives the key may not ask for: 403 objective_not_allowed', async () => {
    const ok = await postChat(gw.base, chatBody('auto', 'x'),
      { headers: { ...bearer(secrets.cheap.secret), 'x-switchboard-objective': 'cost' } });
    assert.equal(ok.status, 200, ok.text);
    for (const extra of [{ 'x-switchboard-objective': 'quality' }, { 'x-switchboard-lambda': '100' },
      { 'x-switchboard-max-cost': '1' }]) {
      const r = await postChat(gw.base, chatBody('auto', 'x'), { headers: { ...bearer(secrets.cheap.secret), ...extra } });
      assert.equal(r.status, 403, JSON.stringify(extra));
      assert.match(expectErrorShape(assert, r.json, 'objective_not_allowed').message, new RegExp(Object.keys(extra)[0]));
    }
    // Another key may.
    const open = await postChat(gw.base, chatBody('auto', 'x'),
      { headers: { ...bearer(secrets.open.secret), 'x-switchboard-objective': 'quality' } });
    assert.equal(open.status, 200);
  });

  test('requests per minute: 429 rate_limit_exceeded with retry-after and x-ratelimit-* headers', async () => {
    const h = { headers: bearer(secrets.rpm.secret) };
    for (let i = 0; i < 3; i++) {
      const r = await postChat(gw.base, chatBody('auto', `q${i}`), h);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
      assert.equal(r.headers.get('x-ratelimit-remaining-requests'), String(2 - i));
      assert.match(r.headers.get('x-ratelimit-reset-requests'), /^\d+(ms|s|m\d+s)$/);
    }
    const n0 = echo.requests.length;
    const r = await postChat(gw.base, chatBody('auto', 'one too many'), h);
    assert.equal(r.status, 429);
    const e = expectErrorShape(assert, r.json, 'rate_limit_exceeded');
    assert.equal(e.type, 'rate_limit_error');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 120, `retry-after ${retry}`);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.ok(r.headers.get('x-ratelimit-reset-requests'));
    assert.equal(echo.requests.length, n0, 'the refused request never reached a model');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), h);
    assert.equal(d.outcome, 'rate_limited');
    assert.equal(d.error.code, 'rate_limit_exceeded');
    assert.deepEqual(d.key, { name: 'rpm3', team: 'ml' });
    // The limit is the key's, not the gateway's.
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(secrets.open.secret) })).status, 200);
  });

  test('tokens per minute count the estimated prompt up front', async () => {
    const h = { headers: bearer(secrets.tpm.secret) };
    const small = await postChat(gw.base, chatBody('auto', 'short'), h);
    assert.equal(small.status, 200, small.text);
    assert.equal(small.headers.get('x-ratelimit-limit-tokens'), '40');
    const remaining = Number(small.headers.get('x-ratelimit-remaining-tokens'));
    assert.ok(remaining > 0 && remaining < 40, `remaining ${remaining}`);
    const long = await postChat(gw.base, chatBody('auto', 'word '.repeat(400)), h);
    assert.equal(long.status, 429);
    assert.match(expectErrorShape(assert, long.json, 'rate_limit_exceeded').message, /tokens per minute/);
    assert.equal(long.headers.get('x-ratelimit-limit-tokens'), '40');
  });

  test('tokens per minute reserve max_tokens for each of the n choices; a bad n is 400', async () => {
    const h = { headers: bearer(secrets.tpmChoices.secret) };
    const four = await postChat(gw.base, chatBody('auto', 'short', { max_tokens: 30, n: 4 }), h);
    assert.equal(four.status, 429, four.text);
    assert.match(expectErrorShape(assert, four.json, 'rate_limit_exceeded').message, /tokens per minute/);
    const one = await postChat(gw.base, chatBody('auto', 'short', { max_tokens: 30, n: 1 }), h);
    assert.equal(one.status, 200, one.text);
    for (const n of [0, 129, 1.5, '2']) {
      const bad = await postChat(gw.base, chatBody('auto', 'short', { n }), h);
      assert.equal(bad.status, 400, `n=${n}: ${bad.text}`);
      assert.match(expectErrorShape(assert, bad.json, 'invalid_request').message, /'n' must be an integer between 1 and 128/);
    }
  });

  test('a daily budget is spent after each answer; then 429 budget_exceeded until 00:00 UTC', async () => {
    const h = { headers: bearer(secrets.budget.secret) };
    // $0.00026 per answer against $0.00039: the second is still admitted (spent 0.00026 < budget).
    assert.equal((await postChat(gw.base, chatBody('auto', 'one'), h)).status, 200);
    assert.equal((await postChat(gw.base, chatBody('auto', 'two'), h)).status, 200);
    await sleep(100); // the cost is settled right after the answer is sent
    const r = await postChat(gw.base, chatBody('auto', 'three'), h);
    assert.equal(r.status, 429, r.text);
    const e = expectErrorShape(assert, r.json, 'budget_exceeded');
    assert.equal(e.type, 'rate_limit_error');
    assert.match(e.message, /daily budget/);
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Math.abs(retry - (midnight - Date.now()) / 1000) < 5, `retry-after ${retry}`);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), h);
    assert.equal(d.outcome, 'budget_exceeded');
    assert.equal(r.headers.get('x-should-retry'), 'false', 'a spent budget is final until its period ends');
    // The official client obeys it: one request, none of its own retries (it would retry a 429
    // twice otherwise).
    const refusals = async () => parseMetrics((await getJson(gw.base, '/metrics')).text)
      .find((s) => s.name === 'switchboard_auth_refusals_total' && s.labels.code === 'budget_exceeded')?.value ?? 0;
    const before = await refusals();
    const sdk = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: secrets.budget.secret, maxRetries: 2, timeout: 10000 });
    await assert.rejects(sdk.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'four' }] }),
      (err) => err instanceof OpenAI.RateLimitError && err.code === 'budget_exceeded');
    assert.equal(await refusals(), before + 1, 'not retried');
  });

  test('a revoked key is refused within reload_ms', async () => {
    const k = createKey(db, 'short-lived', { team: 'tmp' });
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(k.secret) })).status === 200);
    const rv = keysCli(['revoke', '--db', db, 'short-lived']);
    assert.equal(rv.status, 0, rv.stderr);
    assert.match(rv.stdout, /revoked key 'short-lived'/);
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(k.secret) })).status === 401);
    assert.notEqual(keysCli(['revoke', '--db', db, 'short-lived']).status, 0);
  });

  test('the openai client sees AuthenticationError, PermissionDeniedError and RateLimitError', async () => {
    const client = (apiKey) => new OpenAI({ baseURL: `${gw.base}/v1`, apiKey, maxRetries: 0, timeout: 10000 });
    const ask = (c, m = 'auto') => c.chat.completions.create({ model: m, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(ask(client('sk-sb-not-a-key')), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, err.constructor.name);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
    await assert.rejects(ask(client(secrets.routes.secret), 'other'), (err) => {
      assert.ok(err instanceof OpenAI.PermissionDeniedError, err.constructor.name);
      assert.equal(err.code, 'model_not_allowed');
      return true;
    });
    const sdk = client(secrets.sdk.secret);
    // The key's one request per minute may have gone on the set-up probe; use what is left.
    let limited;
    for (let i = 0; i < 2 && !limited; i++) {
      try {
        const ok = await ask(sdk);
        assert.equal(ok.choices[0].message.content, 'answer to: hi');
      } catch (err) {
        limited = err;
      }
    }
    assert.ok(limited instanceof OpenAI.RateLimitError, limited?.constructor.name);
    assert.equal(limited.status, 429);
    assert.equal(limited.code, 'rate_limit_exceeded');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  test('streams carry the headers; POST /v1/route checks permissions but counts nothing', async () => {
    const k = createKey(db, 'streamer', { team: 'web', routes: 'auto', rpm: 2 });
    await eventually(async () => (await fetch(`${gw.base}/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(k.secret) },
      body: JSON.stringify(chatBody('auto', 'x')),
    })).status === 200);
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${gw.base}/v1/route`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...bearer(k.secret) },
        body: JSON.stringify(chatBody('auto', 'x')),
      });
      assert.equal(r.status, 200);
    }
    const forbidden = await fetch(`${gw.base}/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(k.secret) },
      body: JSON.stringify(chatBody('other', 'x')),
    });
    assert.equal(forbidden.status, 403);
    assert.equal((await fetch(`${gw.base}/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody('auto', 'x')),
    })).status, 401);
    const res = await streamChat(gw.base, chatBody('auto', 'stream me'), { headers: bearer(k.secret) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    assert.equal(res.headers.get('x-ratelimit-limit-requests'), '2');
    assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '1', 'the explanations were not counted');
    assert.equal(res.text, 'answer to: stream me');
    assert.equal(res.events.at(-1).data, '[DONE]');
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'), { headers: bearer(k.secret) });
    assert.deepEqual(d.key, { name: 'streamer', team: 'web' });
    assert.equal(d.stream, true);
  });

  test('per-key metrics name configured keys only', async () => {
    const text = (await getJson(gw.base, '/metrics')).text;
    const m = parseMetrics(text);
    const series = m.filter((s) => s.name === 'switchboard_key_requests_total');
    const ok = series.find((s) => s.labels.key === 'open' && s.labels.outcome === 'ok');
    assert.ok(ok && ok.value >= 2, text);
    assert.equal(ok.labels.team, 'platform');
    assert.ok(series.find((s) => s.labels.key === 'rpm3' && s.labels.outcome === 'rate_limited'));
    assert.ok(series.every((s) => !s.labels.key.startsWith('sk-')), 'no secrets as labels');
    const cost = m.find((s) => s.name === 'switchboard_key_cost_usd_total' && s.labels.key === 'budget');
    assert.ok(Math.abs(cost.value - 2 * COST) < 1e-9, `${cost?.value}`);
    const refusals = m.find((s) => s.name === 'switchboard_auth_refusals_total' && s.labels.code === 'invalid_api_key');
    assert.ok(refusals.value >= 4);
  });

  test('without an admin listener the public /metrics leaves the per-key series out', async () => {
    const own = await echoGatewayWithAuth(true);
    const k = createKey(own.sqlite, 'tenant-a', { team: 'secret-team' });
    await eventually(async () => (await postChat(own.base, chatBody('auto', 'hi'), { headers: bearer(k.secret) })).status === 200);
    const text = (await getJson(own.base, '/metrics')).text;
    assert.doesNotMatch(text, /^(# HELP |# TYPE )?switchboard_key_|tenant-a|secret-team/m);
    assert.match(text, /# switchboard_key_\* \(per API key\) are served on the admin listener only/);
    assert.match(text, /switchboard_requests_total/);  // the rest is there
    await own.stop();
  });

  test('usage is metered by key, team, route and model in SQLite', async () => {
    const usage = await eventually(() => {
      const r = keysCli(['usage', '--db', db, '--by', 'key', '--json']);
      const rows = r.status === 0 ? JSON.parse(r.stdout) : [];
      const b = rows.find((x) => x.key === 'budget');
      return b && b.requests === 4 ? rows : undefined;
    });
    const b = usage.find((x) => x.key === 'budget');
    assert.equal(b.refused, 2, 'the refusal and the SDK\'s one request (not retried)');
    assert.equal(b.prompt_tokens, 10);
    assert.equal(b.completion_tokens, 14);
    assert.ok(Math.abs(b.cost_usd - 2 * COST) < 1e-9);
    const byTeam = JSON.parse(keysCli(['usage', '--db', db, '--by', 'team', '--json']).stdout);
    assert.ok(byTeam.find((x) => x.team === 'ml').requests >= 8);
    const byModel = JSON.parse(keysCli(['usage', '--db', db, '--by', 'model', '--json']).stdout);
    assert.ok(byModel.find((x) => x.model === FAKE).cost_usd > 0);
    const byRoute = JSON.parse(keysCli(['usage', '--db', db, '--by', 'route', '--json']).stdout);
    assert.ok(byRoute.find((x) => x.route === 'other'), 'refused requests are metered under their route');
    // A name the client made up is metered as "other", not as a route of its own (one row per
    // invented name would grow the table without bound).
    const openRequests = () => JSON.parse(keysCli(['usage', '--db', db, '--by', 'key', '--json']).stdout)
      .find((x) => x.key === 'open')?.requests ?? 0;
    const before = openRequests();
    const invented = await postChat(gw.base, chatBody('made-up-model-7f3a', 'hi'), { headers: bearer(secrets.open.secret) });
    assert.equal(invented.status, 404);
    await eventually(() => openRequests() === before + 1);
    const routes = JSON.parse(keysCli(['usage', '--db', db, '--by', 'route', '--json']).stdout);
    assert.equal(routes.find((x) => x.route === 'made-up-model-7f3a'), undefined);
  });

  test('a restart does not renew a budget: spend is read back from the usage table', async () => {
    // Last in this suite: the gateway restarts (same keys database, no Redis).
    // A key that spends its budget, is revoked and is re-created under the same name: the new key
    // (a new id) starts from zero, before and after the restart; spend is restored by key id.
    const first = createKey(db, 'reborn', { team: 'ml', usdPerDay: COST * 0.5 });
    const h = { headers: bearer(first.secret) };
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'x'), h)).status === 200);
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'x'), h)).status === 429);
    assert.equal(keysCli(['revoke', '--db', db, 'reborn']).status, 0);
    const second = createKey(db, 'reborn', { team: 'ml', usdPerDay: COST * 0.5 });
    const config = gw.config;
    await gw.stop('SIGTERM');
    gw = await startGateway({
      models: config.models, routes: config.routes, sqlite: db, extraConfig: { auth: config.auth },
    });
    const r = await postChat(gw.base, chatBody('auto', 'after restart'), { headers: bearer(secrets.budget.secret) });
    assert.equal(r.status, 429, r.text);
    expectErrorShape(assert, r.json, 'budget_exceeded');
    const open = await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(secrets.open.secret) });
    assert.equal(open.status, 200, 'keys without budgets are unaffected');
    const reborn = await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(second.secret) });
    assert.equal(reborn.status, 200, `a re-created key does not inherit the revoked key's spend: ${reborn.text}`);
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'), h)).status, 401, 'the revoked key stays refused');
  });
});

describe('auth.required: false keeps the open behaviour', () => {
  let gw;
  let secret;
  before(async () => {
    gw = await echoGatewayWithAuth(false);
    secret = createKey(gw.sqlite, 'limited', { rpm: 1 }).secret;
  });
  after(stopAll);

  test('no key or an unknown key is served; a known key still gets its limits', async () => {
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'))).status, 200);
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer('sk-anything') })).status, 200);
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'x'), { headers: bearer(secret) })).status === 429);
    assert.equal((await postChat(gw.base, chatBody('auto', 'x'))).status, 200);
  });
});

describe('auth.required: false: a caller without a key sees key-less decisions only', () => {
  let gw;
  let alice;
  before(async () => {
    gw = await echoGatewayWithAuth(false);
    alice = createKey(gw.sqlite, 'alice').secret;
    // Until the gateway has loaded the key, alice is served (and reads) as anonymous.
    await eventually(async () => {
      const r = await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(alice) });
      const read = await getJson(gw.base, `/v1/decisions/${r.headers.get('x-switchboard-decision')}`, bearer(alice));
      return read.status === 200 && read.json.key?.name === 'alice';
    });
  });
  after(stopAll);

  const rate = (base, id, headers) => fetch(`${base}/v1/feedback`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ decision_id: id, score: 1 }),
  }).then(async (res) => ({ status: res.status, json: await res.json() }));

  test('a keyed decision is 404 to no key and to an unknown key; its owner reads and rates it', async () => {
    const r = await postChat(gw.base, chatBody('auto', 'mine'), { headers: bearer(alice) });
    assert.equal(r.status, 200, r.text);
    const id = r.headers.get('x-switchboard-decision');
    const path = `/v1/decisions/${id}`;
    const owners = await getDecision(gw.base, id, { headers: bearer(alice) });
    assert.equal(owners.key.name, 'alice');
    for (const headers of [{}, bearer('sk-sb-unknown')]) {
      const read = await getJson(gw.base, path, headers);
      assert.equal(read.status, 404, 'not the anonymous caller\'s decision');
      expectErrorShape(assert, read.json, 'decision_not_found');
      const rated = await rate(gw.base, id, headers);
      assert.equal(rated.status, 404, JSON.stringify(rated.json));
      expectErrorShape(assert, rated.json, 'decision_not_found');
    }
    assert.equal((await rate(gw.base, id, bearer(alice))).status, 200);
  });

  test('a key-less decision is read and rated without a key; a key does not see it', async () => {
    const r = await postChat(gw.base, chatBody('auto', 'anyone\'s'));
    assert.equal(r.status, 200, r.text);
    const id = r.headers.get('x-switchboard-decision');
    const d = await getDecision(gw.base, id);
    assert.equal(d.key, null);
    assert.equal((await getJson(gw.base, `/v1/decisions/${id}`, bearer(alice))).status, 404);
    assert.equal((await rate(gw.base, id, bearer(alice))).status, 404);
    assert.equal((await rate(gw.base, id, {})).status, 200);
  });
});

describe('without an auth section nothing changes', () => {
  let gw;
  before(async () => {
    const echo = await echoUpstream();
    gw = await startGateway({ models: [model(FAKE, echo.url)] });
  });
  after(stopAll);

  test('no auth or limits stage runs', async () => {
    const r = await postChat(gw.base, chatBody(FAKE, 'x'), { headers: bearer('sk-sb-whatever') });
    assert.equal(r.status, 200);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.ok(!d.stages.some((s) => s.name === 'auth' || s.name === 'limits'));
    assert.equal(d.key, null);
  });
});

void path;

// POST /v1/feedback with keys in use: a key rates only its own decisions; no key is a 401.
describe('feedback under API keys', () => {
  let gw;
  let alice;
  let bob;
  before(async () => {
    gw = await echoGatewayWithAuth(true);
    alice = createKey(gw.sqlite, 'alice').secret;
    bob = createKey(gw.sqlite, 'bob').secret;
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(bob) })).status === 200);
  });
  after(stopAll);

  test('another key\'s decision is 404, no key 401, the owner 200', async () => {
    const r = await postChat(gw.base, chatBody('auto', 'rate me'), { headers: bearer(alice) });
    assert.equal(r.status, 200, r.text);
    const id = r.headers.get('x-switchboard-decision');
    await getDecision(gw.base, id, { headers: bearer(alice) });  // written
    const send = (headers) => fetch(`${gw.base}/v1/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ decision_id: id, score: 0 }),
    }).then(async (res) => ({ status: res.status, json: await res.json() }));
    const anonymous = await send({});
    assert.equal(anonymous.status, 401);
    expectErrorShape(assert, anonymous.json, 'invalid_api_key');
    const other = await send(bearer(bob));
    assert.equal(other.status, 404, 'not yours: as if unknown');
    expectErrorShape(assert, other.json, 'decision_not_found');
    const owner = await send(bearer(alice));
    assert.equal(owner.status, 200, JSON.stringify(owner.json));
    // Its record likewise (GET /v1/decisions/{id} on the public listener).
    const path = `/v1/decisions/${id}`;
    assert.equal((await getJson(gw.base, path)).status, 401);
    const bobs = await getJson(gw.base, path, bearer(bob));
    assert.equal(bobs.status, 404);
    expectErrorShape(assert, bobs.json, 'decision_not_found');
    const alices = await getJson(gw.base, path, bearer(alice));
    assert.equal(alices.status, 200);
    assert.equal(alices.json.key.name, 'alice');
  });

  test('a key re-created under a revoked key\'s name does not see or rate the old key\'s decisions', async () => {
    const old = createKey(gw.sqlite, 'carol').secret;
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(old) })).status === 200);
    const r = await postChat(gw.base, chatBody('auto', 'the first carol'), { headers: bearer(old) });
    const id = r.headers.get('x-switchboard-decision');
    await getDecision(gw.base, id, { headers: bearer(old) });  // recorded
    assert.equal(keysCli(['revoke', '--db', gw.sqlite, 'carol']).status, 0);
    await sleep(5);  // the new key is created strictly after the first one's decisions
    const renewed = createKey(gw.sqlite, 'carol').secret;
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(renewed) })).status === 200);
    const read = await getJson(gw.base, `/v1/decisions/${id}`, bearer(renewed));
    assert.equal(read.status, 404, read.text);
    expectErrorShape(assert, read.json, 'decision_not_found');
    const rated = await fetch(`${gw.base}/v1/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(renewed) },
      body: JSON.stringify({ decision_id: id, score: 0 }),
    });
    assert.equal(rated.status, 404);
    // Its own decisions it does see.
    const own = await postChat(gw.base, chatBody('auto', 'the second carol'), { headers: bearer(renewed) });
    const mine = await getDecision(gw.base, own.headers.get('x-switchboard-decision'), { headers: bearer(renewed) });
    assert.equal(mine.key.name, 'carol');
  });
});

// A budget counts the estimated spend of requests still running (access/limiter.h): a second
// request while the first is being answered is refused when the first one's estimate (its
// max_tokens at the model's price) already fills the budget; the actual cost replaces the
// estimate once answered.
describe('budgets and requests running at once', () => {
  let gw;
  let secret;
  let arrived;
  let release = () => {};
  before(async () => {
    // Holds the answer to a request with max_tokens until the test releases it.
    const upstream = await fakeUpstream(async (req, res, body) => {
      if (JSON.parse(body).max_tokens) {
        const held = new Promise((resolve) => { release = resolve; });
        arrived?.();
        await held;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(FAKE, 'a held answer'));
    });
    gw = await startGateway({
      models: [model(FAKE, upstream.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
      extraConfig: { auth: { required: true, reload_ms: 100 } },
    });
    secret = createKey(gw.sqlite, 'budgeted', { usdPerDay: COST * 1.5 }).secret;
  });
  after(stopAll);

  test('an in-flight estimate fills the budget; the actual cost replaces it once answered', async () => {
    const upstreamGot = () => new Promise((resolve) => { arrived = resolve; });
    // Until the key is loaded the first request is a 401; it is retried.
    let first;
    await eventually(async () => {
      const got = upstreamGot();
      first = postChat(gw.base, chatBody('auto', 'long answer please', { max_tokens: 100 }), { headers: bearer(secret) });
      const early = await Promise.race([got.then(() => null), first]);
      if (early) return false;  // answered without reaching the upstream: not loaded yet
      return true;
    });
    // 100 tokens at $30 per million reserve $0.003: more than the budget of 1.5 answers.
    const second = await postChat(gw.base, chatBody('auto', 'me too'), { headers: bearer(secret) });
    assert.equal(second.status, 429, second.text);
    expectErrorShape(assert, second.json, 'budget_exceeded');
    release();
    assert.equal((await first).status, 200);
    await sleep(100);  // settled right after the answer was sent
    // The first answer cost COST (5 + 7 tokens): below the budget, so one more is admitted...
    const third = await postChat(gw.base, chatBody('auto', 'and now?'), { headers: bearer(secret) });
    assert.equal(third.status, 200, third.text);
    await sleep(100);
    // ...and that one spends the budget.
    const fourth = await postChat(gw.base, chatBody('auto', 'again'), { headers: bearer(secret) });
    assert.equal(fourth.status, 429);
    expectErrorShape(assert, fourth.json, 'budget_exceeded');
  });
});

// The budget reservation starts at admission (pipeline/spend_estimate.h): a request held between
// admission and routing — here by its route's embedding call — already counts its most expensive
// possible cost, so a second request of the key is refused instead of passing unseen.
describe('budgets: a request not yet routed already counts', () => {
  let gw;
  let secret;
  let embeddingArrived;
  let releaseEmbedding = () => {};
  let holdNext = false;
  before(async () => {
    const upstream = await fakeUpstream(async (req, res, body) => {
      if (req.url === '/v1/embeddings') {
        if (holdNext) {
          holdNext = false;
          const held = new Promise((resolve) => { releaseEmbedding = resolve; });
          embeddingArrived?.();
          await held;
        }
        const inputs = [].concat(JSON.parse(body).input);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          object: 'list', model: 'fake-embed', usage: { prompt_tokens: 1, total_tokens: 1 },
          data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [1, 2, 3, 4] })),
        }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(FAKE, 'an answer'));
    });
    gw = await startGateway({
      models: [model(FAKE, upstream.url)],
      routes: [{ name: 'emb', signals: ['embedding'], policy: { type: 'static', model: FAKE } }],
      extraConfig: {
        auth: { required: true, reload_ms: 100 },
        signals: { embedding: { provider: 'http', url: upstream.url, model: 'fake-embed', timeout_ms: 10000 } },
      },
    });
    secret = createKey(gw.sqlite, 'budgeted', { usdPerDay: COST * 1.5 }).secret;
    await eventually(async () =>
      (await postChat(gw.base, chatBody('emb', 'warm up'), { headers: bearer(secret) })).status !== 401);
  });
  after(stopAll);

  test('while the first waits for its embedding, its admission estimate fills the budget', async () => {
    // The warm-up spent COST of the 1.5 × COST budget. The next request (max_tokens 100: up to
    // $0.003 at $30 per million) is admitted and held at its route's embedding call.
    holdNext = true;
    const arrived = new Promise((resolve) => { embeddingArrived = resolve; });
    const first = postChat(gw.base, chatBody('emb', 'held before routing', { max_tokens: 100 }), { headers: bearer(secret) });
    await arrived;
    const second = await postChat(gw.base, chatBody('emb', 'me too'), { headers: bearer(secret) });
    assert.equal(second.status, 429, second.text);
    expectErrorShape(assert, second.json, 'budget_exceeded');
    releaseEmbedding();
    const done = await first;
    assert.equal(done.status, 200, done.text);
    const d = await getDecision(gw.base, done.headers.get('x-switchboard-decision'), { headers: bearer(secret) });
    assert.equal(d.outcome, 'ok');
  });
});

describe('budgets: an upstream reporting negative or absurd usage', () => {
  let gw;
  let secret;
  before(async () => {
    // Streams and whole answers alike report completion_tokens -1,000,000 ($-30 at $30/M), or
    // 10^18 prompt tokens when asked to.
    const upstream = await fakeUpstream((req, res, body) => {
      const huge = JSON.parse(body).messages.at(-1).content === 'huge';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(FAKE, 'a broken meter', huge
        ? { prompt_tokens: 1e18, completion_tokens: 1e18 }
        : { prompt_tokens: 5, completion_tokens: -1_000_000 }));
    });
    gw = await startGateway({
      models: [model(FAKE, upstream.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
      extraConfig: { auth: { required: true, reload_ms: 100 } },
    });
    // Two answers' prompts ($0.00005 each) fit; a third is refused.
    secret = createKey(gw.sqlite, 'metered', { usdPerDay: 0.00008 }).secret;
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'probe'), { headers: bearer(secret) })).status !== 401);
    // The probe's admission estimate (its max_tokens) is replaced by its cost once its record is
    // written: settled before the test's first request (the sanitized build took longer).
    await sleep(200 * SLOWDOWN);
  });
  after(stopAll);

  test('a negative count refunds nothing: it is recorded as 0 and the budget still runs out', async () => {
    const h = { headers: bearer(secret) };
    // The probe above was the first answer.
    const second = await postChat(gw.base, chatBody('auto', 'two'), h);
    assert.equal(second.status, 200, second.text);
    const d = await getDecision(gw.base, second.headers.get('x-switchboard-decision'), h);
    assert.equal(d.usage.completion_tokens, 0);
    assert.ok(d.cost_usd >= 0, `cost ${d.cost_usd}`);
    await sleep(100); // settled right after the answer
    const third = await postChat(gw.base, chatBody('auto', 'three'), h);
    assert.equal(third.status, 429, third.text);
    expectErrorShape(assert, third.json, 'budget_exceeded');
  });

  test('an absurd count is capped: the gateway stays up and the record stays finite', async () => {
    const other = createKey(gw.sqlite, 'absurd', { usdPerDay: 1 }).secret;
    const h = { headers: bearer(other) };
    let r;
    await eventually(async () => { r = await postChat(gw.base, chatBody('auto', 'huge'), h); return r.status !== 401; });
    assert.equal(r.status, 200, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'), h);
    assert.equal(d.usage.completion_tokens, 2 ** 40);
    assert.ok(Number.isFinite(d.cost_usd));
    await sleep(100);
    const next = await postChat(gw.base, chatBody('auto', 'next'), h);
    assert.equal(next.status, 429, next.text);
  });
});

// Right after a start no model has answered yet, so no mean completion is known: a long answer
// is reserved for a request without max_tokens (it was nothing, and a burst of parallel requests
// all passed a nearly spent budget — 40 × the budget in a sweep).
describe('a budget right after a start', () => {
  let gw;
  let secret;
  // The upstream holds its answers until the test lets them go: every request of the burst is
  // decided before any answer (a fixed 300 ms let a slow sanitized run admit a second request
  // after the first had answered, as it rightly may).
  let letGo = () => {};
  let held = Promise.resolve();
  before(async () => {
    const slow = await fakeUpstream(async (req, res) => {
      await held;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(FAKE, 'a short answer'));
    });
    gw = await startGateway({
      models: [model(FAKE, slow.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: FAKE } }],
      extraConfig: { auth: { required: true, reload_ms: 100 } },
    });
    secret = createKey(gw.sqlite, 'burst', { usdPerDay: COST * 3 }).secret;
    await sleep(300);  // picked up within reload_ms
  });
  after(stopAll);

  test('a burst without max_tokens before the first answer: one passes, the rest wait for it', async () => {
    held = new Promise((resolve) => { letGo = resolve; });
    let answered = 0;
    const burst = Promise.all(Array.from({ length: 20 },
      () => postChat(gw.base, chatBody('auto', 'burst'), { headers: bearer(secret) })
        .then((r) => { answered += 1; return r; })));
    // The refused answer at once; the admitted wait for the upstream. Let it go once 19 are back
    // (or after 10 s, when more than one was admitted).
    await eventually(async () => answered >= 19, 10000, '19 refusals').catch(() => {});
    letGo();
    const rs = await burst;
    const passed = rs.filter((r) => r.status === 200).length;
    assert.equal(passed, 1, rs.map((r) => r.status).join(','));
    for (const r of rs.filter((x) => x.status !== 200)) expectErrorShape(assert, r.json, 'budget_exceeded');
  });
});

describe('GET /v1/capacity with keys', () => {
  after(stopAll);

  test('a key sees the budgets, spend and λ history of the routes it may name only', async () => {
    const echo = await echoUpstream();
    const budgeted = (name) => ({ name, policy: { type: 'elo' }, budget: { usd_per_hour: 1 } });
    const gw = await startGateway({
      models: [model(FAKE, echo.url)],
      routes: [budgeted('auto'), budgeted('secret-project')],
      extraConfig: { auth: { required: true, reload_ms: 100 }, control: { interval_ms: 50 } },
    });
    const narrow = createKey(gw.sqlite, 'narrow', { routes: 'auto' }).secret;
    const wide = createKey(gw.sqlite, 'wide').secret;
    const read = async (secret) => {
      const r = await getJson(gw.base, '/v1/capacity', bearer(secret));
      return r.status === 200 && r.json.history.length > 0 ? r.json : undefined;
    };
    const all = await eventually(() => read(wide));  // picked up within reload_ms, a step taken
    assert.deepEqual(all.routes.map((r) => r.route).sort(), ['auto', 'secret-project']);
    const mine = await eventually(() => read(narrow));
    assert.deepEqual(mine.routes.map((r) => r.route), ['auto']);
    for (const step of mine.history) {
      assert.deepEqual(Object.keys(step.lambdas), ['auto']);
      assert.deepEqual(Object.keys(step.spend_usd_per_hour), ['auto']);
    }
  });
});
