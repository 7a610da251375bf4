// Sessions (docs/sessions.md) through the real gateway: a conversation stays on the model chosen for
// its first turn and on the replica that answered it — found by its x-session-id header, its `user`
// field, or (header-less) by its conversation prefix — while the same prompts without a session go
// elsewhere; a route with `sticky: false` switches and counts it; bad session ids are refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, postChat, getJson, getDecision, sleep, expectErrorShape,
  parseMetrics, tempDir, startProcess,
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

async function metric(base, name, labels) {
  const text = (await getJson(base, '/metrics')).text;
  return parseMetrics(text).filter((x) => x.name === name &&
    Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

describe('sessions', () => {
  let gw;
  before(async () => {
    const echo = await echoUpstream();
    const replicas = ['r1', 'r2', 'r3'].map((name) => ({ url: echo.url, name }));
    gw = await startGateway({
      models: [model(A, replicas, { balancer }), model(B, replicas, { balancer })],
      routes: [
        { name: 'chat', policy: rules, session: { sticky: true, switch_margin: 0.05, ttl_s: 600 } },
        { name: 'loose', policy: rules, session: { sticky: false } },
        { name: 'plain', policy: rules },
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
