// HTTP framing that a broken or hostile upstream (or client) can get wrong, on raw sockets: interim
// 1xx answers before the real one, a 204 that comes with a body, a 200 that is an HTML page, a chunk-size line that never ends,
// and on the front door a request's chunk-size line that never ends and `Expect: 100-continue`.
// The gateway must answer each request with its own answer or a precise error, keep its memory
// bounded, and never hand one request's bytes to the next on a pooled connection.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startGateway, model, stopAll, chatBody, postChat, getDecision, completionJson, rawConnect,
  rawExchange, withTimeout, expectErrorShape,
} from './lib/harness.mjs';

// A raw TCP upstream: reads each request (Content-Length framed, keep-alive) and answers with
// the bytes `respond(prompt)` gives (a string, or an async function writing to the socket).
async function rawUpstream(respond) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let pending = Buffer.alloc(0);
    s.on('data', async (d) => {
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const body = JSON.parse(pending.subarray(end + 4, end + 4 + length).toString('utf8'));
        pending = pending.subarray(end + 4 + length);
        const answer = respond(body.messages.at(-1).content, body, head);
        if (typeof answer === 'function') await answer(s);
        else s.write(answer);
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

const ok = (text) => {
  const body = completionJson('framing', text);
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

describe('upstream and client framing', () => {
  let up;
  let htmlOnly;
  let gw;
  before(async () => {
    up = await rawUpstream((prompt, body, head) => {
      if (prompt === 'accept-encoding') return ok(/^accept-encoding: *(.*)$/im.exec(head)?.[1] ?? 'none');
      if (prompt === 'identity coding') {
        const json = completionJson('framing', 'identity');
        return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: identity\r\nContent-Encoding:\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
      }
      if (prompt === 'early hints') {
        return `HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n` +
          `HTTP/1.1 100 Continue\r\n\r\n${ok('after the hints')}`;
      }
      if (prompt === 'html') {
        const page = '<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>';
        return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${page.length}\r\n\r\n${page}`;
      }
      if (prompt === 'switch') return 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n';
      // Since session 28 (a sweep of misbehaving upstreams):
      if (prompt === 'redirect') return 'HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n';
      if (prompt === 'status 099') return 'HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n';
      if (prompt === 'status 999') return 'HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\n{}';
      if (prompt === 'status 204') return 'HTTP/1.1 204 No Content\r\n\r\n';
      if (prompt === 'status 206') {
        const json = completionJson('framing', 'partial');
        return `HTTP/1.1 206 Partial Content\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
      }
      if (prompt === 'gzip') {
        const body = completionJson('framing', 'compressed');
        return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      }
      if (prompt === 'garbage status line') return 'HTTZ/9 two hundred\r\n\r\n';
      if (prompt === 'not a completion') {
        const body = '{"id":"x","object":"chat.completion","choices":{}}';
        return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      }
      const shapes = {
        'trailing bytes': `${completionJson('framing', 'x')} GARBAGE}`,
        'another object': `{"hello":"${'x'.repeat(40000)}"}`,
        'an error with 200': '{"error":{"message":"quota exceeded","type":"insufficient_quota"}}',
        'choices of strings': '{"object":"chat.completion","choices":["x"]}',
      };
      if (shapes[prompt] !== undefined) {
        return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(shapes[prompt])}\r\n\r\n${shapes[prompt]}`;
      }
      if (prompt === 'mixed-case event stream') {
        const event = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'framing', choices: [{ index: 0, delta: { content: 'streamed' }, finish_reason: null }] })}\n\ndata: [DONE]\n\n`;
        return `HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream\r\nContent-Length: ${Buffer.byteLength(event)}\r\n\r\n${event}`;
      }
      if (prompt === 'no content with a body') {
        return 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nGARBAGE';
      }
      if (prompt === 'endless chunk size') {
        return async (s) => {
          s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;x=');
          const block = 'a'.repeat(64 * 1024);
          // 4 MiB without the line's end; the gateway gives up long before (128 KiB).
          for (let i = 0; i < 64 && !s.destroyed; i++) {
            if (!s.write(block)) await new Promise((r) => { s.once('drain', r); s.once('close', r); });
          }
        };
      }
      return ok(`answer to ${prompt}`);
    });
    // A replica behind a broken proxy: every answer is an HTML page with status 200.
    htmlOnly = await rawUpstream(() => {
      const page = '<html><body>502 Bad Gateway</body></html>';
      return `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\n\r\n${page}`;
    });
    gw = await startGateway({
      models: [
        model('framing', up.url),
        model('mixed', [htmlOnly.url, up.url], { balancer: 'round_robin' }),
      ],
    });
  });
  after(async () => { up.close(); htmlOnly.close(); await stopAll(); });

  test('interim 1xx answers are skipped: the client gets the final answer, and the next request its own', async () => {
    const r = await postChat(gw.base, chatBody('framing', 'early hints'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'after the hints');
    for (const p of ['one', 'two', 'three']) {
      const next = await postChat(gw.base, chatBody('framing', p));
      assert.equal(next.status, 200, next.text);
      assert.equal(next.json.choices[0].message.content, `answer to ${p}`);
    }
  });

  test('101 instead of an answer → 502 upstream_bad_answer, recorded', async () => {
    const r = await postChat(gw.base, chatBody('framing', 'switch'));
    assert.equal(r.status, 502, r.text);
    expectErrorShape(assert, r.json, 'upstream_bad_answer');
    assert.match(r.json.error.message, /101/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.error.code, 'upstream_bad_answer');
  });

  test('the gateway asks for no content coding, and takes identity or an empty list as none', async () => {
    const asked = await postChat(gw.base, chatBody('framing', 'accept-encoding'));
    assert.equal(asked.json.choices[0].message.content, 'identity');
    const r = await postChat(gw.base, chatBody('framing', 'identity coding'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'identity');
  });

  test('a redirect, a status outside 100-599 or a 2xx other than 200, a content coding, a garbage status line → 502 upstream_bad_answer', async () => {
    for (const [prompt, said] of [['redirect', /302 \(a redirect: not followed\)/], ['status 099', /invalid status 99/],
      ['status 999', /invalid status 999/], ['status 204', /answered 204 where/], ['status 206', /answered 206 where/], ['gzip', /Content-Encoding/], ['garbage status line', /not an HTTP answer/]]) {
      const r = await postChat(gw.base, chatBody('framing', prompt));
      assert.equal(r.status, 502, `${prompt}: ${r.text}`);
      expectErrorShape(assert, r.json, 'upstream_bad_answer');
      assert.match(r.json.error.message, said, prompt);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.attempts.at(-1).result, 'upstream_bad_answer', prompt);
    }
    // A JSON object that is no chat completion, for a Messages client: the 502 it gets is what
    // the record says (it said 200 ok and charged, while the client got the error).
    const m = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'framing', max_tokens: 10, messages: [{ role: 'user', content: 'not a completion' }] }),
    });
    assert.equal(m.status, 502);
    assert.equal((await m.json()).type, 'error');
    const md = await getDecision(gw.base, m.headers.get('x-switchboard-decision'));
    assert.equal(md.status, 502);
    assert.equal(md.outcome, 'upstream_error');
    assert.equal(md.attempts.at(-1).result, 'upstream_bad_answer');
    // A media type in other letters is the same type.
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('framing', 'mixed-case event stream', { stream: true })),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /streamed/);
  });

  test('a 200 whose body is not a JSON object (a proxy\'s HTML page) → 502 upstream_bad_answer, not a success', async () => {
    const r = await postChat(gw.base, chatBody('framing', 'html'));
    assert.equal(r.status, 502, r.text);
    expectErrorShape(assert, r.json, 'upstream_bad_answer');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'upstream_error');
    assert.equal(d.attempts.at(-1).result, 'upstream_bad_answer');
  });

  test('a 200 that is no chat completion reaches no chat client: 502 upstream_bad_answer, not billed (since session 33)', async () => {
    // Only the braces were checked for a chat client: these were relayed as sent, recorded ok,
    // and the 40 KB object billed as 10,003 tokens.
    for (const [prompt, said] of [['trailing bytes', /a body that is not JSON/],
      ['another object', /without a `choices` array/], ['an error with 200', /without a `choices` array/],
      ['choices of strings', /a choice without a `message` object/]]) {
      const r = await postChat(gw.base, chatBody('framing', prompt));
      assert.equal(r.status, 502, `${prompt}: ${r.text.slice(0, 200)}`);
      expectErrorShape(assert, r.json, 'upstream_bad_answer');
      assert.match(r.json.error.message, said, prompt);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.attempts.at(-1).result, 'upstream_bad_answer', prompt);
      assert.equal(d.cost_usd ?? 0, 0, prompt);
    }
  });

  test('a replica answering HTML pages is a failing replica: the request goes to the other one', async () => {
    for (const p of ['m1', 'm2', 'm3', 'm4']) {
      const r = await postChat(gw.base, chatBody('mixed', p));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, `answer to ${p}`);
    }
    const r = await postChat(gw.base, chatBody('mixed', 'm5'));
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.ok(d.attempts.every((a) => a.result === 'ok' || a.result === 'upstream_bad_answer'), JSON.stringify(d.attempts));
  });

  test('bytes after a 204 never become the next request\'s answer', async () => {
    await postChat(gw.base, chatBody('framing', 'no content with a body'));
    for (const p of ['four', 'five', 'six']) {
      const next = await postChat(gw.base, chatBody('framing', p));
      assert.equal(next.status, 200, next.text);
      assert.equal(next.json.choices[0].message.content, `answer to ${p}`);
    }
  });

  test('a chunk-size line that never ends → 502 upstream_bad_answer; the gateway goes on', async () => {
    const r = await postChat(gw.base, chatBody('framing', 'endless chunk size'));
    assert.equal(r.status, 502, r.text);
    expectErrorShape(assert, r.json, 'upstream_bad_answer');
    assert.match(r.json.error.message, /chunk-size line or trailer longer than/);
    const next = await postChat(gw.base, chatBody('framing', 'seven'));
    assert.equal(next.status, 200, next.text);
  });

  test('a client whose chunk-size line never ends → 400 bad_http, recorded', async () => {
    const s = await rawConnect(gw.port);
    s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n5;x=');
    const block = 'a'.repeat(64 * 1024);
    for (let i = 0; i < 16 && !s.destroyed && !s.received.includes('HTTP/1.1'); i++) {
      await new Promise((r) => s.write(block, r));
    }
    await withTimeout(s.whenClosed, 10000, 'connection not closed');
    const m = /^HTTP\/1\.1 (\d{3})[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(s.received);
    assert.ok(m, s.received.slice(0, 300));
    assert.equal(Number(m[1]), 400);
    const body = JSON.parse(m[2].slice(0, m[2].lastIndexOf('}') + 1));
    expectErrorShape(assert, body, 'bad_http');
    assert.match(body.error.message, /chunk-size line or trailer/);
    const id = /x-switchboard-decision: *(\S+)/i.exec(s.received)?.[1];
    assert.ok(id, 'the refusal has a decision record');
    const d = await getDecision(gw.base, id);
    assert.equal(d.error.code, 'bad_http');
  });

  test('Expect: 100-continue is answered before the body is sent', async () => {
    const body = JSON.stringify(chatBody('framing', 'continued'));
    const s = await rawConnect(gw.port);
    s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    // curl waits a second for this, then sends the body anyway; this client only sends on it.
    await withTimeout((async () => {
      while (!s.received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
    })(), 5000, 'no 100 Continue');
    s.write(body);
    await withTimeout(s.whenClosed, 10000, 'connection not closed');
    const final = s.received.slice('HTTP/1.1 100 Continue\r\n\r\n'.length);
    assert.match(final, /^HTTP\/1\.1 200 /);
    assert.match(final, /answer to continued/);
  });

  test('an oversized body with Expect: 100-continue gets 413 at once, no 100', async () => {
    const r = await rawExchange(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
      'Content-Type: application/json\r\nContent-Length: 999999999999\r\nExpect: 100-continue\r\n\r\n');
    assert.equal(r.status, 413, r.text.slice(0, 300));
  });
});
