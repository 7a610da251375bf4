// Slow and stalled clients cannot pin the gateway: half a header, a stalled body, an idle
// keep-alive connection are each closed after the configured timeout, and meanwhile other clients
// are served normally.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, rawConnect,
  withTimeout, sleep, GPT4,
} from './lib/harness.mjs';

const IDLE_MS = 1000;
const BODY_MS = 1000;
const SLACK_MS = 4000; // generous: CI machines are slow

describe('slow clients', () => {
  let backend;
  let gw;
  before(async () => {
    backend = await startReplay({ model: GPT4 });
    gw = await startGateway({
      server: { threads: 2, idle_timeout_ms: IDLE_MS, body_timeout_ms: BODY_MS },
      models: [model(GPT4, backend.url)],
    });
  });
  after(stopAll);

  test('half a request header then a stall: closed after idle_timeout, others served meanwhile', async () => {
    // More stalled sockets than worker threads, so a blocking implementation would show.
    const stalled = await Promise.all(Array.from({ length: 8 }, () => rawConnect(gw.port)));
    const t0 = performance.now();
    for (const s of stalled) s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');

    // While they stall, normal requests (plain and streaming) are answered.
    const p = demoPrompt(GPT4, 0);
    const served = [];
    for (let i = 0; i < 3; i++) {
      const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, p.response);
      served.push(performance.now());
      const s = await streamChat(gw.base, chatBody(GPT4, p.prompt));
      assert.equal(s.text, p.response);
      served.push(performance.now());
    }

    const closes = await withTimeout(Promise.all(stalled.map((s) => s.whenClosed)), IDLE_MS + SLACK_MS,
                                     'stalled connections were not closed');
    // At least the first request was answered while every stalled connection was still open
    // (on a slow machine the later ones may finish after the idle timeout has cut the stalls).
    const firstClose = Math.min(...closes.map((c) => c.at));
    assert.ok(served[0] < firstClose, 'a request was served while the stalled connections were open');
    for (const c of closes) {
      const elapsed = c.at - t0;
      assert.ok(elapsed >= IDLE_MS * 0.5, `closed after ${elapsed} ms, well before idle_timeout`);
    }
    for (const s of stalled) {
      assert.ok(!/^HTTP\/1\.1 200/.test(s.received), `no success answer to half a request: ${s.received}`);
    }
  });

  test('headers complete but the body stalls: closed after body_timeout', async () => {
    const s = await rawConnect(gw.port);
    const t0 = performance.now();
    s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 500\r\n\r\n{"model": "gpt-4-1106-preview", "mess');
    const p = demoPrompt(GPT4, 1);
    const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    const c = await withTimeout(s.whenClosed, BODY_MS + SLACK_MS, 'stalled body connection not closed');
    assert.ok(c.at - t0 >= BODY_MS * 0.5, `closed after ${c.at - t0} ms`);
    assert.ok(!/^HTTP\/1\.1 200/.test(s.received), s.received);
  });

  test('an idle keep-alive connection is closed after idle_timeout', async () => {
    const s = await rawConnect(gw.port);
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const t0 = performance.now();
    const c = await withTimeout(s.whenClosed, IDLE_MS + SLACK_MS, 'idle keep-alive connection not closed');
    assert.match(s.received, /^HTTP\/1\.1 200/);
    assert.ok(c.at - t0 >= IDLE_MS * 0.5, `closed after ${c.at - t0} ms`);
  });

  test('a client trickling header bytes slower than idle_timeout in total is still cut off', async () => {
    const s = await rawConnect(gw.port);
    const t0 = performance.now();
    const header = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n';
    let closed = false;
    s.whenClosed.then(() => { closed = true; });
    // One byte every 100 ms: the whole header would take ~9 s, far beyond idle_timeout.
    for (let i = 0; i < header.length && !closed; i++) {
      if (performance.now() - t0 > IDLE_MS + SLACK_MS) break;
      s.write(header[i]);
      await sleep(100);
    }
    const c = await withTimeout(s.whenClosed, IDLE_MS + SLACK_MS, 'trickling client not closed');
    assert.ok(c.at - t0 < IDLE_MS + SLACK_MS, `closed after ${c.at - t0} ms`);
    assert.equal(s.received, '', 'no answer to an incomplete header');
  });

  test('the gateway is healthy after the slow clients', async () => {
    const r = await fetch(`${gw.base}/healthz`);
    assert.equal(r.status, 200);
    assert.ok(gw.proc.running);
  });
});
