// Sessions across restarts (docs/sessions.md, "Across restarts"; pipeline/session/stored_sessions.h):
// a gateway restarted on the same database — gracefully or killed — keeps each live conversation on
// its model and replica, found by x-session-id or by its conversation prefix, with its turn count;
// a route with `persist: false` forgets them, so the same turns go where the policy sends them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startGateway, model, stopAll, postChat, getDecision, sleep, eventually, metricSum, tempDir,
} from './lib/harness.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

const A = 'model-a';
const B = 'model-b';
// The rules policy sends prompts mentioning "code" to B, everything else to A.
const rules = { type: 'rules', rules: [{ when: { keywords: ['code'] }, model: B }], default: A };
const balancer = { type: 'session_affinity', inner: 'round_robin' };
const HELLO = 'hello, who are you?';
const CODE = 'now write some code for me';

async function turn(base, route, messages, headers = {}) {
  const r = await postChat(base, { model: route, messages }, { headers });
  assert.equal(r.status, 200, r.text);
  return {
    id: r.headers.get('x-switchboard-decision'),
    model: r.headers.get('x-switchboard-model'),
    replica: r.headers.get('x-switchboard-replica'),
    answer: r.json.choices[0].message.content,
  };
}

const sync = (gw, event) => metricSum(gw.base, 'switchboard_session_sync', { event });

describe('sessions across restarts', () => {
  let options;
  let gw;
  before(async () => {
    const echo = await echoUpstream();
    const replicas = ['r1', 'r2', 'r3'].map((name) => ({ url: echo.url, name }));
    options = {
      models: [model(A, replicas, { balancer }), model(B, replicas, { balancer })],
      routes: [
        { name: 'chat', policy: rules, session: { ttl_s: 600 } },
        { name: 'volatile', policy: rules, session: { ttl_s: 600, persist: false } },
      ],
      sqlite: path.join(tempDir('sb-sessions-'), 'decisions.db'),
    };
    gw = await startGateway(options);
  });
  after(() => stopAll());

  test('a conversation keeps its model, replica and turn count when the gateway restarts', async () => {
    const byHeader = { 'x-session-id': 'restart-1' };
    const volatile = { 'x-session-id': 'restart-2' };
    // Spread the replicas: the header-less conversation's first turn lands on another replica.
    const first = await turn(gw.base, 'chat', [{ role: 'user', content: HELLO }], byHeader);
    const prefix1 = await turn(gw.base, 'chat', [{ role: 'user', content: 'good morning' }]);
    const vfirst = await turn(gw.base, 'volatile', [{ role: 'user', content: HELLO }], volatile);
    for (const t of [first, prefix1, vfirst]) assert.equal(t.model, A);
    // The graceful stop writes what is still queued; the restart restores it before serving.
    await sleep(100);
    await gw.stop('SIGTERM');
    gw = await startGateway(options);

    const second = await turn(gw.base, 'chat', [{ role: 'user', content: CODE }], byHeader);
    assert.equal(second.model, A, 'the session stays on its model (the policy alone says B)');
    assert.equal(second.replica, first.replica, 'and on the replica of its last turn');
    const d2 = await getDecision(gw.base, second.id);
    assert.equal(d2.session.kind, 'header');
    assert.equal(d2.session.turn, 2);
    assert.equal(d2.session.action, 'stayed');
    assert.equal(d2.session.model, A);

    const prefix2 = await turn(gw.base, 'chat', [{ role: 'user', content: 'good morning' },
      { role: 'assistant', content: prefix1.answer }, { role: 'user', content: CODE }]);
    assert.equal(prefix2.model, A, 'a header-less conversation is found by its prefix');
    assert.equal(prefix2.replica, prefix1.replica);
    const dp = await getDecision(gw.base, prefix2.id);
    assert.equal(dp.session.kind, 'prefix');
    assert.equal(dp.session.turn, 2);

    // persist: false — the same turn on a route that keeps nothing starts over.
    const vsecond = await turn(gw.base, 'volatile', [{ role: 'user', content: CODE }], volatile);
    assert.equal(vsecond.model, B);
    assert.equal((await getDecision(gw.base, vsecond.id)).session.turn, 1);

    assert.equal(await sync(gw, 'restored'), 2);
  });

  test('a killed gateway loses no turn written before it died', async () => {
    const headers = { 'x-session-id': 'restart-kill' };
    // Written in the background within ~200 ms of each answer: this gateway saved the two turns of
    // the persisted route that the test above made on it, then these two.
    const saved = (n) => eventually(async () => (await sync(gw, 'saved')) === n, 10000, `${n} turns saved`);
    await saved(2);
    const t1 = await turn(gw.base, 'chat', [{ role: 'user', content: HELLO }], headers);
    assert.equal(t1.model, A);
    await saved(3);
    const t2 = await turn(gw.base, 'chat', [{ role: 'user', content: CODE }], headers);
    assert.equal(t2.model, A);
    await saved(4);  // then the process dies without a word
    await gw.stop('SIGKILL');
    gw = await startGateway(options);
    const t3 = await turn(gw.base, 'chat', [{ role: 'user', content: CODE }], headers);
    assert.equal(t3.model, A);
    assert.equal(t3.replica, t1.replica);
    const d3 = await getDecision(gw.base, t3.id);
    assert.equal(d3.session.turn, 3);
    assert.equal(d3.session.action, 'stayed');
    assert.equal(await sync(gw, 'save_dropped'), 0);
  });
});
