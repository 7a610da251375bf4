// Implicit feedback (docs/online.md): with `feedback: {implicit: {window_s: N}}`, the same client
// asking the same prompt of the same route again within N s stores a negative score for the first
// answer (kind `implicit`), which the route's learning policy learns like POST /v1/feedback's —
// and never when the decision already had feedback, nor after the window, nor for another prompt;
// with gateways sharing Redis, also when the repeat reaches another gateway (even while the first
// gateway's link to Redis is down).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, getJson, sleep, parseMetrics, tempDir, startProcess, eventually, metricSum
} from './lib/harness.mjs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { echoUpstream } from './lib/echo_upstream.mjs';
import { SKIP_NO_REDIS, twoGatewaysSharingRedis, startRedis } from './lib/redis.mjs';
import { startRespProxy } from './lib/resp_proxy.mjs';

const A = 'model-a';
const B = 'model-b';
const WINDOW_S = 1.5;

async function post(base, p, body) {
  const res = await fetch(`${base}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

async function ask(base, route, prompt) {
  const r = await postChat(base, chatBody(route, prompt));
  assert.equal(r.status, 200, r.text);
  return { id: r.headers.get('x-switchboard-decision'), model: r.headers.get('x-switchboard-model') };
}

const metric = metricSum;

const implicitAccepted = (base, route) =>
  metric(base, 'switchboard_feedback_total', { route, kind: 'implicit', result: 'accepted' });

describe('implicit feedback', () => {
  let gw;
  before(async () => {
    const echo = await echoUpstream();
    gw = await startGateway({
      models: [model(A, echo.url), model(B, echo.url)],
      routes: [
        { name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } },
        { name: 'fixed', policy: { type: 'static', model: A } },
        { name: 'cached', policy: { type: 'static', model: A }, cache: { ttl_s: 600 } },
        { name: 'ranked', policy: { type: 'elo' } },
      ],
      extraConfig: { feedback: { implicit: { window_s: WINDOW_S } } },
    });
  });
  after(() => stopAll());

  test('re-asking within the window scores the first answer 0, learned by the policy', async () => {
    const first = await ask(gw.base, 'adaptive', 'what is the capital of france');
    await sleep(150);  // the first decision's record and context are written after its answer
    const learnedBefore = await metric(gw.base, 'switchboard_feedback_learned_total', { route: 'adaptive', result: 'applied' });
    await ask(gw.base, 'adaptive', 'what is the capital of france');
    assert.equal(await eventually(async () => (await implicitAccepted(gw.base, 'adaptive')) === 1), true);
    assert.ok(await eventually(async () => (await metric(gw.base, 'switchboard_feedback_learned_total',
      { route: 'adaptive', result: 'applied' })) === learnedBefore + 1), 'the bandit learned it');
    // The first decision now has feedback: an explicit one is refused like a second feedback.
    const r = await post(gw.base, '/v1/feedback', { decision_id: first.id, score: 1 });
    assert.equal(r.status, 409, r.text);
  });

  test('a repeat on a cached route is scored and answered afresh, not served the same answer', async () => {
    const q = (p) => postChat(gw.base, chatBody('cached', p, { temperature: 0 }));
    const first = await q('what is the boiling point of water');
    assert.equal(first.headers.get('x-switchboard-cache'), 'miss');
    await sleep(150);
    const accepted = await implicitAccepted(gw.base, 'cached');
    const again = await q('what is the boiling point of water');
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers.get('x-switchboard-cache'), 'bypass', 'the cached answer did not do');
    assert.notEqual(again.headers.get('x-switchboard-decision'), first.headers.get('x-switchboard-decision'));
    assert.ok(await eventually(async () => (await implicitAccepted(gw.base, 'cached')) === accepted + 1),
      'the first answer was scored');
    const d = await getJson(gw.base, `/v1/decisions/${again.headers.get('x-switchboard-decision')}`);
    assert.equal(d.json.cache.status, 'bypass');
    assert.match(d.json.cache.note, /repeat.*answered afresh; stored/);
    // After the window the fresh answer is served from the cache again.
    await sleep(WINDOW_S * 1000 + 200);
    const later = await q('what is the boiling point of water');
    assert.equal(later.headers.get('x-switchboard-cache'), 'hit');
  });

  test('not when the decision already has explicit feedback', async () => {
    const before = await metric(gw.base, 'switchboard_feedback_total', { route: 'adaptive', kind: 'implicit', result: 'duplicate' });
    const first = await ask(gw.base, 'adaptive', 'name three primary colours');
    await sleep(150);
    const r = await post(gw.base, '/v1/feedback', { decision_id: first.id, score: 1 });
    assert.equal(r.status, 200, r.text);
    await ask(gw.base, 'adaptive', 'name three primary colours');
    assert.ok(await eventually(async () => (await metric(gw.base, 'switchboard_feedback_total',
      { route: 'adaptive', kind: 'implicit', result: 'duplicate' })) === before + 1));
    assert.equal(await implicitAccepted(gw.base, 'adaptive'), 1);
  });

  test('not after the window, nor for another prompt or route', async () => {
    await ask(gw.base, 'adaptive', 'how tall is mount everest');
    await sleep(WINDOW_S * 1000 + 300);
    await ask(gw.base, 'adaptive', 'how tall is mount everest');  // too late
    await ask(gw.base, 'adaptive', 'how deep is the mariana trench');  // another prompt
    await ask(gw.base, 'fixed', 'how deep is the mariana trench');  // another route
    await sleep(400);
    assert.equal(await implicitAccepted(gw.base, 'adaptive'), 1);
    assert.equal(await implicitAccepted(gw.base, 'fixed'), 0);
  });

  test('an elo route (preferences only) stores no implicit score: the pair can still be rated', async () => {
    const first = await ask(gw.base, 'ranked', 'which is better, tea or coffee');
    await sleep(150);
    const second = await ask(gw.base, 'ranked', 'which is better, tea or coffee');
    assert.ok(await eventually(async () => (await metric(gw.base, 'switchboard_feedback_total',
      { route: 'ranked', kind: 'implicit', result: 'not_learned' })) === 1));
    assert.equal(await implicitAccepted(gw.base, 'ranked'), 0);
    // The re-ask is how the client got its two answers; its preference is taken (it was 409:
    // the implicit score, which elo never learns, had used the first decision's one feedback).
    const r = await post(gw.base, '/v1/feedback', { decision_a: first.id, decision_b: second.id, winner: 'b' });
    assert.equal(r.status, 200, r.text);
  });

  test('a route whose policy does not learn stores it without learning', async () => {
    await ask(gw.base, 'fixed', 'spell necessary');
    await sleep(150);
    await ask(gw.base, 'fixed', 'spell necessary');
    assert.ok(await eventually(async () => (await implicitAccepted(gw.base, 'fixed')) === 1));
    assert.ok(await eventually(async () => (await metric(gw.base, 'switchboard_feedback_learned_total',
      { route: 'fixed', result: 'no_context' })) >= 1));
  });
});

describe('implicit feedback config', () => {
  after(() => stopAll());
  test('a bad window is refused at start, naming its line', async () => {
    const dir = tempDir('sb-implicit-');
    for (const [feedback, needle] of [['{implicit: {window_s: 0}}', /feedback\.implicit\.window_s must be/],
      ['{implicit: {score: 0.5}}', /window_s is required/], ['{implicit: {window_s: 5, colour: 1}}', /unknown key 'colour'/],
      ['{explicit: 1}', /unknown key 'explicit'/],
      ['{context_cache: {ttl_s: 0}}', /feedback\.context_cache\.ttl_s must be in \[1, 604800\]/],
      ['{context_cache: {max_entries: many}}', /context_cache\.max_entries must be an integer/],
      ['{context_cache: {entries: 5}}', /context_cache: unknown key 'entries'/]]) {
      const cfg = 'models:\n  - {name: a, replicas: [{url: "http://127.0.0.1:9"}]}\nroutes:\n' +
        `  - name: r\n    policy: {type: static, model: a}\nfeedback: ${feedback}\n`;
      const configPath = path.join(dir, 'c.yaml');
      writeFileSync(configPath, cfg);
      const proc = startProcess('gateway(bad feedback)', ['serve', '--config', configPath]);
      proc.stopping = true; // exiting is what we expect
      const { code } = await proc.exited;
      assert.notEqual(code, 0, proc.output);
      assert.match(proc.output, needle);
      assert.match(proc.output, /c\.yaml:\d+:\d+: feedback/);
    }
  });
});

// Gateways sharing state (`state: {redis: URL}`) share the repeat table too
// (pipeline/learning/shared_repeats.h): the client's repeat on the *other* gateway scores the first
// answer on the gateway that gave it (its record and context are there), and both learn it through
// the shared feedback stream; a repeat on the same gateway is still counted once.
describe('implicit feedback across two gateways sharing Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let gw1;
  let gw2;
  before(async () => {
    let gws;
    ({ redis, gws } = await twoGatewaysSharingRedis((url) => ({
      models: [model(A, url), model(B, url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
      extraConfig: { feedback: { implicit: { window_s: 5 } } },
    })));
    [gw1, gw2] = gws;
  });
  after(async () => {
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  const observations = (base) => metric(base, 'switchboard_learning_observations', { route: 'adaptive' });

  test('a repeat on the other gateway scores the first answer where it was given', async () => {
    const first = await ask(gw1.base, 'adaptive', 'which planet is the largest');
    await sleep(200);  // its record, context and the fleet's entry are written after the answer
    await ask(gw2.base, 'adaptive', 'which planet is the largest');
    assert.ok(await eventually(async () => (await implicitAccepted(gw1.base, 'adaptive')) === 1),
      'gateway 1 stored the implicit feedback on its decision');
    assert.equal(await implicitAccepted(gw2.base, 'adaptive'), 0);
    assert.equal(await metric(gw1.base, 'switchboard_implicit_feedback_shared', { event: 'delivered' }), 1);
    assert.equal(await metric(gw2.base, 'switchboard_implicit_feedback_shared', { event: 'delivered' }), 0);
    // Learned by both through the shared feedback stream.
    assert.ok(await eventually(async () => (await observations(gw1.base)) === 1 && (await observations(gw2.base)) === 1));
    const again = await post(gw1.base, '/v1/feedback', { decision_id: first.id, score: 1 });
    assert.equal(again.status, 409, again.text);
  });

  test('a repeat on the same gateway counts once; another prompt not at all', async () => {
    await ask(gw2.base, 'adaptive', 'what is the boiling point of water');
    await sleep(200);
    await ask(gw2.base, 'adaptive', 'what is the boiling point of water');
    await ask(gw1.base, 'adaptive', 'what is the freezing point of water');
    assert.ok(await eventually(async () => (await implicitAccepted(gw2.base, 'adaptive')) === 1));
    await sleep(500);  // time for a second count, were there one
    const duplicates = (base) => metric(base, 'switchboard_feedback_total', { route: 'adaptive', kind: 'implicit', result: 'duplicate' });
    assert.equal(await implicitAccepted(gw2.base, 'adaptive'), 1);
    assert.equal(await implicitAccepted(gw1.base, 'adaptive'), 1);  // the first test's only
    assert.equal(await duplicates(gw1.base) + await duplicates(gw2.base), 0);
  });
});

// Lost links and replies: the repeat reaches the other gateway while the first one's link to Redis
// is cut — once it reconnects, the first gateway reads the stream on from where it was (not from
// its new end), so the repeat still scores its answer; and the other gateway's link drops right
// after Redis ran a repeat job — the job runs again after the reconnection and the repeat is
// delivered, once.
describe('implicit feedback across lost links to Redis', { skip: SKIP_NO_REDIS }, () => {
  let redis;
  let proxy;   // gateway 1's way to Redis
  let lossy;   // gateway 2's: when asked, loses the reply to its next repeat job with the connection
  let dropNextRepeat = false;
  let gw1;
  let gw2;
  before(async () => {
    const echo = await echoUpstream();
    redis = await startRedis();
    proxy = await startRespProxy(redis.port, () => null);
    lossy = await startRespProxy(redis.port, (name) => {
      if (!dropNextRepeat || (name !== 'EVAL' && name !== 'GETDEL')) return null;
      dropNextRepeat = false;
      return 'DROP';
    });
    const options = (url) => ({
      models: [model(A, echo.url), model(B, echo.url)],
      routes: [{ name: 'adaptive', policy: { type: 'bandit', alpha: 0.2 } }],
      extraConfig: { feedback: { implicit: { window_s: 10 } }, state: { redis: url } },
    });
    [gw1, gw2] = await Promise.all([startGateway(options(proxy.url)), startGateway(options(lossy.url))]);
  });
  after(async () => {
    await proxy?.close();
    await lossy?.close();
    redis?.proc.kill('SIGKILL');
    await stopAll();
  });

  test('a repeat sent while the owner is disconnected is read after it reconnects', async () => {
    await ask(gw1.base, 'adaptive', 'how far away is the moon');
    await sleep(300);  // the owner's entry reaches Redis after the answer
    proxy.cut(1500);
    await sleep(200);  // gateway 1's next poll finds the link down
    await ask(gw2.base, 'adaptive', 'how far away is the moon');
    assert.ok(await eventually(async () => (await implicitAccepted(gw1.base, 'adaptive')) === 1, 10000,
      'gateway 1 scored its answer after reconnecting'));
    assert.equal(await metric(gw1.base, 'switchboard_implicit_feedback_shared', { event: 'delivered' }), 1);
  });

  test('a repeat job whose reply was lost runs again and is delivered once', async () => {
    const delivered = () => metric(gw1.base, 'switchboard_implicit_feedback_shared', { event: 'delivered' });
    const [accepted0, delivered0] = [await implicitAccepted(gw1.base, 'adaptive'), await delivered()];
    await ask(gw1.base, 'adaptive', 'what is the speed of light');
    await sleep(300);
    dropNextRepeat = true;
    await ask(gw2.base, 'adaptive', 'what is the speed of light');
    assert.ok(await eventually(async () => (await implicitAccepted(gw1.base, 'adaptive')) === accepted0 + 1, 10000,
      'gateway 1 scored its answer'));
    assert.equal(dropNextRepeat, false, 'the reply was dropped');
    await sleep(500);  // time for a second delivery, were there one
    assert.equal(await implicitAccepted(gw1.base, 'adaptive'), accepted0 + 1);
    assert.equal(await delivered(), delivered0 + 1);
    assert.equal(await metric(gw1.base, 'switchboard_feedback_total', { route: 'adaptive', kind: 'implicit', result: 'duplicate' }), 0);
  });
});
