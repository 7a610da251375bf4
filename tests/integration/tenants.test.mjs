// Two API keys share nothing they did not agree to share: a session named by the same
// x-session-id, `user` or conversation is each key's own; the answer cache is each key's own by
// default (`cache.scope: key`), a team's with `scope: team`, everyone's with `scope: route`; an
// answer chosen under a routing header answers only requests with the same header; and an answer
// a session kept on its own model (against the route's policy) is not stored for anyone.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, model, stopAll, postChat, getDecision, sleep, eventually } from './lib/harness.mjs';
import { createKey, bearer } from './lib/keys.mjs';
import { echoUpstream } from './lib/echo_upstream.mjs';

const CHEAP = 'cheap';
const PRICEY = 'pricey';
// Prompts mentioning "code" go to PRICEY, everything else to CHEAP.
const rules = { type: 'rules', rules: [{ when: { keywords: ['code'] }, model: PRICEY }], default: CHEAP };
const TURN_GAP_MS = 100; // a session's turn is recorded just after its answer was sent

describe('tenants', () => {
  let gw;
  let alice;
  let mallory;
  let carol; // alice's team
  let loner1; // two keys without a team
  let loner2;
  before(async () => {
    const echo = await echoUpstream();
    gw = await startGateway({
      models: [model(CHEAP, echo.url), model(PRICEY, echo.url)],
      routes: [
        { name: 'chat', policy: rules, session: { sticky: true } },
        { name: 'small', policy: rules, session: { sticky: true, max_sessions: 3 } },
        { name: 'cached', policy: rules, cache: { ttl_s: 600, semantic: false } },
        { name: 'team_cached', policy: rules, cache: { ttl_s: 600, semantic: false, scope: 'team' } },
        { name: 'shared', policy: rules, session: { sticky: true },
          cache: { ttl_s: 600, semantic: false, scope: 'route' } },
      ],
      extraConfig: { auth: { required: true, reload_ms: 100 } },
    });
    alice = bearer(createKey(gw.sqlite, 'alice', { team: 'hr' }).secret);
    carol = bearer(createKey(gw.sqlite, 'carol', { team: 'hr' }).secret);
    mallory = bearer(createKey(gw.sqlite, 'mallory', { team: 'sales' }).secret);
    loner1 = bearer(createKey(gw.sqlite, 'loner1').secret);
    loner2 = bearer(createKey(gw.sqlite, 'loner2').secret);
    await eventually(async () => (await ask('chat', 'warm up', mallory)).status === 200, 10000, 'keys loaded');
  });
  after(stopAll);

  async function ask(route, content, headers, extra = {}) {
    const r = await postChat(gw.base, { model: route, messages: [{ role: 'user', content }], ...extra }, { headers });
    await sleep(TURN_GAP_MS);
    return r;
  }

  for (const [how, named] of [
    ['the same `user`', (id) => ({ body: { user: id }, headers: {} })],
    ['the same x-session-id', (id) => ({ body: {}, headers: { 'x-session-id': id } })],
  ]) {
    test(`${how} under two keys is two sessions`, async () => {
      const id = `end-user-${how.length}`;
      const m = named(id);
      const first = await ask('chat', 'write some code please', { ...mallory, ...m.headers }, m.body);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get('x-switchboard-model'), PRICEY);
      // Alice's end user has the same id: the policy's choice, a session of her own.
      const a = await ask('chat', 'hello, what time zone is Paris in?', { ...alice, ...m.headers }, m.body);
      assert.equal(a.headers.get('x-switchboard-model'), CHEAP, 'not kept on mallory\'s session model');
      const da = await getDecision(gw.base, a.headers.get('x-switchboard-decision'), { headers: alice });
      assert.equal(da.session.action, 'new');
      assert.equal(da.session.turn, 1);
      // Mallory's next turn is her session's turn 2: alice's request did not count in it.
      const again = await ask('chat', 'hello again', { ...mallory, ...m.headers }, m.body);
      const dm = await getDecision(gw.base, again.headers.get('x-switchboard-decision'), { headers: mallory });
      assert.equal(dm.session.turn, 2);
      assert.equal(dm.session.model, PRICEY);
      assert.notEqual(dm.session.id, da.session.id);
    });
  }

  test('a header-less conversation continued under another key is not the first key\'s session', async () => {
    const opening = [{ role: 'user', content: 'write code for a queue' }];
    const t1 = await postChat(gw.base, { model: 'chat', messages: opening }, { headers: mallory });
    const answer = t1.json.choices[0].message.content;
    await sleep(TURN_GAP_MS);
    const next = [...opening, { role: 'assistant', content: answer }, { role: 'user', content: 'thanks, bye' }];
    const own = await postChat(gw.base, { model: 'chat', messages: next }, { headers: mallory });
    const other = await postChat(gw.base, { model: 'chat', messages: next }, { headers: alice });
    const [d1, dOwn, dOther] = await Promise.all([t1, own, other].map((r) =>
      getDecision(gw.base, r.headers.get('x-switchboard-decision'),
        { headers: r === other ? alice : mallory })));
    assert.equal(dOwn.session.id, d1.session.id, 'the same key continues its conversation');
    assert.equal(dOwn.session.turn, 2);
    assert.notEqual(dOther.session.id, d1.session.id);
    assert.equal(dOther.session.action, 'new');
    assert.equal(dOther.session.turn, 1);
  });

  // The table's bound is shared fairly: a key that opens many sessions pushes out its own.
  test('a key opening many sessions does not push another key\'s session out', async () => {
    const keep = { 'x-session-id': 'loner-keeps-this' };
    const first = await ask('small', 'hello', { ...loner1, ...keep });
    assert.equal(first.status, 200, first.text);
    for (let i = 0; i < 8; i++) {
      const r = await ask('small', `hello ${i}`, { ...mallory, 'x-session-id': `flood-${i}` });
      assert.equal(r.status, 200, r.text);
    }
    const again = await ask('small', 'hello again', { ...loner1, ...keep });
    const d = await getDecision(gw.base, again.headers.get('x-switchboard-decision'), { headers: loner1 });
    assert.equal(d.session.turn, 2, JSON.stringify(d.session));
    // Mallory's oldest sessions went instead.
    const old = await ask('small', 'hello', { ...mallory, 'x-session-id': 'flood-0' });
    const dOld = await getDecision(gw.base, old.headers.get('x-switchboard-decision'), { headers: mallory });
    assert.equal(dOld.session.action, 'new');
  });

  test('cache.scope key (the default): another key\'s identical question is a miss', async () => {
    const q = 'Draft a termination letter for an employee in our Lyon office';
    assert.equal((await ask('cached', q, alice)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('cached', q, mallory)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('cached', q, carol)).headers.get('x-switchboard-cache'), 'miss', 'not even her team');
    assert.equal((await ask('cached', q, alice)).headers.get('x-switchboard-cache'), 'hit');
  });

  test('cache.scope team: shared within the team, not with other teams', async () => {
    const q = 'What is our parental leave policy?';
    assert.equal((await ask('team_cached', q, alice)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('team_cached', q, carol)).headers.get('x-switchboard-cache'), 'hit');
    assert.equal((await ask('team_cached', q, mallory)).headers.get('x-switchboard-cache'), 'miss');
    // Keys without a team are not one team.
    const secret = 'Summarise our confidential acquisition plan';
    assert.equal((await ask('team_cached', secret, loner1)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('team_cached', secret, loner2)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('team_cached', secret, loner1)).headers.get('x-switchboard-cache'), 'hit');
  });

  test('cache.scope route: shared by every key, but not across routing headers', async () => {
    const q = 'How many moons does Mars have?';
    assert.equal((await ask('shared', q, alice)).headers.get('x-switchboard-cache'), 'miss');
    assert.equal((await ask('shared', q, mallory)).headers.get('x-switchboard-cache'), 'hit');
    const cost = { 'x-switchboard-objective': 'cost' };
    assert.equal((await ask('shared', q, { ...mallory, ...cost })).headers.get('x-switchboard-cache'), 'miss',
      'an answer chosen for quality does not answer a request asking for cost');
    assert.equal((await ask('shared', q, { ...alice, ...cost })).headers.get('x-switchboard-cache'), 'hit');
  });

  test('an answer a session kept on its own model is not stored for others', async () => {
    const m = { 'x-session-id': 'mallory-pinned' };
    assert.equal((await ask('shared', 'hello there', { ...mallory, ...m })).headers.get('x-switchboard-model'), CHEAP);
    const q = 'write code for quicksort in rust';
    const pinned = await ask('shared', q, { ...mallory, ...m });
    assert.equal(pinned.headers.get('x-switchboard-model'), CHEAP, 'the session stayed on its model');
    const d = await getDecision(gw.base, pinned.headers.get('x-switchboard-decision'), { headers: mallory });
    assert.equal(d.session.action, 'stayed');
    assert.match(d.cache.note, /not stored/);
    const fresh = await ask('shared', q, alice);
    assert.equal(fresh.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(fresh.headers.get('x-switchboard-model'), PRICEY, 'the route\'s own choice');
  });
});
