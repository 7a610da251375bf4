// A client that goes away in the middle of a stream: the gateway notices, records the decision
// as client_gone, releases the replica and keeps serving.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, getDecision, parseMetrics,
  SseParser, sleep, GPT4,
} from './lib/harness.mjs';

describe('client disconnects mid-stream', () => {
  let backend;
  let gw;
  before(async () => {
    // Paced streams (20 pieces/s) so that the client can leave half-way through.
    backend = await startReplay({ model: GPT4, tokensPerSec: 20 });
    gw = await startGateway({ models: [model(GPT4, backend.url)] });
  });
  after(stopAll);

  test('aborting after the first content chunk → decision outcome client_gone, replica released', async () => {
    const p = demoPrompt(GPT4, 2);
    const controller = new AbortController();
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody(GPT4, p.prompt, { stream: true })), signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-switchboard-decision');
    let content = 0;
    const parser = new SseParser((data) => {
      if (data !== '[DONE]' && JSON.parse(data).choices?.[0]?.delta?.content) content += 1;
    });
    try {
      for await (const chunk of res.body) {
        parser.feed(Buffer.from(chunk).toString('utf8'));
        if (content >= 1) controller.abort();
      }
    } catch (e) {
      assert.equal(e.name, 'AbortError');
    }

    // The record is written when the gateway notices (its next write fails).
    const deadline = Date.now() + 10000;
    let d;
    for (;;) {
      const r = await fetch(`${gw.base}/v1/decisions/${id}`);
      if (r.status === 200) { d = await r.json(); break; }
      assert.ok(Date.now() < deadline, 'no decision record after the client left');
      await sleep(50);
    }
    assert.equal(d.outcome, 'client_gone');
    assert.equal(d.stream, true);
    // A stream the client stopped can be rated (stopping a bad answer and rating it down is
    // common); broken ones cannot (stream_broken.test.mjs).
    const fb = await fetch(`${gw.base}/v1/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision_id: id, score: 0 }),
    });
    assert.equal(fb.status, 200, await fb.text());

    let inflight;
    for (const until = Date.now() + 5000; Date.now() < until; await sleep(50)) {
      const samples = parseMetrics(await (await fetch(`${gw.base}/metrics`)).text());
      inflight = samples.filter((s) => s.name === 'switchboard_replica_in_flight').reduce((n, s) => n + s.value, 0);
      if (inflight === 0) break;
    }
    assert.equal(inflight, 0, 'replica in-flight count back to 0');
  });

  test('the gateway still serves after the client left', async () => {
    const p = demoPrompt(GPT4, 0);
    const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
  });
});
