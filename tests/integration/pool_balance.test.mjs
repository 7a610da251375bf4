// Load-aware balancing through real processes: least_outstanding sends a slow replica fewer
// requests, and uses the load replicas report on /metrics (vLLM gauges) when load_metrics is on;
// an active health check takes an unhealthy replica out and puts it back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, sleep, GPT4,
  fakeUpstream, completionJson,
} from './lib/harness.mjs';

// Clients are told a replica's position ("#1" for the first listed), not its address.
const replicaOf = (r) => r.headers.get('x-switchboard-replica');

// Waits until the gateway's last load report of `replica` says `waiting` requests wait (its
// switchboard_replica_reported_waiting gauge), so a test acts on a report the gateway has, not on
// a guess at scrape timing.
async function reportedWaiting(gw, replica, waiting, deadlineMs = 10000) {
  const line = new RegExp(`^switchboard_replica_reported_waiting\\{[^}]*replica="${replica}"[^}]*\\} (-?\\d+)$`, 'm');
  let last;
  for (const end = Date.now() + deadlineMs; Date.now() < end; await sleep(50)) {
    last = (await (await fetch(`${gw.base}/metrics`)).text()).match(line)?.[1];
    if (Number(last) === waiting) return;
  }
  assert.fail(`replica ${replica}: reported waiting ${last}, expected ${waiting}`);
}

// Two replay backends of GPT-4 behind one gateway, the model configured with `extra`.
async function twoReplicas(extra) {
  const [a, b] = await Promise.all([startReplay({ model: GPT4 }), startReplay({ model: GPT4 })]);
  const gw = await startGateway({ models: [model(GPT4, [a.url, b.url], extra)] });
  return { a, b, gw };
}

async function countPerReplica(base, n, concurrency, name = GPT4) {
  const counts = {};
  let i = 0;
  const client = async () => {
    while (i < n) {
      const k = i++;
      const r = await postChat(base, chatBody(name, demoPrompt(GPT4, k % 10).prompt));
      assert.equal(r.status, 200, r.text);
      counts[replicaOf(r)] = (counts[replicaOf(r)] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return counts;
}

describe('a slow replica', () => {
  let fast;
  let slow;
  let gw;
  before(async () => {
    [fast, slow] = await Promise.all([startReplay({ model: GPT4 }), startReplay({ model: GPT4, ttftMs: 300 })]);
    gw = await startGateway({ models: [model(GPT4, [fast.url, slow.url])] });
  });
  after(stopAll);

  test('least_outstanding sends it measurably less', async () => {
    const counts = await countPerReplica(gw.base, 60, 4);
    const f = counts['#1'] ?? 0;
    const s = counts['#2'] ?? 0;
    assert.equal(f + s, 60);
    assert.ok(s >= 1, 'the slow replica is not excluded');
    assert.ok(s * 3 < f, `slow ${s} vs fast ${f}`);
  });
});

describe('reported load', () => {
  let a;
  let b;
  let gw;
  before(async () => {
    ({ a, b, gw } = await twoReplicas({ load_metrics: { path: '/metrics', interval_ms: 100 } }));
  });
  after(stopAll);

  test('the replay backend exposes vLLM gauges', async () => {
    await b.setFaults({ extra_waiting: 7 });
    const text = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(text, /^vllm:num_requests_running\{model_name="[^"]+"\} 0(\.0)?$/m);
    assert.match(text, /^vllm:num_requests_waiting\{model_name="[^"]+"\} 7(\.0)?$/m);
    assert.match(text, /^vllm:gpu_cache_usage_perc\{/m);
    await b.setFaults({ extra_waiting: 0 });
  });

  // A report is up to one interval old, and a request that ended between the server's count and the
  // answer's arrival can count until the next scrape: so a rough split, not an exact one.
  test('with equal load both replicas are used; a reported backlog steers traffic away', async () => {
    await reportedWaiting(gw, `127.0.0.1:${a.port}`, 0);
    await reportedWaiting(gw, `127.0.0.1:${b.port}`, 0);
    const even = await countPerReplica(gw.base, 20, 1);
    assert.ok((even['#1'] ?? 0) >= 5, JSON.stringify(even));
    assert.ok((even['#2'] ?? 0) >= 5, JSON.stringify(even));
    await b.setFaults({ extra_waiting: 50 });
    await reportedWaiting(gw, `127.0.0.1:${b.port}`, 50);
    const steered = await countPerReplica(gw.base, 20, 2);
    assert.equal(steered['#1'], 20, JSON.stringify(steered));
    await b.setFaults({ extra_waiting: 0 });
    await reportedWaiting(gw, `127.0.0.1:${b.port}`, 0);
    const again = await countPerReplica(gw.base, 20, 1);
    assert.ok((again['#2'] ?? 0) >= 5, JSON.stringify(again));
  });
});

describe('active health checks', () => {
  let a;
  let b;
  let gw;
  before(async () => {
    ({ a, b, gw } = await twoReplicas({
      health_check: { path: '/health', interval_ms: 100, timeout_ms: 200, unhealthy_after: 2, healthy_after: 2 },
    }));
  });
  after(stopAll);

  test('a replica failing its health check gets nothing until it passes again', async () => {
    const both = await countPerReplica(gw.base, 10, 1);
    assert.equal(both['#1'], 5);
    await a.setFaults({ unhealthy: 1 });
    await sleep(500);
    const down = await countPerReplica(gw.base, 10, 2);
    assert.equal(down['#2'], 10);
    await a.setFaults({ unhealthy: 0 });
    await sleep(500);
    const up = await countPerReplica(gw.base, 10, 1);
    assert.equal(up['#1'], 5, JSON.stringify(up));
  });
});

describe('a passing health check ends an ejection but keeps its backoff (since session 30)', () => {
  let a;
  let b;
  let gw;
  before(async () => {
    ({ a, b, gw } = await twoReplicas({
      health_check: { path: '/health', interval_ms: 50, timeout_ms: 200, unhealthy_after: 2, healthy_after: 1 },
      outlier_ejection: { consecutive_failures: 1, base_ejection_ms: 100, max_ejection_ms: 60000 },
    }));
  });
  after(stopAll);

  test('a replica whose /health passes while its requests fail is ejected for longer each time', async () => {
    // The health check re-admits it within 50 ms each time; the next request to it fails again.
    // Before, the pass also reset the backoff: every ejection lasted the base 100 ms.
    await a.setFaults({ error_rate: 1 });
    const ejections = () => [...gw.proc.output.matchAll(/replica 127\.0\.0\.1:\d+ of \S+ ejected for (\d+) ms/g)]
      .map((m) => Number(m[1]));
    for (let i = 0; i < 400 && ejections().length < 3; ++i) {
      const r = await postChat(gw.base, chatBody(GPT4, `hello ${i}`));
      assert.equal(r.status, 200, r.text);  // retried on the other replica
      await sleep(10);
    }
    assert.deepEqual(ejections().slice(0, 3), [100, 200, 400]);
  });
});

describe('a replica whose load report fails (since session 30)', () => {
  let silent;
  let b;
  let gw;
  before(async () => {
    // Answers chat requests; its /metrics fails, as an overloaded server's comes late.
    silent = await fakeUpstream((req, res) => {
      if (req.url.endsWith('/metrics')) {
        res.writeHead(503);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(GPT4, 'from the silent one'));
    });
    b = await startReplay({ model: GPT4 });
    gw = await startGateway({
      models: [model(GPT4, [silent.url, b.url], { load_metrics: { path: '/metrics', interval_ms: 100 } })],
    });
  });
  after(stopAll);

  test('is taken to be as loaded as the busiest peer that reports, not idle', async () => {
    // b reports a backlog of 50; the silent replica reports nothing. It looked idle and took every
    // request; now it counts as loaded as b, and both are used.
    await b.setFaults({ extra_waiting: 50 });
    await reportedWaiting(gw, `127.0.0.1:${b.port}`, 50);
    const { port } = new URL(silent.url);
    // Its gauge says it has no report of its own (-1); the balancers assume b's.
    await reportedWaiting(gw, `127.0.0.1:${port}`, -1);
    await sleep(300);  // a few failed scrapes of the silent one since b's backlog was reported
    const split = await countPerReplica(gw.base, 20, 1);
    assert.ok((split['#2'] ?? 0) >= 4, JSON.stringify(split));
    assert.ok((split['#1'] ?? 0) >= 4, JSON.stringify(split));
  });
});

describe('a replica answering 429 with Retry-After (since session 30)', () => {
  let busy;
  let b;
  let gw;
  before(async () => {
    busy = await fakeUpstream((req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
    });
    b = await startReplay({ model: GPT4 });
    gw = await startGateway({ models: [model(GPT4, [busy.url, b.url], { balancer: 'round_robin' })] });
  });
  after(stopAll);

  test('is left out of picks for the pause it asked for', async () => {
    // Its fast 429s kept it in every other turn (and made it look idle to load-aware balancers).
    for (let i = 0; i < 10; ++i) {
      const r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200, r.text);  // a 429 is retried on the other replica
    }
    assert.ok(busy.requests.length <= 1, `the busy replica got ${busy.requests.length} requests`);
  });
});

