// Graceful shutdown: SIGTERM during a slow stream lets the stream finish, refuses new connections
// meanwhile, and the process exits with code 0 once drained.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, startReplay, model, stopAll, chatBody, streamChat, postChat, fakeUpstream, chunkEvent,
  connectRefused, withTimeout, sleep, waitOr, demoPrompt, getDecision, rawConnect, GPT4,
} from './lib/harness.mjs';

describe('graceful shutdown', () => {
  after(stopAll);

  test('SIGTERM during a slow stream: the stream completes, new connections are refused, exit 0', async () => {
    // The upstream sends one event, then holds the rest until the test releases it.
    let release;
    const released = new Promise((r) => { release = r; });
    const up = await fakeUpstream(async (req, res, body) => {
      const model = JSON.parse(body).model;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent(model, 'one'));
      await waitOr(released, 15000);
      for (const piece of [' two', ' three', ' four']) {
        res.write(chunkEvent(model, piece));
        await sleep(50);
      }
      res.write(chunkEvent(model, null, 'stop'));
      res.end('data: [DONE]\n\n');
    });
    const gw = await startGateway({
      server: { drain_timeout_ms: 20000 },
      models: [model('slow', up.url, { timeout_ms: 20000, stream_idle_timeout_ms: 20000 })],
    });

    let signalled;
    const gotFirst = new Promise((r) => { signalled = r; });
    const streaming = streamChat(gw.base, chatBody('slow', 'hi'), {
      onEvent: (ev) => { if (ev.json?.choices?.[0]?.delta?.content === 'one') signalled(); },
    });
    try {
      await withTimeout(gotFirst, 10000, 'first event never arrived');
      gw.proc.kill('SIGTERM');

      // New connections are refused while the stream is still in flight.
      const deadline = performance.now() + 5000;
      let refused = false;
      while (!refused && performance.now() < deadline) {
        refused = await connectRefused(gw.port);
        if (!refused) await sleep(50);
      }
      assert.ok(refused, 'new connections are still accepted 5 s after SIGTERM');
      assert.ok(gw.proc.running, 'the gateway exited before its in-flight stream finished');
    } finally {
      release();
    }
    const r = await withTimeout(streaming, 15000, 'stream did not finish after release');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'one two three four');
    assert.equal(r.events.at(-1).data, '[DONE]');
    assert.ok(!r.events.some((e) => e.json?.error), 'no error event in a drained stream');

    const exit = await withTimeout(gw.proc.exited, 15000, 'gateway did not exit after draining');
    assert.deepEqual(exit, { code: 0, signal: null }, `exit ${JSON.stringify(exit)}\n${gw.proc.output}`);
    assert.ok(await connectRefused(gw.port));

    // The drained stream's decision was written to SQLite before exit: a new gateway on the same
    // database finds it.
    const again = await startGateway({ sqlite: gw.sqlite, models: gw.config.models });
    const d = await getDecision(again.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(d.stream, true);
    assert.equal(d.model, 'slow');
    assert.equal(d.usage.completion_tokens, 4);
    await again.stop('SIGTERM');
  });

  test('SIGTERM while idle exits 0 promptly; an in-flight plain request finishes first', async () => {
    const backend = await startReplay({ model: GPT4, ttftMs: 800 });
    const gw = await startGateway({ models: [model(GPT4, backend.url)] });
    const p = demoPrompt(GPT4, 0);
    const pending = postChat(gw.base, chatBody(GPT4, p.prompt));
    // Wait until the request has reached the upstream (which answers only after ttft 800 ms).
    const until = performance.now() + 10000;
    while ((await backend.stats()).requests < 1 && performance.now() < until) await sleep(20);
    gw.proc.kill('SIGTERM');
    const r = await withTimeout(pending, 10000, 'in-flight request did not finish');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
    const exit = await withTimeout(gw.proc.exited, 10000, 'gateway did not exit');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.proc.output);
  });

  test('idle keep-alive and half-header connections do not hold up the exit', async () => {
    const backend = await startReplay({ model: GPT4 });
    // Long client timeouts: if the drain waited for these connections, the exit would take 30 s.
    const gw = await startGateway({
      server: { idle_timeout_ms: 30000, body_timeout_ms: 30000, drain_timeout_ms: 30000 },
      models: [model(GPT4, backend.url)],
    });
    const idle = await rawConnect(gw.port);
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); // then stays open (keep-alive)
    const halfHeader = await rawConnect(gw.port);
    halfHeader.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const until = performance.now() + 5000;
    while (!idle.received.includes('"ok"') && performance.now() < until) await sleep(20);
    assert.match(idle.received, /^HTTP\/1\.1 200/);

    gw.proc.kill('SIGTERM');
    const exit = await withTimeout(gw.proc.exited, 10000, 'gateway did not exit with idle/stalled connections open');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.proc.output);
    await withTimeout(Promise.all([idle.whenClosed, halfHeader.whenClosed]), 5000, 'connections still open after exit');
  });

  test('a client stalled in its request body holds the exit at most until body_timeout', async () => {
    const backend = await startReplay({ model: GPT4 });
    const BODY_MS = 1500;
    const gw = await startGateway({
      server: { body_timeout_ms: BODY_MS, drain_timeout_ms: 30000 },
      models: [model(GPT4, backend.url)],
    });
    const halfBody = await rawConnect(gw.port);
    halfBody.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mo');
    await sleep(100);
    gw.proc.kill('SIGTERM');
    const exit = await withTimeout(gw.proc.exited, BODY_MS + 8000, 'gateway did not exit after body_timeout');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.proc.output);
  });
});
