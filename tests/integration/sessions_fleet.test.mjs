// Sessions across gateways sharing Redis (`state: {redis: URL}`, pipeline/session/shared_sessions.h):
// a conversation whose turns alternate between two gateways stays on the model and the replica of its
// first turn — by x-session-id, and header-less by its conversation prefix — while the same turns
// without a session go where the policy sends them; a gateway started later picks up the live
// sessions; with Redis gone every turn is still answered, each gateway keeping its own sessions.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, postChat, getDecision, sleep, eventually, metricSum, SLOWDOWN, reloadConfig,
} from './lib/harness.mjs';

// Turns reach the other gateways through Redis: a wait of seconds, longer under ASan (SLOWDOWN)
// on a loaded machine (a CI run's ASan pass missed 10 s while the machine also compiled).
const MERGE_WAIT_MS = 10000 * SLOWDOWN;
import { SKIP_NO_REDIS, twoGatewaysSharingRedis, startRedis } from './lib/redis.mjs';

const A = 'model-a';
const B = 'model-b';
// The rules policy sends prompts mentioning "code" to B, everything else to A.
const rules = { type: 'rules', rules: [{ when: { keywords: ['code'] }, model: B }], default: A };
const balancer = { type: 'session_affinity', inner: 'round_robin' };
const PROMPTS = ['hello, who are you?', 'now write some code for me', 'more code, in rust'];

const merged = (gw) => metricSum(gw.base, 'switchboard_session_sync', { event: 'merged' });
const published = (gw) => metricSum(gw.base, 'switchboard_session_sync', { event: 'published' });

// A gateway shows switchboard_session_sync once its session route served a request.
async function warmUp(gw) {
  const r = await postChat(gw.base, { model: 'chat', messages: [{ role: 'user', content: 'warm-up' }] },
    { headers: { 'x-session-id': `warm-up-${gw.port}` } });
  assert.equal(r.status, 200, r.text);
  await eventually(async () => (await published(gw)) >= 1, MERGE_WAIT_MS, 'the warm-up turn published');
}

// One turn on `gw`; then waits until every gateway of `peers` merged it (its merged count grew).
async function turn(gw, messages, { headers = {}, peers = [] } = {}) {
  const before = await Promise.all(peers.map(merged));
  const r = await postChat(gw.base, { model: 'chat', messages }, { headers });
  assert.equal(r.status, 200, r.text);
  await Promise.all(peers.map((p, i) => eventually(async () => (await merged(p)) > before[i], MERGE_WAIT_MS,
    `gateway ${p.port} merged the turn`)));
  return {
    id: r.headers.get('x-switchboard-decision'),
    model: r.headers.get('x-switchboard-model'),
    replica: r.headers.get('x-switchboard-replica'),
    answer: r.json.choices[0].message.content,
    gw,
  };
}

// PROMPTS as one conversation, turn i on gateways[i % n], each merged by the others first.
async function conversation(gateways, { headers } = {}) {
  const messages = [];
  const turns = [];
  for (const [i, p] of PROMPTS.entries()) {
    messages.push({ role: 'user', content: p });
    const gw = gateways[i % gateways.length];
    const t = await turn(gw, messages, { headers, peers: gateways.filter((g) => g !== gw) });
    messages.push({ role: 'assistant', content: t.answer });
    turns.push(t);
  }
  return { turns, messages };
}

describe('sessions across two gateways sharing Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let options;
  let gw1;
  let gw2;
  before(async () => {
    let gws;
    ({ redis, gws } = await twoGatewaysSharingRedis((url) => {
      const replicas = ['r1', 'r2', 'r3'].map((name) => ({ url, name }));
      options = {
        models: [model(A, replicas, { balancer }), model(B, replicas, { balancer })],
        routes: [{ name: 'chat', policy: rules, session: { sticky: true, ttl_s: 600 } }],
      };
      return options;
    }));
    [gw1, gw2] = gws;
    await Promise.all(gws.map(warmUp));
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  async function sessionsOf(turns) {
    return Promise.all(turns.map((t) => getDecision(t.gw.base, t.id).then((d) => d.session)));
  }

  test('x-session-id: turns alternating between the gateways stay on one model and one replica', async () => {
    const { turns } = await conversation([gw1, gw2], { headers: { 'x-session-id': 'fleet-conv-1' } });
    assert.deepEqual(turns.map((t) => t.model), [A, A, A]);
    assert.equal(new Set(turns.map((t) => t.replica)).size, 1, turns.map((t) => t.replica).join());
    const s = await sessionsOf(turns);
    assert.deepEqual(s.map((x) => x.turn), [1, 2, 3]);
    assert.deepEqual(s.map((x) => x.action), ['new', 'stayed', 'stayed']);
    assert.equal(new Set(s.map((x) => x.id)).size, 1);
    assert.equal(s[1].model, A, 'gateway 2 knew the session\'s model from gateway 1');
  });

  test('a header-less conversation is found by its prefix on the other gateway', async () => {
    const { turns } = await conversation([gw2, gw1]);
    assert.deepEqual(turns.map((t) => t.model), [A, A, A]);
    assert.equal(new Set(turns.map((t) => t.replica)).size, 1);
    const s = await sessionsOf(turns);
    assert.deepEqual(s.map((x) => x.kind), ['prefix', 'prefix', 'prefix']);
    assert.deepEqual(s.map((x) => x.turn), [1, 2, 3]);
    assert.equal(new Set(s.map((x) => x.id)).size, 1);
  });

  test('a gateway started later picks up the live sessions', async () => {
    const headers = { 'x-session-id': 'fleet-conv-late' };
    const { turns, messages } = await conversation([gw1, gw2], { headers });
    const gw3 = await startGateway(options);  // options: twoGatewaysSharingRedis added `state`
    await warmUp(gw3);
    // It reads the stream from its start: every turn the other two published so far.
    const all = (await published(gw1)) + (await published(gw2));
    await eventually(async () => (await merged(gw3)) >= all, MERGE_WAIT_MS, `gateway 3 merged ${all} turns`);
    messages.push({ role: 'user', content: 'and the code in go' });
    const t4 = await turn(gw3, messages, { headers });
    assert.equal(t4.model, A);
    assert.equal(t4.replica, turns[0].replica);
    const d = await getDecision(gw3.base, t4.id);
    assert.equal(d.session.turn, 4);
    assert.equal(d.session.action, 'stayed');
  });

  test('a turn published while Redis restarts waits for it and reaches the other gateway', async () => {
    // Redis restarted empty on its port: the turn's publish fails, waits (RedisWorker's hold), and
    // is sent once gateway 1 reconnects; gateway 2 reconnects too and reads the new stream.
    redis.proc.kill('SIGKILL');
    await sleep(100);
    const before = await merged(gw2);
    const t1 = await turn(gw1, [{ role: 'user', content: PROMPTS[0] }], { headers: { 'x-session-id': 'fleet-conv-blip' } });
    assert.equal(t1.model, A);
    redis = await startRedis(redis.port);
    await eventually(async () => (await merged(gw2)) > before, MERGE_WAIT_MS,
      'gateway 2 merged the turn published during the restart');
  });

  test('without Redis each gateway keeps its own sessions and answers every turn', async () => {
    redis.proc.kill('SIGKILL');
    await sleep(200);
    const headers = { 'x-session-id': 'fleet-conv-offline' };
    const messages = [{ role: 'user', content: PROMPTS[0] }];
    const t1 = await turn(gw1, messages, { headers });
    await sleep(300);
    messages.push({ role: 'assistant', content: t1.answer }, { role: 'user', content: PROMPTS[1] });
    const t2 = await turn(gw2, messages, { headers });
    assert.equal(t1.model, A);
    assert.equal(t2.model, B, 'gateway 2 never heard of the session: the policy decides');
    assert.equal((await getDecision(gw2.base, t2.id)).session.action, 'new');
    const t3 = await turn(gw2, [...messages, { role: 'assistant', content: t2.answer },
      { role: 'user', content: 'hello again' }], { headers });
    assert.equal(t3.model, B, 'gateway 2 keeps its own session');
    await eventually(async () => (await metricSum(gw1.base, 'switchboard_session_sync',
      { event: 'dropped' })) >= 1, MERGE_WAIT_MS, 'gateway 1 counted the turn it could not publish');
  });

  test('a reload without `state` drops the fleet sync series from /metrics', async () => {
    const fleetSeries = async () => (await fetch(`${gw1.base}/metrics`).then((r) => r.text()))
      .split('\n').filter((l) => l.startsWith('switchboard_session_sync{event="published"}'));
    assert.equal((await fleetSeries()).length, 1);
    await reloadConfig(gw1, (cfg) => { delete cfg.state; }, 1);
    // Every worker drops the old runtime (and its fleet link) at the reload, not at its next
    // request: none is sent before the series are gone.
    await eventually(async () => (await fleetSeries()).length === 0, MERGE_WAIT_MS,
      'the published series left /metrics');
    const r = await postChat(gw1.base, { model: 'chat', messages: [{ role: 'user', content: 'after' }] },
      { headers: { 'x-session-id': 'fleet-after-reload' } });
    assert.equal(r.status, 200, r.text);
  });
});
