// HTTP/1.1 details at the gateway's front door, on raw sockets: oversized headers, garbage,
// pipelined requests on one connection, HTTP/1.0 and Connection: close.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, rawExchange, rawConnect, withTimeout, GPT4, expectErrorShape, metricSum,
} from './lib/harness.mjs';

const req = (body, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

// Splits a byte string holding several Content-Length HTTP responses into [{status, headers, body}].
function splitResponses(text) {
  const out = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(head.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    const len = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(head[0].split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

describe('HTTP edge cases', () => {
  let gw;
  before(async () => {
    const backend = await startReplay({ model: GPT4 });
    gw = await startGateway({ server: { max_header_bytes: 8192 }, models: [model(GPT4, backend.url)] });
  });
  after(stopAll);

  test('a header over max_header_bytes → 431 with an OpenAI error body, connection closed', async () => {
    const r = await rawExchange(gw.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10000)}\r\n\r\n`);
    assert.equal(r.status, 431, r.text.slice(0, 300));
    assert.ok(r.closed);
    const [res] = splitResponses(r.text);
    expectErrorShape(assert, JSON.parse(res.body), 'header_too_large');
    // No path was read, so no decision exists: the refusal is counted instead.
    assert.equal(await metricSum(gw.base, 'switchboard_http_refused_total', { code: 'header_too_large' }), 1);
  });

  test('garbage instead of HTTP → 400, connection closed, counted', async () => {
    const r = await rawExchange(gw.port, 'HELLO THERE\r\n\r\n');
    assert.equal(r.status, 400, r.text);
    assert.ok(r.closed);
    const [res] = splitResponses(r.text);
    expectErrorShape(assert, JSON.parse(res.body), 'bad_http');
    assert.equal(await metricSum(gw.base, 'switchboard_http_refused_total', { code: 'bad_http' }), 1);
  });

  test('pipelined requests on one connection are answered in order', async () => {
    const p0 = demoPrompt(GPT4, 0);
    const p1 = demoPrompt(GPT4, 1);
    const bytes = req(JSON.stringify(chatBody(GPT4, p0.prompt))) + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
      req(JSON.stringify(chatBody(GPT4, p1.prompt)), 'Connection: close\r\n');
    const r = await rawExchange(gw.port, bytes);
    assert.ok(r.closed, 'closed after the request with Connection: close');
    const responses = splitResponses(r.text);
    assert.deepEqual(responses.map((x) => x.status), [200, 200, 200], r.text.slice(0, 500));
    assert.equal(JSON.parse(responses[0].body).choices[0].message.content, p0.response);
    assert.equal(JSON.parse(responses[1].body).status, 'ok');
    assert.equal(JSON.parse(responses[2].body).choices[0].message.content, p1.response);
    assert.notEqual(responses[0].headers['x-switchboard-decision'], responses[2].headers['x-switchboard-decision']);
  });

  test('HTTP/1.0 without keep-alive gets an answer and the connection closes', async () => {
    const p = demoPrompt(GPT4, 0);
    const body = JSON.stringify(chatBody(GPT4, p.prompt));
    const r = await rawExchange(gw.port,
      `POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.ok(r.closed);
    assert.match(r.text, /^HTTP\/1\.[01] 200/);
    const [res] = splitResponses(r.text);
    assert.equal(JSON.parse(res.body).choices[0].message.content, p.response);
  });

  test('a streamed answer on a raw socket is chunked and ends with the last chunk', async () => {
    const p = demoPrompt(GPT4, 0);
    const s = await rawConnect(gw.port);
    s.write(req(JSON.stringify(chatBody(GPT4, p.prompt, { stream: true })), 'Connection: close\r\n'));
    await withTimeout(s.whenClosed, 10000, 'stream connection not closed');
    assert.match(s.received, /^HTTP\/1\.1 200/);
    assert.match(s.received, /\r\ntransfer-encoding: chunked\r\n/i);
    assert.match(s.received, /\r\ncontent-type: text\/event-stream/i);
    assert.ok(s.received.endsWith('\r\n0\r\n\r\n'), 'ends with the terminating chunk');
    assert.match(s.received, /data: \[DONE\]\n\n/);
  });

  // Since session 28 (a read-only review found each):
  test('a Transfer-Encoding not ending in chunked → 400 bad_http and close; the body is not a next request', async () => {
    const p = demoPrompt(GPT4, 0);
    const inner = req(JSON.stringify(chatBody(GPT4, p.prompt)));
    for (const te of ['gzip', 'chunked, gzip', 'xchunked']) {
      const r = await rawExchange(gw.port,
        `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n${inner}`);
      assert.ok(r.closed, te);
      const responses = splitResponses(r.text);
      assert.deepEqual(responses.map((x) => x.status), [400], `${te}: ${r.text.slice(0, 400)}`);
      expectErrorShape(assert, JSON.parse(responses[0].body), 'bad_http');
      assert.match(JSON.parse(responses[0].body).error.message, /does not end in chunked/);
      assert.ok(responses[0].headers['x-switchboard-decision'], 'recorded');
    }
  });

  test('malformed chunked framing → 400 bad_http in the API\'s shape, recorded, not a silent close', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (const [what, body] of [
      ['size overflow', 'ffffffffffffffffff1\r\nabc\r\n0\r\n\r\n'],
      ['non-hex size', 'zz\r\nabc\r\n0\r\n\r\n'],
      ['data longer than its size', '2\r\nabcdef\r\n0\r\n\r\n'],
    ]) {
      const r = await rawExchange(gw.port, head + body);
      assert.equal(r.status, 400, `${what}: ${r.text.slice(0, 300)}`);
      const [res] = splitResponses(r.text);
      expectErrorShape(assert, JSON.parse(res.body), 'bad_http');
      assert.ok(res.headers['x-switchboard-decision'], `${what}: recorded`);
    }
    const m = await rawExchange(gw.port, 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    assert.equal(m.status, 400, m.text.slice(0, 300));
    assert.equal(JSON.parse(splitResponses(m.text)[0].body).type, 'error', 'Anthropic shape on /v1/messages');
  });

  test('an absolute-form target is served as its path; GET /v1/messages is 405 in Anthropic\'s shape', async () => {
    const p = demoPrompt(GPT4, 0);
    const body = JSON.stringify(chatBody(GPT4, p.prompt));
    const r = await rawExchange(gw.port, `POST HTTP://127.0.0.1:${gw.port}/v1/chat/completions HTTP/1.1\r\n` +
      `Host: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(JSON.parse(splitResponses(r.text)[0].body).choices[0].message.content, p.response);
    const m = await fetch(`${gw.base}/v1/messages`);
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${gw.base}/healthz`, { method: 'DELETE' })).headers.get('allow'), 'GET, HEAD');
    const j = await m.json();
    assert.equal(j.type, 'error');
    assert.equal(j.error.type, 'invalid_request_error');
    // Anthropic's token counting endpoint answers in its shape too.
    const c = await fetch(`${gw.base}/v1/messages/count_tokens`);
    assert.equal(c.status, 405);
    assert.equal((await c.json()).type, 'error');
  });

  test('an HTTP/1.1 request without a Host header, or with two, is 400 bad_http (RFC 9112 3.2)', async () => {
    const body = JSON.stringify(chatBody(GPT4, 'x'));
    const refused = await metricSum(gw.base, 'switchboard_http_refused_total', { code: 'bad_http' });
    // Counted as the HTTP server's refusal on any path (since session 30 also off the APIs').
    const health = await rawExchange(gw.port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.equal(health.status, 400, health.text.slice(0, 300));
    for (const host of ['', 'Host: a\r\nHost: b\r\n']) {
      const r = await rawExchange(gw.port, `POST /v1/chat/completions HTTP/1.1\r\n${host}` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      assert.equal(r.status, 400, r.text.slice(0, 300));
      const error = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).error;
      assert.equal(error.code, 'bad_http');
      assert.match(error.message, /Host/);
    }
    assert.equal(await metricSum(gw.base, 'switchboard_http_refused_total', { code: 'bad_http' }), refused + 3);
  });

  test('HEAD is answered like GET without a body; the keep-alive connection stays in step', async () => {
    const r = await rawExchange(gw.port,
      'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(r.closed);
    const parts = r.text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(parts.length, 3, r.text);
    assert.match(parts[0], /^HTTP\/1\.1 200 /);
    assert.match(parts[0], /content-length: [1-9]/i);
    assert.ok(parts[0].endsWith('\r\n\r\n'), 'no body after the HEAD answer');
    assert.match(parts[1], /^HTTP\/1\.1 405 /);
    assert.ok(parts[1].endsWith('\r\n\r\n'), 'no body after the HEAD 405');
    assert.match(parts[2], /^HTTP\/1\.1 200 [\s\S]*"status":"ready"/);
  });
});
