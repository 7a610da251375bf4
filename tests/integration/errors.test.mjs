// Every error the gateway itself produces: the OpenAI error shape, the right status and code, the
// x-switchboard-decision header, and a decision record with the same status and the outcome.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getDecision,
  closedPort, rawExchange, expectErrorShape, fakeUpstream, GPT4,
} from './lib/harness.mjs';

const LIMIT = 65536;

// Checks status, shape, code, decision header and record; returns the record.
async function expectGatewayError(base, r, { status, code, outcome, type }) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  const err = expectErrorShape(assert, r.json, code);
  if (type) assert.equal(err.type, type);
  const id = r.headers.get('x-switchboard-decision');
  assert.match(id ?? '', /^dec_[0-9a-f]+$/, 'x-switchboard-decision header on an error');
  const d = await getDecision(base, id);
  assert.equal(d.id, id);
  assert.equal(d.status, status);
  assert.equal(d.outcome, outcome);
  assert.ok(d.error, 'decision has an error');
  assert.equal(d.error.code, code);
  assert.equal(typeof d.error.message, 'string');
  return d;
}

// A chat request body of exactly `size` bytes (ASCII) for `modelName`.
function bodyOfSize(modelName, size) {
  const base = JSON.stringify(chatBody(modelName, ''));
  const pad = size - Buffer.byteLength(base);
  assert.ok(pad >= 0);
  const body = JSON.stringify(chatBody(modelName, 'x'.repeat(pad)));
  assert.equal(Buffer.byteLength(body), size);
  return body;
}

describe('gateway errors', () => {
  let backend;
  let hanging;
  let gw;
  let downPort;
  let halfBody;
  before(async () => {
    [backend, hanging, downPort] = await Promise.all([
      startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }),
      startReplay({ model: GPT4, hangRate: 1 }),
      closedPort(),
    ]);
    // Sends the response head and half a JSON body, then nothing.
    halfBody = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":"chatcmpl-x","object":"chat.comp');
    });
    gw = await startGateway({
      server: { max_body_bytes: LIMIT },
      models: [
        model(GPT4, backend.url),
        model('down-model', `http://127.0.0.1:${downPort}`, { timeout_ms: 3000 }),
        model('hang-model', hanging.url, { timeout_ms: 300 }),
        model('half-body-model', halfBody.url, { timeout_ms: 500 }),
      ],
    });
  });
  after(stopAll);

  test('malformed JSON → 400 invalid_json', async () => {
    const r = await postChat(gw.base, `{"model": "${GPT4}", "messages": [`);
    const d = await expectGatewayError(gw.base, r, {
      status: 400, code: 'invalid_json', outcome: 'client_error', type: 'invalid_request_error',
    });
    assert.equal(d.replica, '');
  });

  test('missing messages → 400 invalid_request', async () => {
    const r = await postChat(gw.base, { model: GPT4 });
    await expectGatewayError(gw.base, r, { status: 400, code: 'invalid_request', outcome: 'client_error' });
    assert.match(r.json.error.message, /messages/);
  });

  test('empty messages and a non-object body → 400 invalid_request', async () => {
    const a = await postChat(gw.base, { model: GPT4, messages: [] });
    await expectGatewayError(gw.base, a, { status: 400, code: 'invalid_request', outcome: 'client_error' });
    const b = await postChat(gw.base, '[1,2,3]');
    await expectGatewayError(gw.base, b, { status: 400, code: 'invalid_request', outcome: 'client_error' });
  });

  test('fields of the wrong type → 400 invalid_request', async () => {
    // Each with the field the OpenAI SDKs read as error.param (it was always null).
    const cases = [
      [{ model: 5, messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      [{ model: '', messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      [{ model: GPT4, messages: 'hi' }, 'messages'],
      [{ model: GPT4, messages: ['hi'] }, 'messages[0]'],
      [{ model: GPT4, messages: [{ content: 'no role' }] }, 'messages[0].role'],
      [{ model: GPT4, messages: [{ role: 'user', content: 'hi' }], stream: 'yes' }, 'stream'],
      [{ model: GPT4, messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }, 'temperature'],
      [{ model: GPT4, messages: [{ role: 'user', content: { text: 'hi' } }] }, 'messages[0].content'],
      [{ model: GPT4, messages: [{ role: 'narrator', content: 'hi' }] }, 'messages[0].role'],
    ];
    for (const [body, param] of cases) {
      const r = await postChat(gw.base, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
      expectErrorShape(assert, r.json, 'invalid_request');
      assert.equal(r.json.error.param, param, r.text);
      assert.match(r.headers.get('x-switchboard-decision') ?? '', /^dec_/);
    }
    // As the official SDK shows it.
    const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: GPT4, messages: [{ role: 'user', content: 'hi' }], top_p: 7 }),
      (e) => e.status === 400 && e.param === 'top_p' && /'top_p' must be a number between 0 and 1/.test(e.message));
  });

  test('unknown model → 404 model_not_found', async () => {
    const r = await postChat(gw.base, chatBody('no-such-model', 'hi'));
    const d = await expectGatewayError(gw.base, r, {
      status: 404, code: 'model_not_found', outcome: 'client_error', type: 'invalid_request_error',
    });
    assert.equal(d.route, 'no-such-model');
    assert.equal(d.model, '');
    assert.match(r.json.error.message, /no-such-model/);
  });

  test('a body exactly at max_body_bytes, or one byte under, is accepted', async () => {
    const atLimit = await postChat(gw.base, bodyOfSize(GPT4, LIMIT));
    assert.equal(atLimit.status, 200, atLimit.text);
    const under = await postChat(gw.base, bodyOfSize(GPT4, LIMIT - 1));
    assert.equal(under.status, 200, under.text);
  });

  test('a body one byte over max_body_bytes (Content-Length) → 413 request_too_large', async () => {
    const over = await postChat(gw.base, bodyOfSize(GPT4, LIMIT + 1));
    await expectGatewayError(gw.base, over, {
      status: 413, code: 'request_too_large', outcome: 'client_error', type: 'invalid_request_error',
    });
  });

  test('a much larger body → 413, and the gateway keeps serving', async () => {
    const big = await postChat(gw.base, bodyOfSize(GPT4, 4 * LIMIT + 123));
    await expectGatewayError(gw.base, big, { status: 413, code: 'request_too_large', outcome: 'client_error' });
    const p = demoPrompt(GPT4);
    const ok = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(ok.status, 200, ok.text);
  });

  test('a chunked body over the limit (no Content-Length) → 413', async () => {
    const body = bodyOfSize(GPT4, LIMIT + 1000);
    const half = Math.floor(body.length / 2);
    const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const raw = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      chunk(body.slice(0, half)) + chunk(body.slice(half)) + '0\r\n\r\n';
    const r = await rawExchange(gw.port, raw);
    assert.equal(r.status, 413, r.text.slice(0, 500));
    assert.match(r.text, /request_too_large/);
    assert.match(r.text, /x-switchboard-decision: dec_/i);
  });

  test('upstream down → 502 upstream_unreachable (plain and stream requests)', async () => {
    const r = await postChat(gw.base, chatBody('down-model', 'hello'));
    const d = await expectGatewayError(gw.base, r, {
      status: 502, code: 'upstream_unreachable', outcome: 'upstream_error',
    });
    assert.equal(d.model, 'down-model');
    assert.equal(d.replica, `127.0.0.1:${downPort}`);
    assert.equal(r.headers.get('x-switchboard-model'), 'down-model');
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0].result, 'upstream_unreachable');

    // A stream that cannot start is answered with a plain JSON error, not an SSE body.
    const s = await streamChat(gw.base, chatBody('down-model', 'hello'));
    assert.equal(s.status, 502);
    const sd = await expectGatewayError(gw.base, { ...s, json: JSON.parse(s.text) }, {
      status: 502, code: 'upstream_unreachable', outcome: 'upstream_error',
    });
    assert.equal(sd.stream, true);
  });

  test('upstream hangs → 504 upstream_timeout after timeout_ms', async () => {
    const t0 = performance.now();
    const r = await postChat(gw.base, chatBody('hang-model', 'hello'));
    const elapsed = performance.now() - t0;
    const d = await expectGatewayError(gw.base, r, {
      status: 504, code: 'upstream_timeout', outcome: 'upstream_timeout',
    });
    assert.equal(d.model, 'hang-model');
    assert.equal(d.attempts[0].result, 'upstream_timeout');
    // Behaviour, not performance: it did wait for the timeout, and did not wait for the hang (1 h).
    assert.ok(elapsed >= 250, `answered after ${elapsed} ms, before the 300 ms timeout`);
    assert.ok(elapsed < 10_000, `answered after ${elapsed} ms`);

    const s = await streamChat(gw.base, chatBody('hang-model', 'hello'));
    assert.equal(s.status, 504, s.text);
    assert.equal(JSON.parse(s.text).error.code, 'upstream_timeout');
  });

  test('upstream sends its head then stalls in the body → 504 upstream_timeout', async () => {
    const r = await postChat(gw.base, chatBody('half-body-model', 'hello'));
    const d = await expectGatewayError(gw.base, r, {
      status: 504, code: 'upstream_timeout', outcome: 'upstream_timeout',
    });
    assert.equal(d.model, 'half-body-model');
  });

  test('an upstream 5xx is passed through with its status and recorded as upstream_error', async () => {
    await backend.setFaults({ error_rate: 1 });
    try {
      const r = await postChat(gw.base, chatBody(GPT4, 'hello'));
      assert.equal(r.status, 500, r.text);
      expectErrorShape(assert, r.json);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.status, 500);
      assert.equal(d.outcome, 'upstream_error');
      assert.equal(d.model, GPT4);
      // A stream request whose upstream answers 500 gets the upstream's JSON error, not a stream.
      const st = await streamChat(gw.base, chatBody(GPT4, 'hello'));
      assert.equal(st.status, 500, st.text);
      expectErrorShape(assert, JSON.parse(st.text));
    } finally {
      await backend.setFaults({ error_rate: 0 });
    }
    const ok = await postChat(gw.base, chatBody(GPT4, 'hello'));
    assert.equal(ok.status, 200, ok.text);
  });

  test('unknown path → 404 and wrong method → 405, both in the OpenAI error shape', async () => {
    const a = await fetch(`${gw.base}/v1/nothing-here`);
    assert.equal(a.status, 404);
    expectErrorShape(assert, await a.json());
    const b = await fetch(`${gw.base}/v1/chat/completions`);
    assert.equal(b.status, 405);
    expectErrorShape(assert, await b.json());
  });

  test('the gateway still serves normal requests after all the errors', async () => {
    const p = demoPrompt(GPT4, 4);
    const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
    assert.ok(gw.proc.running);
  });
});
