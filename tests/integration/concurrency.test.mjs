// 200 concurrent streaming clients through the gateway to a replay backend: every stream completes
// with the recorded answer and [DONE], none is lost, and every one has its own decision record.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoRecords, chatBody, streamChat, getDecision, parseMetrics,
  withTimeout, GPT4,
} from './lib/harness.mjs';

const CLIENTS = 200;

describe('concurrency', () => {
  let backend;
  let gw;
  before(async () => {
    // A little time to first token so that the streams really overlap.
    backend = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30, ttftMs: 200 });
    gw = await startGateway({
      server: { threads: 2 },
      models: [model(GPT4, backend.url, { timeout_ms: 30000, stream_idle_timeout_ms: 30000 })],
    });
  });
  after(stopAll);

  test(`${CLIENTS} concurrent streaming clients all complete with [DONE] and a decision each`, { timeout: 120000 }, async () => {
    const rows = demoRecords().filter((r) => r.outcomes?.[GPT4]?.response);
    const before = (await backend.stats()).requests;
    const jobs = Array.from({ length: CLIENTS }, (_, i) => {
      const row = rows[i % rows.length];
      return streamChat(gw.base, chatBody(GPT4, row.prompt)).then(
        (r) => ({ i, r, expected: row.outcomes[GPT4].response }),
        (e) => ({ i, error: e }));
    });
    const results = await withTimeout(Promise.all(jobs), 90000, 'streams did not all finish');

    const failures = results.filter((x) => x.error || x.r.status !== 200 || x.r.events.at(-1)?.data !== '[DONE]' ||
                                           x.r.text !== x.expected);
    assert.equal(failures.length, 0, `failed: ${failures.slice(0, 5).map((x) =>
      `#${x.i}: ${x.error ?? `${x.r.status} last=${x.r.events.at(-1)?.data} text=${JSON.stringify(x.r.text)}`}`).join('; ')}`);

    const ids = results.map((x) => x.r.headers.get('x-switchboard-decision'));
    assert.equal(new Set(ids).size, CLIENTS, 'every stream has its own decision id');
    const decisions = [];
    for (let k = 0; k < ids.length; k += 20) {
      decisions.push(...await Promise.all(ids.slice(k, k + 20).map((id) => getDecision(gw.base, id))));
    }
    assert.equal(decisions.length, CLIENTS);
    for (const d of decisions) {
      assert.equal(d.outcome, 'ok', JSON.stringify(d));
      assert.equal(d.status, 200);
      assert.equal(d.stream, true);
      assert.ok(d.cost_usd > 0);
    }
    const after = (await backend.stats()).requests;
    assert.ok(after - before >= CLIENTS, `backend saw ${after - before} requests`);

    const samples = parseMetrics(await (await fetch(`${gw.base}/metrics`)).text());
    const total = samples.filter((s) => s.name === 'switchboard_requests_total' && s.labels.status === '200')
      .reduce((n, s) => n + s.value, 0);
    assert.equal(total, CLIENTS);
    const inflight = samples.find((s) => s.name === 'switchboard_requests_in_flight');
    assert.equal(inflight?.value, 0, 'nothing left in flight');
  });
});
