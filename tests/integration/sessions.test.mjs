// Sessions (docs/sessions.md) through the real gateway: a conversation stays on the model chosen for
// its first turn and on the replica that answered it — found by its x-session-id header, its `user`
// field, or (header-less) by its conversation prefix — while the same prompts without a session go
// elsewhere; a route with `sticky: false` switches and counts it; bad session ids are refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, postChat, getJson, getDecision, sleep, expectErrorShape,
  parseMetrics, tempDir, startProcess, metricSum
} from './lib/harness.mjs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { echoUpstream } from './lib/echo_upstream.mjs';

const A = 'model-a';
const B = 'model-b';
// The rules policy sends prompts mentioning "code" to B, everything else to A.
const rules = { type: 'rules', rules: [{ when: { keywords: ['code'] }, model: B }], default: A };
const balancer = { type: 'session_affinity', inner: 'round_robin' };

// The session is recorded once the answer was sent (after_answer), so a client that asks its next
// turn within microseconds may race it; a real conversation's next turn comes seconds later.
const TURN_GAP_MS = 100;

async function turn(base, route, messages, { headers = {}, extra = {} } = {}) {
  const r = await postChat(base, { model: route, messages, ...extra }, { headers });
  assert.equal(r.status, 200, r.text);
  await sleep(TURN_GAP_MS);
  return {
    id: r.headers.get('x-switchboard-decision'),
    model: r.headers.get('x-switchboard-model'),
    replica: r.headers.get('x-switchboard-replica'),
    answer: r.json.choices[0].message.content,
  };
}

// A three-turn conversation whose second and third prompts the policy alone would send to B.
async function conversation(base, route, opts = {}) {
  const prompts = ['hello, who are you?', 'now write some code for me', 'more code, in rust'];
  const messages = [];
  const turns = [];
  for (const p of prompts) {
    messages.push({ role: 'user', content: p });
    const t = await turn(base, route, messages, opts);
    messages.push({ role: 'assistant', content: t.answer });
    turns.push(t);
  }
  return turns;
}

const metric = metricSum;

describe('sessions', () => {
  let gw;
  before(async () => {
    const echo = await echoUpstream();
    const replicas = ['r1', 'r2', 'r3'].map((name) => ({ url: echo.url, name }));
    gw = await startGateway({
      models: [model(A, replicas, { balancer, context_window: 1000 }),
        model(B, replicas, { balancer, price: { input_per_mtok: 0, output_per_mtok: 0 } })],
      routes: [
        { name: 'chat', policy: rules, session: { sticky: true, switch_margin: 0.05, ttl_s: 600 } },
        { name: 'fit', policy: rules, session: { sticky: true } },
        { name: 'loose', policy: rules, session: { sticky: false } },
        { name: 'plain', policy: rules },
        { name: 'cached_chat', policy: rules, session: { sticky: true }, cache: { ttl_s: 600 } },
      ],
    });
  });
  after(() => stopAll());

  test('without a session the policy moves the conversation and the replicas rotate', async () => {
    const turns = await conversation(gw.base, 'plain');
    assert.deepEqual(turns.map((t) => t.model), [A, B, B]);
    const more = [];
    for (let i = 0; i < 3; ++i) more.push((await turn(gw.base, 'plain', [{ role: 'user', content: 'hi' }])).replica);
    assert.equal(new Set(more).size, 3, `round robin over three replicas: ${more}`);
    const d = await getDecision(gw.base, turns[1].id);
    assert.equal(d.session, null);
  });

  test('a rules route\'s session leaves a model the turn does not fit: context window, max_cost', async () => {
    const first = await turn(gw.base, 'fit', [{ role: 'user', content: 'hello' }],
      { headers: { 'x-session-id': 'fit-1' } });
    assert.equal(first.model, A);
    // A long turn (over A's 1,000-token window) the policy sends to B: the session cannot keep A.
    const long = await turn(gw.base, 'fit', [{ role: 'user', content: `code ${'word '.repeat(1500)}` }],
      { headers: { 'x-session-id': 'fit-1' } });
    assert.equal(long.model, B);
    const d = await getDecision(gw.base, long.id);
    assert.equal(d.session.action, 'switched');
    assert.match(d.session.reason, /context window 1000/);
    // A turn whose max_cost A's list price exceeds (B is free).
    await turn(gw.base, 'fit', [{ role: 'user', content: 'hello' }], { headers: { 'x-session-id': 'fit-2' } });
    const cheap = await turn(gw.base, 'fit', [{ role: 'user', content: 'some code' }],
      { headers: { 'x-session-id': 'fit-2', 'x-switchboard-max-cost': '0.0000001' } });
    assert.equal(cheap.model, B);
    const dc = await getDecision(gw.base, cheap.id);
    assert.match(dc.session.reason, /over max_cost/);
  });

  test('x-session-id: three turns on one model and one replica', async () => {
    const headers = { 'x-session-id': 'conv-header-1' };
    const turns = await conversation(gw.base, 'chat', { headers });
    assert.deepEqual(turns.map((t) => t.model), [A, A, A]);
    assert.equal(new Set(turns.map((t) => t.replica)).size, 1, turns.map((t) => t.replica).join());
    const d1 = await getDecision(gw.base, turns[0].id);
    const d2 = await getDecision(gw.base, turns[1].id);
    const d3 = await getDecision(gw.base, turns[2].id);
    assert.equal(d1.session.kind, 'header');
    assert.equal(d1.session.action, 'new');
    assert.equal(d1.session.turn, 1);
    assert.equal(d2.session.action, 'stayed');
    assert.equal(d2.session.turn, 2);
    assert.equal(d2.session.model, A);
    assert.equal(d2.session.id, d1.session.id);
    assert.match(d2.session.reason, /no candidates/);
    assert.match(d2.reason, /session: stayed on model-a/);
    assert.equal(d3.session.turn, 3);
    assert.ok(!JSON.stringify(d1.session).includes('conv-header-1'), 'the client id is not stored');
    // Another session id is a new session: the policy's choice.
    const other = await turn(gw.base, 'chat', [{ role: 'user', content: 'code please' }],
      { headers: { 'x-session-id': 'conv-header-2' } });
    assert.equal(other.model, B);
  });

  test('a turn the cache answers counts in its session and keeps its model', async () => {
    // The same first turn asked again in the session (a retry) is answered by the cache: it counts
    // as the session's turn 2, so the next decided turn is turn 3, still on A.
    const headers = { 'x-session-id': 'conv-cached-1' };
    const first = [{ role: 'user', content: 'hello, who are you?' }];
    const t1 = await turn(gw.base, 'cached_chat', first, { headers });
    const again = await postChat(gw.base, { model: 'cached_chat', messages: first }, { headers });
    assert.equal(again.headers.get('x-switchboard-cache'), 'hit');
    await sleep(TURN_GAP_MS);
    const t3 = await turn(gw.base, 'cached_chat', [...first, { role: 'assistant', content: t1.answer },
      { role: 'user', content: 'now write some code for me' }], { headers });
    const [d1, d2, d3] = await Promise.all([t1.id, again.headers.get('x-switchboard-decision'), t3.id]
      .map((id) => getDecision(gw.base, id)));
    assert.equal(d2.session.id, d1.session.id);
    assert.equal(d2.session.action, 'cached');
    assert.equal(d2.session.turn, 2);
    assert.equal(d3.session.id, d1.session.id);
    assert.equal(d3.session.turn, 3);
    assert.equal(t3.model, A, 'kept on the session\'s model (the policy alone says B)');
    assert.equal(t3.replica, t1.replica, 'and on the replica holding the conversation');
  });

  test('a session whose first turn the cache answers starts on the cached answer\'s model', async () => {
    // A first turn answered by A (and cached) in one session is asked again to open another.
    const first = [{ role: 'user', content: 'good morning, anyone there?' }];
    const seeded = await turn(gw.base, 'cached_chat', first, { headers: { 'x-session-id': 'conv-cached-seed' } });
    assert.equal(seeded.model, A);
    const headers = { 'x-session-id': 'conv-cached-2' };
    const t1 = await turn(gw.base, 'cached_chat', first, { headers });
    const d1 = await getDecision(gw.base, t1.id);
    assert.equal(d1.cache.status, 'hit');
    assert.equal(d1.session.action, 'cached');
    assert.equal(d1.session.turn, 1);
    assert.equal(d1.session.model, A);
    await sleep(TURN_GAP_MS);
    const t2 = await turn(gw.base, 'cached_chat', [...first, { role: 'assistant', content: t1.answer },
      { role: 'user', content: 'a sorting routine in go, as code' }], { headers });
    const d2 = await getDecision(gw.base, t2.id);
    assert.equal(d2.cache.status, 'miss');
    assert.equal(d2.session.id, d1.session.id);
    assert.equal(d2.session.turn, 2);
    assert.equal(d2.session.action, 'stayed');
    assert.equal(t2.model, A, 'kept on the cached answer\'s model (the policy alone says B)');
  });

  test('a header-less conversation is found by its prefix', async () => {
    const turns = await conversation(gw.base, 'chat');
    assert.deepEqual(turns.map((t) => t.model), [A, A, A]);
    assert.equal(new Set(turns.map((t) => t.replica)).size, 1);
    const ds = await Promise.all(turns.map((t) => getDecision(gw.base, t.id)));
    assert.deepEqual(ds.map((d) => d.session.kind), ['prefix', 'prefix', 'prefix']);
    assert.deepEqual(ds.map((d) => d.session.turn), [1, 2, 3]);
    assert.equal(new Set(ds.map((d) => d.session.id)).size, 1);
    // An edited history (another answer) is not the same conversation.
    const forged = await turn(gw.base, 'chat', [
      { role: 'user', content: 'hello, who are you?' },
      { role: 'assistant', content: 'someone else entirely' },
      { role: 'user', content: 'now write some code for me' }]);
    assert.equal(forged.model, B);
    const fd = await getDecision(gw.base, forged.id);
    assert.equal(fd.session.turn, 1);
  });

  test('a streamed answer counts as the conversation\'s history too', async () => {
    const first = [{ role: 'user', content: 'stream me a greeting' }];
    const r = await postChat(gw.base, { model: 'chat', messages: first, stream: true });
    assert.equal(r.status, 200, r.text);
    const answer = r.text.split('\n').filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices?.[0]?.delta?.content ?? '').join('');
    assert.match(answer, /answer to: stream me a greeting/);
    await sleep(TURN_GAP_MS);
    const t2 = await turn(gw.base, 'chat', [...first, { role: 'assistant', content: answer },
      { role: 'user', content: 'now some code' }]);
    assert.equal(t2.model, A);
    assert.equal(t2.replica, r.headers.get('x-switchboard-replica'));
    const d = await getDecision(gw.base, t2.id);
    assert.equal(d.session.kind, 'prefix');
    assert.equal(d.session.turn, 2);
    assert.equal(d.session.action, 'stayed');
  });

  test('the body\'s user field names a session', async () => {
    const extra = { user: 'end-user-42' };
    const t1 = await turn(gw.base, 'chat', [{ role: 'user', content: 'hi there' }], { extra });
    const t2 = await turn(gw.base, 'chat', [{ role: 'user', content: 'unrelated code question' }], { extra });
    assert.equal(t1.model, A);
    assert.equal(t2.model, A);
    assert.equal(t2.replica, t1.replica);
    const d = await getDecision(gw.base, t2.id);
    assert.equal(d.session.kind, 'user');
    assert.equal(d.session.turn, 2);
  });

  test('sticky: false follows the policy and counts the switch', async () => {
    const before = await metric(gw.base, 'switchboard_session_turns_total', { route: 'loose', action: 'switched' });
    const turns = await conversation(gw.base, 'loose', { headers: { 'x-session-id': 'loose-1' } });
    assert.deepEqual(turns.map((t) => t.model), [A, B, B]);
    const d2 = await getDecision(gw.base, turns[1].id);
    assert.equal(d2.session.action, 'switched');
    assert.equal(d2.session.model, A);
    const d3 = await getDecision(gw.base, turns[2].id);
    assert.equal(d3.session.action, 'same');
    assert.equal(d3.session.model, B);
    const after = await metric(gw.base, 'switchboard_session_turns_total', { route: 'loose', action: 'switched' });
    assert.equal(after - before, 1);
    assert.ok(await metric(gw.base, 'switchboard_session_turns_total', { route: 'chat', action: 'stayed' }) >= 2);
  });

  test('a hot reload keeps the sessions', async () => {
    const headers = { 'x-session-id': 'across-reload' };
    const t1 = await turn(gw.base, 'chat', [{ role: 'user', content: 'hello before the reload' }], { headers });
    assert.equal(t1.model, A);
    gw.proc.child.kill('SIGHUP');
    await gw.proc.waitFor(/reload \(sighup\) #1/, 10000);
    const t2 = await turn(gw.base, 'chat', [{ role: 'user', content: 'code after the reload' }], { headers });
    assert.equal(t2.model, A);
    assert.equal(t2.replica, t1.replica);
    const d = await getDecision(gw.base, t2.id);
    assert.equal(d.session.turn, 2);
    assert.equal(d.session.action, 'stayed');
  });

  test('an over-long x-session-id is a 400 in OpenAI\'s shape', async () => {
    const r = await postChat(gw.base, { model: 'chat', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-session-id': 'x'.repeat(300) } });
    assert.equal(r.status, 400);
    expectErrorShape(assert, r.json, 'invalid_request');
    assert.match(r.json.error.message, /x-session-id/);
  });
});

describe('session config errors', () => {
  after(() => stopAll());
  test('an unknown key or a bad value is refused at start, naming its line', async () => {
    const dir = tempDir('sb-sess-');
    for (const [session, needle] of [['{stickyy: true}', /unknown key 'stickyy'/],
      ['{switch_margin: -1}', /switch_margin must be/], ['{max_sessions: 0}', /max_sessions must be/],
      ['{ttl_s: soon}', /ttl_s has the wrong type/]]) {
      const cfg = 'models:\n  - {name: a, replicas: [{url: "http://127.0.0.1:9"}]}\nroutes:\n' +
        `  - name: r\n    policy: {type: static, model: a}\n    session: ${session}\n`;
      const configPath = path.join(dir, 'c.yaml');
      writeFileSync(configPath, cfg);
      const proc = startProcess('gateway(bad session)', ['serve', '--config', configPath]);
      proc.stopping = true; // exiting is what we expect
      const { code } = await proc.exited;
      assert.notEqual(code, 0, proc.output);
      assert.match(proc.output, needle);
      assert.match(proc.output, /c\.yaml:\d+:\d+: routes\.r\.session/);
    }
  });
});

// The margin on utilities: a bandit route (cold LinUCB, α = 0.1: a little exploration, so that the
// untried model-b — priced above model-a from the start by its list price — gets tried) learns from
// feedback that model-a is bad; a session started on model-a then switches when model-b's utility
// beats it by more than the margin, and stays when λ (the cost term) brings the gain under it.
describe('session margin on a learning route', () => {
  let gw;
  const CHEAP = { input_per_mtok: 0.1, output_per_mtok: 0.1 };
  before(async () => {
    const echo = await echoUpstream();
    gw = await startGateway({
      models: [model(A, echo.url, { price: CHEAP }), model(B, echo.url)],
      routes: [{
        name: 'learn', policy: { type: 'bandit', alpha: 0.1, embedding_weight: 0 },
        session: { switch_margin: 0.05 },
      }],
    });
  });
  after(() => stopAll());

  const lambda0 = { 'x-switchboard-lambda': '0' };
  // The policy's own choice: POST /v1/route as a new session (a header-less request would join the
  // sessions above by its prefix, and its explanation would show their stickiness).
  let probes = 0;
  async function explain(messages, headers) {
    const res = await fetch(`${gw.base}/v1/route`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': `probe-${++probes}`, ...headers },
      body: JSON.stringify({ model: 'learn', messages }),
    });
    assert.equal(res.status, 200);
    return res.json();
  }
  async function feedback(id, score) {
    for (let i = 0; ; ++i) {
      const r = await fetch(`${gw.base}/v1/feedback`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decision_id: id, score }),
      });
      if (r.status !== 404 || i > 40) return assert.equal(r.status, 200, await r.text());
      await sleep(25);
    }
  }

  test('switches beyond the margin, stays within it', async () => {
    const first = [{ role: 'user', content: 'tell me about rivers' }];
    // Both sessions start on model-a (equal predictions, λ = 0: the cheaper model).
    const s1 = await turn(gw.base, 'learn', first, { headers: { 'x-session-id': 'm1', ...lambda0 } });
    const s2 = await turn(gw.base, 'learn', first, { headers: { 'x-session-id': 'm2', ...lambda0 } });
    assert.equal(s1.model, A);
    assert.equal(s2.model, A);
    // Feedback: model-a's answers are bad, model-b's good, until the policy prefers model-b.
    const next = [...first, { role: 'assistant', content: s1.answer }, { role: 'user', content: 'and lakes?' }];
    for (let i = 0; i < 40; ++i) {
      const t = await turn(gw.base, 'learn', [{ role: 'user', content: `question number ${i}` }],
        { headers: { 'x-session-id': `train-${i}`, ...lambda0 } });
      await feedback(t.id, t.model === A ? 0 : 1);
      const e = await explain(next, lambda0);
      const u = Object.fromEntries(e.candidates.map((c) => [c.model, c.utility]));
      if (e.model === B && u[B] - u[A] > 0.2) break;
    }
    const e = await explain(next, lambda0);
    const c = Object.fromEntries(e.candidates.map((x) => [x.model, x]));
    const gain = c[B].utility - c[A].utility;
    assert.ok(gain > 0.2, `model-b's gain at λ = 0: ${gain}`);
    // Session 1 at λ = 0: the gain exceeds the margin, it switches.
    const t1 = await turn(gw.base, 'learn', next, { headers: { 'x-session-id': 'm1', ...lambda0 } });
    assert.equal(t1.model, B);
    const d1 = await getDecision(gw.base, t1.id);
    assert.equal(d1.session.action, 'switched');
    assert.match(d1.session.reason, /gains 0\.\d+ utility over model-a \(> margin 0\.05\)/);
    // Session 2 at a λ (found by bisection on POST /v1/route) that leaves model-b a gain between
    // 0 and the margin — still the policy's own choice: it stays.
    const gainAt = async (l) => {
      const x = await explain(next, { 'x-switchboard-lambda': String(l) });
      const u = Object.fromEntries(x.candidates.map((k) => [k.model, k.utility]));
      return { gain: u[B] - u[A], model: x.model };
    };
    let lo = 0, hi = 1;
    while ((await gainAt(hi)).gain > 0) hi *= 4;
    let lambda, at;
    for (let i = 0; i < 60; ++i) {
      lambda = (lo + hi) / 2;
      at = await gainAt(lambda);
      if (at.gain > 0.01 && at.gain < 0.04) break;
      if (at.gain >= 0.04) lo = lambda; else hi = lambda;
    }
    assert.ok(at.gain > 0.01 && at.gain < 0.04, `gain ${at.gain} at λ ${lambda}`);
    assert.equal(at.model, B, 'the policy alone still prefers model-b');
    const headers = { 'x-session-id': 'm2', 'x-switchboard-lambda': String(lambda) };
    const t2 = await turn(gw.base, 'learn', next, { headers });
    assert.equal(t2.model, A);
    const d2 = await getDecision(gw.base, t2.id);
    assert.equal(d2.session.action, 'stayed');
    assert.match(d2.session.reason, /would gain 0\.0[1-4]\d* utility \(<= margin 0\.05\)/);
  });
});

