// Replica failure handling through real processes: a replica killed mid-run (no request lost,
// traffic moves away, and comes back after the replica restarts on the same port), fallback to
// another model when a model has no healthy replica (the decision record lists the attempts), and
// retries bounded by max_attempts and by the retry budget.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getDecision,
  fakeUpstream, closedPort, completionJson, parseMetrics, metricSum, sleep, GPT4, MIXTRAL,
} from './lib/harness.mjs';

const replicaOf = (r) => r.headers.get('x-switchboard-replica');

describe('a replica killed mid-run', () => {
  let backends;
  let gw;
  before(async () => {
    backends = await Promise.all([0, 1, 2].map(() => startReplay({ model: GPT4 })));
    gw = await startGateway({
      models: [model(GPT4, backends.map((b) => b.url), {
        outlier_ejection: { consecutive_failures: 1, base_ejection_ms: 300, max_ejection_ms: 1000 },
        health_check: { path: '/health', interval_ms: 100, timeout_ms: 200, unhealthy_after: 1, healthy_after: 1 },
      })],
    });
  });
  after(stopAll);

  test('no request is lost, traffic moves away, and comes back after a restart', async () => {
    const victim = backends[1];
    const victimId = `127.0.0.1:${victim.port}`;  // in records and metrics
    const victimName = '#2';  // what clients are told (x-switchboard-replica): its position
    const results = [];
    let sent = 0;
    let killed = false;
    // Four clients in parallel; the victim is killed once 20 requests were sent.
    const client = async () => {
      while (sent < 80) {
        const i = sent++;
        if (i === 20 && !killed) {
          killed = true;
          victim.proc.kill('SIGKILL');
        }
        const p = demoPrompt(GPT4, i % 10);
        const sentAfterKill = killed;
        const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
        results.push({ i, afterKill: sentAfterKill, status: r.status, replica: replicaOf(r), ok: r.json?.choices?.[0]?.message?.content === p.response, id: r.headers.get('x-switchboard-decision') });
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    assert.equal(results.length, 80);
    for (const r of results) assert.equal(r.status, 200, `request ${r.i} failed`);
    assert.ok(results.every((r) => r.ok), 'every answer is the recorded one');
    // Once the kill was noticed, the victim gets nothing: the last 40 requests all went elsewhere.
    const late = results.filter((r) => r.i >= 40);
    assert.equal(late.filter((r) => r.replica === victimName).length, 0, 'no answer from the dead replica');
    const early = results.filter((r) => r.i < 20);
    assert.ok(early.some((r) => r.replica === victimName), 'the victim served requests before the kill');
    // Traffic moves away: of the requests sent after the kill, the first that finds the victim dead
    // ejects it (unless a request in flight at the kill or the health check got there first), and
    // perhaps one probe tries it when the ejection runs out before the health check marks it down;
    // each of those was retried elsewhere.
    const after = results.filter((r) => r.afterKill);
    const decisions = await Promise.all(after.map((r) => getDecision(gw.base, r.id)));
    const onVictim = decisions.flatMap((d) => d.attempts.filter((a) => a.replica === victimId));
    assert.ok(onVictim.length <= 7, `${onVictim.length} attempts on the dead replica`);
    assert.ok(onVictim.every((a) => a.result !== 'ok'));
    const retried = decisions.filter((d) => d.attempts.some((a) => a.replica === victimId));
    for (const d of retried) assert.equal(d.attempts.at(-1).result, 'ok', 'retried on another replica');

    // The health check marks it unavailable.
    let metrics;
    for (const until = Date.now() + 3000; Date.now() < until; await sleep(100)) {
      metrics = parseMetrics(await (await fetch(`${gw.base}/metrics`)).text());
      const m = metrics.find((x) => x.name === 'switchboard_replica_available' && x.labels.replica === victimId);
      if (m?.value === 0) break;
    }
    assert.equal(metrics.find((x) => x.name === 'switchboard_replica_available' && x.labels.replica === victimId)?.value, 0);

    // Restarted on the same port, it is picked again.
    const revived = await startReplay({ model: GPT4, port: victim.port });
    let back = false;
    for (const until = Date.now() + 5000; Date.now() < until && !back; await sleep(50)) {
      const r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, 3).prompt));
      assert.equal(r.status, 200);
      back = replicaOf(r) === victimName;
    }
    assert.ok(back, 'the restarted replica gets traffic again');
    assert.ok((await revived.stats()).requests > 0);
  });
});

describe('fallback to another model and retry bounds', () => {
  let gpt4;
  let gw;
  let failing;
  let slowFailing;
  let overloaded;
  let downPorts;
  before(async () => {
    gpt4 = await startReplay({ model: GPT4 });
    downPorts = await Promise.all([closedPort(), closedPort()]);
    // Three replicas that always answer 503 at once, three that answer 503 after 300 ms.
    failing = await Promise.all([0, 1, 2].map(() => fakeUpstream((req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: 'busy' } }));
    })));
    slowFailing = await Promise.all([0, 1, 2].map(() => fakeUpstream(async (req, res) => {
      await sleep(300);
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: 'busy' } }));
    })));
    // Anthropic's own overload status, with its wait.
    overloaded = await fakeUpstream((req, res) => {
      res.writeHead(529, { 'content-type': 'application/json', 'retry-after': '9' });
      res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: 'overloaded' } }));
    });
    gw = await startGateway({
      models: [
        model(GPT4, gpt4.url),
        model('always-529', overloaded.url, { retry: { max_attempts: 1 }, outlier_ejection: { consecutive_failures: 0 } }),
        model(MIXTRAL, downPorts.map((p) => `http://127.0.0.1:${p}`), {
          outlier_ejection: { consecutive_failures: 1, base_ejection_ms: 60000, max_ejection_ms: 60000 },
        }),
        model('always-503', failing.map((f) => f.url), {
          balancer: 'round_robin', retry: { max_attempts: 3, budget_percent: 100, min_retries: 100 },
          outlier_ejection: { consecutive_failures: 0 },
        }),
        model('slow-503', slowFailing.map((f) => f.url), {
          retry: { max_attempts: 3, budget_percent: 0, min_retries: 1 },
          outlier_ejection: { consecutive_failures: 0 },
        }),
      ],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } }],
    });
  });
  after(stopAll);

  test('both replicas down: retried on the other, then the fallback model; the record says so', async () => {
    const p = demoPrompt(GPT4, 0);
    const r = await postChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => [a.model, a.result]),
      [[MIXTRAL, 'upstream_unreachable'], [MIXTRAL, 'upstream_unreachable'], [GPT4, 'ok']]);
    assert.deepEqual(new Set(d.attempts.slice(0, 2).map((a) => a.replica)),
      new Set(downPorts.map((port) => `127.0.0.1:${port}`)), 'two different replicas');
    // The first failure ejected the first replica (consecutive_failures: 1) before the retry's pick.
    assert.equal(d.attempts[0].unavailable, undefined);
    assert.equal(d.attempts[2].unavailable, undefined);
    assert.match(d.reason, /fell back to/);
    assert.equal(d.model, GPT4);
  });

  test('once both are ejected, the model is skipped without an attempt', async () => {
    const p = demoPrompt(GPT4, 1);
    const r = await postChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(r.status, 200, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => [a.model, a.result]), [[MIXTRAL, 'no_healthy_replica'], [GPT4, 'ok']]);
    assert.equal(d.attempts[0].unavailable, 2);
    assert.match(d.reason, /no healthy replica of mistralai/);
  });

  test('a model named directly with every replica ejected is still tried (and the record says so)', async () => {
    const r = await postChat(gw.base, chatBody(MIXTRAL, 'hello'));
    assert.equal(r.status, 502, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.match(d.reason, /ejected or down, tried anyway/);
    assert.equal(d.attempts[0].unavailable, 2, 'both replicas were ejected when it was picked');
    // Every replica, not the first alone (since session 30: the first failure ended the loop).
    assert.deepEqual(d.attempts.map((a) => a.result), ['upstream_unreachable', 'upstream_unreachable']);
    assert.notEqual(d.attempts[0].replica, d.attempts[1].replica);
  });

  test('a 529 is passed on with its Retry-After, as 429 and 503 are (since session 34)', async () => {
    const r = await postChat(gw.base, chatBody('always-529', 'hello'));
    assert.equal(r.status, 529, r.text);
    assert.equal(r.headers.get('retry-after'), '9');
  });

  test('every replica answers 503: exactly max_attempts attempts on distinct replicas, 503 passed on', async () => {
    const before = failing.map((f) => f.requests.length);
    for (let i = 0; i < 5; i++) {
      const r = await postChat(gw.base, chatBody('always-503', 'hello'));
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.error.code, 'busy', 'the upstream error body is passed on');
      assert.equal(r.headers.get('retry-after'), '7', 'and its Retry-After');
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.deepEqual(d.attempts.map((a) => a.result), ['upstream_status_503', 'upstream_status_503', 'upstream_status_503']);
      assert.equal(new Set(d.attempts.map((a) => a.replica)).size, 3);
      assert.equal(d.outcome, 'upstream_error');
    }
    const sent = failing.reduce((n, f, i) => n + f.requests.length - before[i], 0);
    assert.equal(sent, 15, '5 requests × 3 attempts, never more');
    // The upstream's own error passed on is an error of the request's, counted by its code.
    assert.equal(await metricSum(gw.base, 'switchboard_request_errors_total',
                                 { model: 'always-503', code: 'upstream_status_503' }), 5);
  });

  test('the retry budget caps concurrent retries; exhaustion is recorded and counted', async () => {
    const before = slowFailing.reduce((n, f) => n + f.requests.length, 0);
    const N = 10;
    const rs = await Promise.all(Array.from({ length: N }, () => postChat(gw.base, chatBody('slow-503', 'hi'))));
    const ds = await Promise.all(rs.map((r) => getDecision(gw.base, r.headers.get('x-switchboard-decision'))));
    for (const r of rs) assert.equal(r.status, 503);
    const real = ds.map((d) => d.attempts.filter((a) => a.replica));
    for (const a of real) assert.ok(a.length >= 1 && a.length <= 3, `attempts: ${a.length}`);
    const exhausted = ds.filter((d) => d.attempts.some((a) => a.result === 'budget_exhausted'));
    assert.ok(exhausted.length >= N - 3, `budget exhaustion recorded in ${exhausted.length} of ${N} decisions`);
    const sent = slowFailing.reduce((n, f) => n + f.requests.length, 0) - before;
    const retries = real.reduce((n, a) => n + a.length - 1, 0);
    assert.equal(sent, N + retries, 'the upstreams saw exactly the recorded attempts');
    assert.ok(retries <= 4, `${retries} retries with a budget of 1 concurrent retry`);
    const m = parseMetrics(await (await fetch(`${gw.base}/metrics`)).text());
    const counted = m.find((x) => x.name === 'switchboard_retry_budget_exhausted_total' && x.labels.model === 'slow-503');
    assert.equal(counted?.value, exhausted.length);
  });
});

describe('retries and the first byte', () => {
  let good;
  let droppers;
  let gw;
  let downPort;
  before(async () => {
    [good, downPort, ...droppers] = await Promise.all([
      startReplay({ model: GPT4 }), closedPort(), startReplay({ model: GPT4, dropRate: 1 }), startReplay({ model: GPT4, dropRate: 1 }),
    ]);
    const noEjection = { outlier_ejection: { consecutive_failures: 0 } };
    gw = await startGateway({
      models: [
        model('half-down', [`http://127.0.0.1:${downPort}`, good.url].map((url) => ({ url, upstream_model: GPT4 })),
          { balancer: 'round_robin', ...noEjection }),
        model('droppers', droppers.map((d) => ({ url: d.url, upstream_model: GPT4 })), noEjection),
      ],
    });
  });
  after(stopAll);

  test('a stream whose replica is unreachable is retried on another before any byte is sent', async () => {
    let retried = 0;
    for (let i = 0; i < 2; i++) {
      const p = demoPrompt(GPT4, i);
      const s = await streamChat(gw.base, chatBody('half-down', p.prompt));
      assert.equal(s.status, 200);
      assert.equal(s.text, p.response);
      assert.equal(s.events.at(-1).data, '[DONE]');
      const d = await getDecision(gw.base, s.headers.get('x-switchboard-decision'));
      if (d.attempts.length === 2) {
        retried++;
        assert.deepEqual(d.attempts.map((a) => a.result), ['upstream_unreachable', 'ok']);
      }
    }
    assert.ok(retried >= 1, 'round robin sent a stream to the dead replica first');
  });

  test('a stream that broke after its first bytes is not retried: one attempt, one error event', async () => {
    const before = (await droppers[0].stats()).requests + (await droppers[1].stats()).requests;
    const s = await streamChat(gw.base, chatBody('droppers', demoPrompt(GPT4, 2).prompt));
    assert.equal(s.status, 200);
    assert.equal(s.events.filter((e) => e.json?.error).length, 1);
    assert.equal(s.events.at(-1).data, '[DONE]');
    const d = await getDecision(gw.base, s.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.attempts.length, 1);
    const after = (await droppers[0].stats()).requests + (await droppers[1].stats()).requests;
    assert.equal(after - before, 1, 'the upstreams saw one request');
  });

  test('a plain answer cut short upstream is retried (the client has received nothing yet)', async () => {
    const r = await postChat(gw.base, chatBody('droppers', demoPrompt(GPT4, 3).prompt));
    assert.equal(r.status, 502, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts.length, 2, 'both replicas, once each');
    assert.equal(new Set(d.attempts.map((a) => a.replica)).size, 2);
    assert.ok(d.attempts.every((a) => a.result === 'upstream_unreachable'), JSON.stringify(d.attempts));
  });
});
