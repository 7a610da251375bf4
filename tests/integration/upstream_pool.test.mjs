// The gateway's upstream connection pool, seen from a Node upstream: connections are reused
// across requests, and a pooled connection that the upstream closed while idle is replaced
// transparently (the client never sees the stale connection).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startGateway, model, stopAll, chatBody, postChat, streamChat, fakeUpstream, completionJson, chunkEvent, sleep,
  getDecision,
} from './lib/harness.mjs';

// Calls `onRequest(body, socket)` for each whole HTTP request (Content-Length framed) a raw
// upstream socket receives.
function onRequests(socket, onRequest) {
  let pending = '';
  socket.on('data', (d) => {
    pending += d.toString('latin1');
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      const body = pending.slice(end + 4, end + 4 + length);
      pending = pending.slice(end + 4 + length);
      if (onRequest(body, socket) === false) return;
    }
  });
  socket.on('error', () => {});
}

// Listens on `upstream` (a net.Server) and starts a one-thread gateway with model `m` on it.
async function gatewayOn(upstream) {
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  return startGateway({
    server: { threads: 1 }, models: [model('m', `http://127.0.0.1:${upstream.address().port}`)],
  });
}

describe('upstream connection pool', () => {
  let up;
  let gw;
  const sockets = new Set();
  before(async () => {
    up = await fakeUpstream((req, res, body) => {
      const parsed = JSON.parse(body);
      if (parsed.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunkEvent(parsed.model, 'a'));
        res.write(chunkEvent(parsed.model, 'b'));
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(parsed.model, 'pooled'));
    });
    up.server.on('connection', (s) => sockets.add(s));
    up.server.keepAliveTimeout = 300; // the upstream closes idle connections after 300 ms
    gw = await startGateway({ server: { threads: 1 }, models: [model('m', up.url)] });
  });
  after(stopAll);

  test('sequential requests reuse one upstream connection', async () => {
    const before = sockets.size;
    for (let i = 0; i < 10; i++) {
      const r = i % 2 ? await postChat(gw.base, chatBody('m', `q${i}`)) : await streamChat(gw.base, chatBody('m', `q${i}`));
      assert.equal(r.status, 200, r.text);
    }
    const opened = sockets.size - before;
    assert.ok(opened >= 1 && opened <= 2, `${opened} upstream connections for 10 sequential requests`);
  });

  test('a pooled connection the upstream closed while idle is replaced without an error', async () => {
    for (let i = 0; i < 3; i++) {
      const a = await postChat(gw.base, chatBody('m', 'before idle'));
      assert.equal(a.status, 200, a.text);
      await sleep(700); // past the upstream's keep-alive timeout: it has closed the pooled connection
      const b = await postChat(gw.base, chatBody('m', 'after idle'));
      assert.equal(b.status, 200, `request ${i} on a stale pooled connection: ${b.status} ${b.text}`);
      assert.equal(b.json.choices[0].message.content, 'pooled');
      const s = await streamChat(gw.base, chatBody('m', 'stream after idle'));
      assert.equal(s.status, 200, s.text);
      await sleep(700);
      const s2 = await streamChat(gw.base, chatBody('m', 'stream after idle'));
      assert.equal(s2.status, 200, `stream on a stale pooled connection: ${s2.status} ${s2.text}`);
      assert.equal(s2.text, 'ab');
    }
  });
});

// Since session 28 (a sweep of misbehaving upstreams found it): bytes that arrive on an idle pooled
// connection — a response nobody asked for, a late tail of the last answer — are not the next
// request's answer. The connection is dropped before reuse (a peek finds them) and the request goes
// on a fresh one. Before, client B got the injected answer, recorded ok and billed.
describe('bytes arriving on an idle pooled connection', () => {
  let gw;
  let upstream;
  const answer = (text) => {
    const body = completionJson('m', text);
    return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  before(async () => {
    let served = 0;
    upstream = net.createServer((socket) => onRequests(socket, () => {
      served += 1;
      socket.write(answer(`real answer ${served}`));
      // 30 ms later, a second response on the same connection, asked by nobody.
      setTimeout(() => socket.write(answer('INJECTED')), 30);
    }));
    gw = await gatewayOn(upstream);
  });
  after(async () => {
    upstream.close();
    await stopAll();
  });

  test('are never read as the next request\'s answer', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await postChat(gw.base, chatBody('m', `q${i}`));
      assert.equal(r.status, 200, r.text);
      assert.match(r.json.choices[0].message.content, /^real answer/, `request ${i}: ${r.text}`);
      await sleep(150);  // the injected bytes arrive while the connection idles
    }
  });
});

// Since session 33: a reused connection that the replica drops right after reading the request
// (as if it had closed it while idle) gets the request again on a fresh one — and the replica has
// then read it twice. The decision records the first copy (`stale_connection`), which it did not.
describe('a request sent again after a pooled connection fails at once', () => {
  let gw;
  let upstream;
  const received = [];
  before(async () => {
    upstream = net.createServer((socket) => {
      let onThisSocket = 0;
      onRequests(socket, (body) => {
        received.push(JSON.parse(body).messages[0].content);
        if (++onThisSocket === 2) {  // the second request on a connection: read, then dropped
          socket.destroy();
          return false;
        }
        const answer = completionJson('m', `answer ${received.length}`);
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`);
        return true;
      });
    });
    gw = await gatewayOn(upstream);
  });
  after(async () => {
    upstream.close();
    await stopAll();
  });

  test('is recorded as an attempt of its own', async () => {
    const first = await postChat(gw.base, chatBody('m', 'one'));
    assert.equal(first.status, 200, first.text);
    const second = await postChat(gw.base, chatBody('m', 'two'));
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(received, ['one', 'two', 'two']);
    const d = await getDecision(gw.base, second.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => a.result), ['stale_connection', 'ok'], JSON.stringify(d.attempts));
    const f = await getDecision(gw.base, first.headers.get('x-switchboard-decision'));
    assert.deepEqual(f.attempts.map((a) => a.result), ['ok']);
  });
});

describe('upstream idle expiry, Host header and IPv6 replicas', () => {
  let up;
  let gw;
  const opened = [];
  const closed = [];
  before(async () => {
    up = await fakeUpstream((req, res, body) => {
      const parsed = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(parsed.model, 'fresh'));
    });
    up.server.keepAliveTimeout = 60000; // the upstream itself keeps idle connections open
    up.server.on('connection', (s) => {
      opened.push(s);
      s.on('close', () => closed.push(s));
    });
    gw = await startGateway({
      server: { threads: 1, upstream_idle_timeout_ms: 300 }, models: [model('m', up.url)],
    });
  });
  after(stopAll);

  test('the Host header names a non-default port', async () => {
    const r = await postChat(gw.base, chatBody('m', 'host'));
    assert.equal(r.status, 200, r.text);
    assert.equal(up.requests.at(-1).headers.host, `127.0.0.1:${up.port}`);
  });

  test('a pooled connection idle past upstream_idle_timeout_ms is closed by the gateway, not reused', async () => {
    await sleep(800); // whatever the previous test left pooled has expired
    const startOpened = opened.length;
    const a = await postChat(gw.base, chatBody('m', 'one'));
    const b = await postChat(gw.base, chatBody('m', 'two'));
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(opened.length - startOpened, 1, 'back-to-back requests share one pooled connection');
    const used = opened.at(-1);
    await sleep(1000);
    assert.ok(closed.includes(used), 'the idle connection was closed by the gateway');
    const c = await postChat(gw.base, chatBody('m', 'three'));
    assert.equal(c.status, 200, c.text);
    assert.equal(opened.length - startOpened, 2, 'a fresh connection after the idle timeout');
  });

  test('an IPv6 replica URL connects, with the address in brackets in Host and the replica id', async () => {
    const up6 = await fakeUpstream((req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(JSON.parse(body).model, 'over v6'));
    }, { host: '::1' });
    assert.equal(up6.url, `http://[::1]:${up6.port}`);
    const gw6 = await startGateway({ models: [model('v6', `${up6.url}/v1`)] });
    const r = await postChat(gw6.base, chatBody('v6', 'hello'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'over v6');
    assert.equal((await getDecision(gw6.base, r.headers.get('x-switchboard-decision'))).replica,
      `[::1]:${up6.port}`);
    assert.equal(up6.requests[0].headers.host, `[::1]:${up6.port}`);
    await gw6.stop();
  });
});
