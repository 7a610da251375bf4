// POST /v1/feedback and online learning while serving (docs/online.md): a bandit route learns from
// feedback that punishes one model and rewards the other for a class of prompts, keeps what it
// learned across a restart (SQLite) and learns from feedback on decisions made before it, and two
// gateways sharing one Redis stream of feedback reach
// the same choices. Plus the endpoint's errors (400, 404, 409) in OpenAI's shape and its metrics.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startGateway, model, stopAll, chatBody, postChat, getJson, tempDir, sleep,
  expectErrorShape, parseMetrics, eventually, metricSum
} from './lib/harness.mjs';
import { SKIP_NO_REDIS, twoGatewaysSharingRedis, startRedis } from './lib/redis.mjs';
import { startRespProxy } from './lib/resp_proxy.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

const A = 'model-a';
const B = 'model-b';
const MATH = ['what is 17 times 23', 'solve the equation x squared minus four equals zero',
  'compute the integral of x from zero to one', 'what is the derivative of sine',
  'add 345 and 678', 'divide 144 by 12 and multiply by 3'];
const POETRY = ['write a short poem about the sea', 'a sonnet about autumn leaves and love',
  'compose a haiku about the moon at night', 'write verses about a lonely heart',
  'a poem about spring flowers and birds', 'write a ballad about a brave knight'];

async function post(base, p, body) {
  const res = await fetch(`${base}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

// Feedback right after the answer: the decision's record and context are queued just after the
// response, and the gateway waits for them (feedback_in_flight.test.mjs), so no retry.
const feedback = (base, body) => post(base, '/v1/feedback', body);

async function ask(base, route, prompt) {
  const r = await postChat(base, chatBody(route, prompt));
  assert.equal(r.status, 200, r.text);
  return { id: r.headers.get('x-switchboard-decision'), model: r.headers.get('x-switchboard-model') };
}

async function choice(base, route, prompt) {
  const r = await post(base, '/v1/route', chatBody(route, prompt));
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const metric = metricSum;

// Math: A is bad (0), B good (1); poetry: the opposite.
const reward = (cls, m) => ((cls === 'math') === (m === B) ? 1 : 0);

// Each event is learned before the next ask, so what the policy tries next does not depend on how
// fast the learner thread runs (a loaded or sanitized build is slower).
async function train(base, route, rounds) {
  const observed = () => metric(base, 'switchboard_learning_observations', { route });
  const start = await observed();
  let sent = 0;
  for (let i = 0; i < rounds; ++i) {
    for (const [cls, prompts] of [['math', MATH], ['poetry', POETRY]]) {
      const { id, model: m } = await ask(base, route, prompts[i % prompts.length]);
      const r = await feedback(base, { decision_id: id, score: reward(cls, m) });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.learning, 'queued');
      sent += 1;
      await eventually(async () => (await observed()) >= start + sent, 10000, `event ${sent} learned`);
    }
  }
}

const routes = [
  { name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } },
  { name: 'duel', policy: { type: 'bandit', alpha: 1 } },
  { name: 'ranked', policy: { type: 'elo' } },
  { name: 'fixed', policy: { type: 'static', model: A } },
];

describe('POST /v1/feedback', () => {
  let echo;
  let gw;
  let sqlite;
  let models;
  before(async () => {
    echo = await echoUpstream();
    // A's context window is small enough that a request asking for 8,000 output tokens goes to B:
    // how the pairwise test gets one answer of each model for a prompt.
    models = [model(A, echo.url, { context_window: 4096 }), model(B, echo.url)];
    sqlite = path.join(tempDir('sb-fb-'), 'decisions.db');
    gw = await startGateway({ models, routes, sqlite });
  });
  after(() => stopAll());

  test('malformed feedback is a 400 naming the problem, in OpenAI\'s shape', async () => {
    for (const [body, needle] of [
      ['{nope', null],
      [{ decision_id: 'x' }, 'score'],
      [{ decision_id: 'x', score: 2 }, 'score'],
      [{ decision_a: 'x', decision_b: 'y', winner: 'c' }, 'winner'],
      [{ decision_id: 'x', score: 1, extra: true }, 'extra'],
    ]) {
      const r = await post(gw.base, '/v1/feedback', body);
      assert.equal(r.status, 400, r.text);
      const e = expectErrorShape(assert, r.json);
      if (needle) assert.match(e.message, new RegExp(needle));
    }
    const get = await getJson(gw.base, '/v1/feedback');
    assert.equal(get.status, 405);
  });

  test('unknown decision 404, second feedback 409, stored and counted', async () => {
    const missing = await post(gw.base, '/v1/feedback', { decision_id: 'dec_000000000000000000000000', score: 1 });
    assert.equal(missing.status, 404);
    assert.equal(expectErrorShape(assert, missing.json, 'decision_not_found').type, 'invalid_request_error');
    // Ids of a form the gateway never issues are 404 without reading the store.
    for (const bad of ['x', 'dec_zzzzzzzzzzz', '../../etc/passwd']) {
      const r = await post(gw.base, '/v1/feedback', { decision_id: bad, score: 1 });
      assert.equal(r.status, 404, r.text);
      expectErrorShape(assert, r.json, 'decision_not_found');
      const g = await getJson(gw.base, `/v1/decisions/${encodeURIComponent(bad)}`);
      assert.equal(g.status, 404, g.text);
    }
    const { id } = await ask(gw.base, 'fixed', 'hello there');
    const first = await feedback(gw.base, { decision_id: id, score: 0.5 });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.model, A);
    assert.equal(first.json.learning, 'no_context');  // a static route does not learn
    const again = await post(gw.base, '/v1/feedback', { decision_id: id, score: 1 });
    assert.equal(again.status, 409);
    expectErrorShape(assert, again.json, 'feedback_exists');
    assert.equal(await metric(gw.base, 'switchboard_feedback_total', { route: 'fixed', result: 'accepted' }), 1);
    assert.equal(await metric(gw.base, 'switchboard_feedback_total', { route: 'fixed', result: 'duplicate' }), 1);
    assert.equal(await metric(gw.base, 'switchboard_feedback_total', { result: 'not_found' }), 4);
    assert.ok(await metric(gw.base, 'switchboard_feedback_total', { result: 'bad_request' }) >= 5);
    // A score out of range is counted under its kind (it was "unknown").
    const before = await metric(gw.base, 'switchboard_feedback_total', { kind: 'score', result: 'bad_request' });
    assert.equal((await post(gw.base, '/v1/feedback', { decision_id: id, score: 7 })).status, 400);
    assert.equal(await metric(gw.base, 'switchboard_feedback_total', { kind: 'score', result: 'bad_request' }), before + 1);
    // A decision without an answer (here: an unknown model, 404) cannot be rated (since session
    // 30; it was stored with an empty model).
    const failed = await postChat(gw.base, chatBody('no-such-route', 'hello'));
    assert.equal(failed.status, 404);
    const none = await post(gw.base, '/v1/feedback', { decision_id: failed.headers.get('x-switchboard-decision'), score: 0 });
    assert.equal(none.status, 400, none.text);
    assert.match(expectErrorShape(assert, none.json, 'invalid_feedback').message, /has no answer to rate \(it ended 404 /);
  });

  test('pairwise preferences teach the elo route', async () => {
    // One answer of each model: A by the route's choice, B because A cannot take max_tokens 8000.
    const a = await ask(gw.base, 'ranked', 'compare me one');
    assert.equal(a.model, A);
    const forced = await postChat(gw.base, chatBody('ranked', 'compare me two', { max_tokens: 8000 }));
    const b = { id: forced.headers.get('x-switchboard-decision'), model: forced.headers.get('x-switchboard-model') };
    assert.equal(b.model, B);
    const learnedBefore = await metric(gw.base, 'switchboard_feedback_learned_total', { route: 'ranked', result: 'applied' });
    const r = await feedback(gw.base, { decision_a: a.id, decision_b: b.id, winner: 'b' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.outcome, 0);
    assert.equal(r.json.learning, 'queued');
    await eventually(async () => (await metric(gw.base, 'switchboard_feedback_learned_total',
      { route: 'ranked', result: 'applied' })) === learnedBefore + 1, 10000, 'the pair learned');
    // What elo can never learn from is said at once (before session 30 it was "queued", then
    // dropped by the learner): a score, and two answers of one model.
    const s1 = await ask(gw.base, 'ranked', 'compare me five');
    const score = await feedback(gw.base, { decision_id: s1.id, score: 1 });
    assert.equal(score.status, 200, score.text);
    assert.equal(score.json.learning, 'not_learned');
    assert.match(score.json.learning_note, /pairwise preferences only/);
    const s2 = await ask(gw.base, 'ranked', 'compare me six');
    const s3 = await ask(gw.base, 'ranked', 'compare me seven');
    assert.equal(s2.model, s3.model);
    const same = await feedback(gw.base, { decision_a: s2.id, decision_b: s3.id, winner: 'a' });
    assert.equal(same.json.learning, 'not_learned');
    assert.match(same.json.learning_note, /both answers are of model/);
    const twice = await post(gw.base, '/v1/feedback', { decision_id: b.id, score: 1 });
    assert.equal(twice.status, 409, 'the pair stored feedback for both decisions');
    // A pair across two routes is refused: each route's learner would see half of it.
    const other = await ask(gw.base, 'fixed', 'compare me three');
    const c = await ask(gw.base, 'ranked', 'compare me four');
    const across = await post(gw.base, '/v1/feedback', { decision_a: other.id, decision_b: c.id, winner: 'a' });
    assert.equal(across.status, 400, across.text);
    assert.match(expectErrorShape(assert, across.json, 'invalid_feedback').message, /different routes/);
    assert.equal((await feedback(gw.base, { decision_id: c.id, score: 1 })).status, 200, 'nothing was stored');
  });

  test('pairwise preferences teach the bandit both answers', async () => {
    for (const p of [MATH[0], POETRY[0]]) assert.equal((await choice(gw.base, 'duel', p)).model, A);
    // Each round: the route's answer, and one from B (A cannot take max_tokens 8000), to the same
    // prompt; the client prefers the answer that would score higher (math: B, poetry: A). The
    // route explores (α = 1): once B is chosen for a class, only the route's own choice can give A
    // evidence there (the forced side is always B).
    let pairs = 0;
    for (let i = 0; i < 12; ++i) {
      for (const [cls, prompts] of [['math', MATH], ['poetry', POETRY]]) {
        const p = prompts[i % prompts.length];
        const a = await ask(gw.base, 'duel', p);
        const r = await postChat(gw.base, chatBody('duel', p, { max_tokens: 8000 }));
        assert.equal(r.status, 200, r.text);
        const b = { id: r.headers.get('x-switchboard-decision'), model: r.headers.get('x-switchboard-model') };
        assert.equal(b.model, B);
        const ra = reward(cls, a.model);
        const rb = reward(cls, b.model);
        const winner = ra > rb ? 'a' : ra < rb ? 'b' : 'tie';
        const fb = await feedback(gw.base, { decision_a: a.id, decision_b: b.id, winner });
        assert.equal(fb.status, 200, fb.text);
        assert.equal(fb.json.learning, 'queued');
        ++pairs;
        // Learning is asynchronous: the next round's own choice is made once this pair was
        // learned, so the sequence of choices (and what the route learns) does not depend on how
        // fast the learner runs.
        await eventually(async () => (await metric(gw.base, 'switchboard_learning_observations',
          { route: 'duel' })) >= pairs);
      }
    }
    for (const p of MATH) {
      const c = await choice(gw.base, 'duel', p);
      assert.equal(c.model, B, `math → B: ${c.reason}`);
    }
    for (const p of POETRY) {
      const c = await choice(gw.base, 'duel', p);
      assert.equal(c.model, A, `poetry → A: ${c.reason} ${JSON.stringify(c.candidates)}`);
    }
  });

  test('the bandit learns which model suits which prompts, and keeps it across a restart', async () => {
    // Before any feedback the untried arms tie and the route sends everything to the first model.
    for (const p of [MATH[0], POETRY[0]]) assert.equal((await choice(gw.base, 'adaptive', p)).model, A);
    await train(gw.base, 'adaptive', 12);
    await eventually(async () => (await metric(gw.base, 'switchboard_learning_observations',
      { route: 'adaptive' })) >= 24);
    const learnedMath = await Promise.all(MATH.map((p) => choice(gw.base, 'adaptive', p)));
    const learnedPoetry = await Promise.all(POETRY.map((p) => choice(gw.base, 'adaptive', p)));
    for (const c of learnedMath) assert.equal(c.model, B, `math → B: ${c.reason}`);
    for (const c of learnedPoetry) assert.equal(c.model, A, `poetry → A: ${c.reason}`);
    assert.match(learnedMath[0].reason, /after \d+ feedback events/);

    // A hot reload (SIGHUP, config unchanged) carries the learned state over to the new policies.
    gw.proc.child.kill('SIGHUP');
    await gw.proc.waitFor(/reload \(sighup\) #1/, 10000);
    for (const p of MATH) assert.equal((await choice(gw.base, 'adaptive', p)).model, B, 'after the reload');

    // Two answers whose feedback comes only after the restart below.
    const late = [await ask(gw.base, 'adaptive', POETRY[1]), await ask(gw.base, 'adaptive', POETRY[2])];
    for (const a of late) assert.equal(a.model, A);

    // A graceful restart on the same database: the state was saved at shutdown and is restored.
    await gw.stop('SIGTERM');
    gw = await startGateway({ models, routes, sqlite });
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 24);
    for (const p of MATH) assert.equal((await choice(gw.base, 'adaptive', p)).model, B);
    for (const p of POETRY) assert.equal((await choice(gw.base, 'adaptive', p)).model, A);
    // The same answers' predicted qualities as before the restart.
    const after = await choice(gw.base, 'adaptive', MATH[0]);
    after.candidates.forEach((c, i) => assert.ok(
      Math.abs(c.predicted_quality - learnedMath[0].candidates[i].predicted_quality) < 1e-9,
      `${c.model}: ${c.predicted_quality} vs ${learnedMath[0].candidates[i].predicted_quality}`));
    // Feedback on decisions made before the restart: their contexts come from the database.
    for (const a of late) {
      const r = await feedback(gw.base, { decision_id: a.id, score: 1 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.learning, 'queued');
    }
    await eventually(async () => (await metric(gw.base, 'switchboard_learning_observations',
      { route: 'adaptive' })) === 26);

    // Since session 30: a route that leaves with one reload and comes back with the next (same
    // spec) has what it learned (it came back fresh, and its saved row was overwritten with 0).
    let reloads = 0;
    const reloadWith = async (rs) => {
      writeFileSync(gw.configPath, JSON.stringify({ ...gw.config, routes: rs }, null, 2));
      gw.proc.child.kill('SIGHUP');
      await gw.proc.waitFor(new RegExp(`reload \\(sighup\\) #${++reloads}\\b`), 10000);
    };
    await reloadWith(routes.filter((r) => r.name !== 'adaptive'));
    // Gone from /metrics while it is gone (since session 31: its last value stayed for ever).
    assert.ok(!(await getJson(gw.base, '/metrics')).text.includes('switchboard_learning_observations{route="adaptive"}'));
    await reloadWith(routes);
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 26);
    for (const p of MATH) assert.equal((await choice(gw.base, 'adaptive', p)).model, B, 'back after a reload without it');

    // A new spec starts fresh (the gauge says so), and what it learns is saved under its own spec
    // (it was not: the count matched the old spec's last save, and a restart lost it).
    const changed = routes.map((r) => (r.name === 'adaptive' ? { ...r, policy: { ...r.policy, alpha: 0.3 } } : r));
    await reloadWith(changed);
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 0);
    await train(gw.base, 'adaptive', 1);
    await gw.stop('SIGTERM');
    gw = await startGateway({ models, routes: changed, sqlite });
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 2);
    // The spec changed back: the state learned under it is there again (since session 32: the
    // changed spec's save had overwritten it, and 26 events were lost for good).
    reloads = 0;
    await reloadWith(routes);
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 26);
    for (const p of MATH) assert.equal((await choice(gw.base, 'adaptive', p)).model, B, 'back after the spec was restored');
    await reloadWith(changed);
    assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 2);
  });
});

// `feedback: {context_cache: {max_entries, ttl_s, persist}}`: a decision's context leaves memory
// when newer ones evict it or it expires. Kept in the decision store (`persist`, the default), its
// feedback is still learned from; memory-only (`persist: false`), it is stored but not learned.
describe('the context cache\'s limits come from the config', () => {
  let memoryOnly;
  let persisted;
  before(async () => {
    const echo = await echoUpstream();
    const config = (persist) => ({
      models: [model(A, echo.url), model(B, echo.url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
      extraConfig: { feedback: { context_cache: { max_entries: 2, ttl_s: 1, persist } } },
    });
    [memoryOnly, persisted] = await Promise.all([startGateway(config(false)), startGateway(config(true))]);
  });
  after(() => stopAll());

  for (const [name, gw, learning] of [['memory only', () => memoryOnly, 'no_context'],
    ['persisted', () => persisted, 'queued']]) {
    test(`max_entries evicts the oldest, ttl_s expires (${name}: ${learning})`, async () => {
      const base = gw().base;
      const first = await ask(base, 'adaptive', 'one');
      await ask(base, 'adaptive', 'two');
      const third = await ask(base, 'adaptive', 'three');
      await sleep(100);  // the contexts are kept just after the answer
      const evicted = await feedback(base, { decision_id: first.id, score: 1 });
      assert.equal(evicted.status, 200, evicted.text);
      assert.equal(evicted.json.learning, learning);
      const kept = await feedback(base, { decision_id: third.id, score: 1 });
      assert.equal(kept.json.learning, 'queued');
      const late = await ask(base, 'adaptive', 'four');
      await sleep(1500);
      const expired = await feedback(base, { decision_id: late.id, score: 1 });
      assert.equal(expired.status, 200, expired.text);
      assert.equal(expired.json.learning, learning);
      // What was queued was learned: the policy's own count of observations.
      const learned = learning === 'queued' ? 3 : 1;
      await eventually(async () => (await metric(base, 'switchboard_learning_observations',
        { route: 'adaptive' })) === learned);
      // Where the contexts came from: the kept one from memory, the evicted and expired ones from
      // the database (persisted only).
      assert.equal(await metric(base, 'switchboard_learning_contexts_total', { source: 'memory' }), 1);
      assert.equal(await metric(base, 'switchboard_learning_contexts_total', { source: 'store' }),
        learning === 'queued' ? 2 : 0);
    });
  }
});

describe('learning shared by two gateways through Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let gw1;
  let gw2;
  before(async () => {
    let gws;
    ({ redis, gws } = await twoGatewaysSharingRedis((url) => ({
      models: [model(A, url), model(B, url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
    })));
    [gw1, gw2] = gws;
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('feedback sent to either gateway reaches both; they converge to the same choices', async () => {
    // Each gateway answers half of the traffic and gets the feedback on its own decisions.
    await Promise.all([train(gw1.base, 'adaptive', 6), train(gw2.base, 'adaptive', 6)]);
    for (const gw of [gw1, gw2])
      await eventually(async () => (await metric(gw.base, 'switchboard_learning_observations',
        { route: 'adaptive' })) === 24);
    for (const p of [...MATH, ...POETRY]) {
      const [c1, c2] = await Promise.all([choice(gw1.base, 'adaptive', p), choice(gw2.base, 'adaptive', p)]);
      assert.equal(c1.model, c2.model, p);
      assert.deepEqual(c1.candidates.map((c) => c.predicted_quality), c2.candidates.map((c) => c.predicted_quality));
    }
    for (const gw of [gw1, gw2]) {
      assert.equal((await choice(gw.base, 'adaptive', MATH[1])).model, B);
      assert.equal((await choice(gw.base, 'adaptive', POETRY[1])).model, A);
    }
  });
});

// Since session 28: a stream position past the stream's newest entry (an entry with a far-future
// id read, then Redis restarted empty: its new ids come from its clock, below the position) made
// the gateway learn nothing more, its own feedback included, with nothing said. Now it reads on
// from its own next entry; an entry that is not feedback is skipped.
describe('a feedback stream position past the stream is noticed', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let gw;
  before(async () => {
    redis = await startRedis();
    const echo = await echoUpstream();
    gw = await startGateway({
      models: [model(A, echo.url), model(B, echo.url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
      extraConfig: { state: { redis: redis.url } },
    });
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('feedback is still learned after the stream restarts below the position', async () => {
    await train(gw.base, 'adaptive', 1);
    const cli = (...args) => spawnSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' });
    assert.match(cli('XADD', 'switchboard:feedback', '99999999999999-0', 'e', 'not json').stdout, /99999999999999-0/);
    await sleep(300);  // read (and skipped): the position is now far ahead
    assert.equal(cli('FLUSHALL').status, 0);
    await train(gw.base, 'adaptive', 2);  // waits for each event to be learned
    assert.match(gw.proc.output, /stream position 99999999999999-0 is past the stream's newest entry/);
    // Without publishing: the position is checked on each new connection (Redis restarted empty).
    assert.match(cli('XADD', 'switchboard:feedback', '99999999999999-5', 'e', 'not json').stdout, /99999999999999-5/);
    await sleep(300);
    redis.proc.kill('SIGKILL');
    await sleep(200);
    redis = await startRedis(redis.port);
    await eventually(async () => /position 99999999999999-5 is past the stream's newest entry 0; reading on/.test(gw.proc.output),
      10000, 'the position checked on the new connection');
  });
});

// An XADD whose reply is lost after Redis ran it (here: every other one answered with an error by a
// proxy): the gateway learns the event locally at once, and skips it when it comes back from the
// stream — every event is learned exactly once, on both gateways.
describe('feedback events whose XADD reply is lost are learned once', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let proxy;
  let liar;
  let honest;
  before(async () => {
    redis = await startRedis();
    proxy = await startRespProxy(redis.port,
      (name, i) => (name === 'XADD' && i % 2 === 1 ? 'OOM command not allowed (injected)' : null));
    const echo = await echoUpstream();
    const options = (url) => ({
      models: [model(A, echo.url), model(B, echo.url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
      extraConfig: { state: { redis: url } },
    });
    [liar, honest] = await Promise.all([startGateway(options(proxy.url)), startGateway(options(redis.url))]);
  });
  after(async () => {
    await proxy?.close();
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('observations equal the feedback events, on the gateway told "failed" and on the other', async () => {
    await train(liar.base, 'adaptive', 4);  // 8 events, all sent through the lying proxy
    for (const gw of [liar, honest])
      await eventually(async () => (await metric(gw.base, 'switchboard_learning_observations',
        { route: 'adaptive' })) === 8, 10000, `gateway ${gw.port} learned the 8 events`);
    assert.equal(proxy.counts.get('XADD'), 8, 'one XADD per event, every other one "failed"');
    await sleep(300);  // a few more stream reads: nothing is applied twice
    for (const gw of [liar, honest])
      assert.equal(await metric(gw.base, 'switchboard_learning_observations', { route: 'adaptive' }), 8);
    // The same events learned, though not in the same order (the liar applied the "failed" ones
    // first): the same predictions up to rounding.
    const c = [await choice(liar.base, 'adaptive', MATH[0]), await choice(honest.base, 'adaptive', MATH[0])];
    c[0].candidates.forEach((x, i) => assert.ok(
      Math.abs(x.predicted_quality - c[1].candidates[i].predicted_quality) < 1e-9,
      `${x.model}: ${x.predicted_quality} vs ${c[1].candidates[i].predicted_quality}`));
  });
});
