// A client that closes its connection while its request waits on upstreams (pipeline/
// client_watch.h): the calls still waiting are cancelled at once (the upstream sees its connection
// close long before it would have answered), a cascade calls no further tier, and the request is
// recorded with outcome client_gone and status 499. A client that stays is answered as before, on
// a keep-alive connection that serves its next request too; `server.cancel_on_client_close: false`
// lets the call run to its end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startGateway, model, stopAll, fakeUpstream, completionJson, chatBody, postChat, runCli, sleep,
  eventually, metricSum, rawConnect, withTimeout, closedPort, getDecision,
} from './lib/harness.mjs';

const ANSWER_AFTER_MS = 3000;
const CHEAP_PRICE = { input_per_mtok: 1000, output_per_mtok: 3000 };

// A call cut short had the whole request: its prompt (estimated) is charged at the input price, so
// that a client leaving every request early still spends against its budget.
function assertPromptCharged(d, calls = 1) {
  assert.ok(d.usage.prompt_tokens > 0, JSON.stringify(d.usage));
  assert.equal(d.usage.completion_tokens, 0);
  assert.ok(Math.abs(d.cost_usd - d.usage.prompt_tokens * CHEAP_PRICE.input_per_mtok / 1e6) < 1e-12,
    `cost ${d.cost_usd} for ${d.usage.prompt_tokens} prompt tokens`);
  assert.equal(d.cost_usd > 0, calls > 0);
}

// An upstream that answers after ANSWER_AFTER_MS; `calls` notes, per request, the model asked and
// how long after it arrived the gateway closed the connection without waiting (null: answered).
async function slowUpstream(text = 'late answer', answerAfterMs = ANSWER_AFTER_MS) {
  const calls = [];
  const up = await fakeUpstream((req, res, body) => new Promise((resolve) => {
    const call = { model: JSON.parse(body).model, closedAfterMs: null, answered: false };
    calls.push(call);
    const t0 = performance.now();
    const timer = setTimeout(() => {
      call.answered = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(call.model, text));
      resolve();
    }, answerAfterMs);
    res.on('close', () => {
      if (!call.answered) {
        call.closedAfterMs = performance.now() - t0;
        clearTimeout(timer);
      }
      resolve();
    });
  }));
  up.calls = calls;
  return up;
}

// POSTs a chat request and closes the connection after `ms` without reading an answer.
async function askAndLeave(base, body, ms) {
  const controller = new AbortController();
  const pending = postChat(base, body, { signal: controller.signal }).catch((e) => e);
  await sleep(ms);
  controller.abort();
  const r = await pending;
  assert.equal(r.name, 'AbortError', 'the request was still waiting when the client left');
}

function decisions(gw) {
  const r = runCli(['decisions', '--store', gw.sqlite]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const goneRecord = (gw, route) => eventually(() => decisions(gw).find(
  (d) => d.outcome === 'client_gone' && d.route === route), 10000, `a client_gone record for ${route}`);

describe('a client that leaves cancels its calls', () => {
  let cheap;
  let strong;
  let quick;
  let failing;
  let gw;
  before(async () => {
    [cheap, strong, quick] = await Promise.all([slowUpstream('cheap'), slowUpstream('strong'), slowUpstream('quick', 400)]);
    failing = await fakeUpstream((req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"down"}}');
    });
    gw = await startGateway({
      models: [
        model('cheap', cheap.url, { timeout_ms: 10000, price: CHEAP_PRICE }),
        model('strong', strong.url, { timeout_ms: 10000 }),
        model('quick', quick.url), model('failing', failing.url, { retry: { max_attempts: 1 } }),
      ],
      routes: [{ name: 'fallback', policy: { type: 'static', model: 'failing', fallbacks: ['cheap'] } }, { name: 'cascade', policy: {
        type: 'cascade', tiers: [{ models: ['cheap'], judge: { type: 'agreement' }, threshold: 1 }, { model: 'strong' }],
      } }],
    });
  });
  after(stopAll);

  test('a single call: the upstream call is closed at once, recorded client_gone (499)', async () => {
    const before = cheap.calls.length;
    await askAndLeave(gw.base, chatBody('cheap', 'tell me a long story'), 300);
    const call = await eventually(() => cheap.calls[before]?.closedAfterMs != null && cheap.calls[before],
      ANSWER_AFTER_MS, 'the upstream call closed before its answer');
    assert.ok(call.closedAfterMs < ANSWER_AFTER_MS - 1000, `closed after ${call.closedAfterMs} ms`);
    const d = await goneRecord(gw, 'cheap');
    assert.equal(d.status, 499);
    assert.equal(d.error.code, 'client_gone');
    assert.deepEqual(d.attempts.map((a) => a.result), ['client_gone']);
    assert.match(d.reason, /the client left before the answer/);
    assertPromptCharged(d);
    // Leaving says nothing about the replica: it still serves (no ejection, no retry elsewhere).
    assert.equal(cheap.calls.length, before + 1, 'no retry after the client left');
    assert.ok(await metricSum(gw.base, 'switchboard_request_errors_total', { code: 'client_gone' }) >= 1);
  });

  test('a client that leaves before the watch starts (100 ms into the call) is found by its first look', async () => {
    const before = cheap.calls.length;
    await askAndLeave(gw.base, chatBody('cheap', 'leaving at once'), 30);
    const call = await eventually(() => cheap.calls[before]?.closedAfterMs != null && cheap.calls[before],
      ANSWER_AFTER_MS, 'the upstream call closed before its answer');
    assert.ok(call.closedAfterMs < ANSWER_AFTER_MS - 1000, `closed after ${call.closedAfterMs} ms`);
  });

  test('a cascade calls no further tier once the client left', async () => {
    const [cheapBefore, strongBefore] = [cheap.calls.length, strong.calls.length];
    await askAndLeave(gw.base, chatBody('cascade', 'a question for the cascade'), 300);
    await eventually(() => cheap.calls[cheapBefore]?.closedAfterMs != null, ANSWER_AFTER_MS,
      'the first tier closed before its answer');
    const d = await goneRecord(gw, 'cascade');
    assert.equal(d.status, 499);
    assert.deepEqual(d.calls.map((c) => [c.model, c.result]), [['cheap', 'client_gone']]);
    assertPromptCharged(d);
    assert.equal(d.calls[0].cost_usd, d.cost_usd);
    assert.match(d.reason, /stopped by client_gone/);
    await sleep(300);
    assert.equal(strong.calls.length, strongBefore, 'the second tier was never called');
  });

  test('the record names the model the client left waiting for, not an earlier fallback', async () => {
    const before = cheap.calls.length;
    await askAndLeave(gw.base, chatBody('fallback', 'first fails, then slow'), 300);
    await eventually(() => cheap.calls[before]?.closedAfterMs != null, ANSWER_AFTER_MS, 'the fallback call closed');
    const d = await goneRecord(gw, 'fallback');
    assert.equal(d.model, 'cheap');
    assert.equal(d.replica, d.attempts.at(-1).replica);
    assert.deepEqual(d.attempts.map((a) => [a.model, a.result]), [['failing', 'upstream_status_500'], ['cheap', 'client_gone']]);
    assertPromptCharged(d);  // the failed try is not charged, the one cut short is
  });

  test('a request pipelined behind another is no sign of leaving; a half-close after the last one is', async () => {
    const req = (prompt) => {
      const b = JSON.stringify(chatBody('quick', prompt));
      return `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    };
    const before = quick.calls.length;
    const socket = await rawConnect(gw.port);
    socket.write(req('first') + req('second'));
    socket.end();  // nothing more to send: counts as leaving, as with nginx, once no request is left
    await withTimeout(socket.whenClosed, 5000, 'the connection closed');
    // The first request was read with the second behind it in the connection's buffer: answered.
    assert.equal((socket.received.match(/HTTP\/1\.1 200/g) ?? []).length, 1, socket.received);
    assert.equal(quick.calls[before].answered, true);
    // The second, after which the client shut its side: cancelled, nothing written.
    await eventually(() => quick.calls[before + 1]?.closedAfterMs != null, 2000, 'the second call closed');
    assert.equal((socket.received.match(/HTTP\/1\.1 /g) ?? []).length, 1, socket.received);
  });

  test('a client that stays gets its answer, and its keep-alive connection serves the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (prompt) => new Promise((resolve, reject) => {
      const payload = JSON.stringify(chatBody('cheap', prompt));
      const req = http.request(`${gw.base}/v1/chat/completions`, {
        method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text, socket: req.socket }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    const first = await ask('one');
    assert.equal(first.status, 200, first.text);
    assert.equal(JSON.parse(first.text).choices[0].message.content, 'cheap');
    const second = await ask('two');
    assert.equal(second.status, 200, second.text);
    assert.equal(second.socket, first.socket, 'the same connection served both');
    agent.destroy();
  });
});

describe('a client that leaves a stream while the upstream is silent', () => {
  let thinker;
  let gw;
  const calls = [];
  before(async () => {
    // Sends its head and a first chunk, then nothing for 3 s (a reasoning model thinking).
    // Answers chat completions, or Anthropic Messages on /v1/messages (the `api: anthropic` replica:
    // the gateway translates its stream for the chat client).
    thinker = await fakeUpstream((req, res) => new Promise((resolve) => {
      const call = { closedAfterMs: null, finished: false, anthropic: req.url.endsWith('/messages') };
      calls.push(call);
      const t0 = performance.now();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (call.anthropic) {
        const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        ev('message_start', { message: { id: 'msg_t', type: 'message', role: 'assistant', model: 'claude', content: [],
          stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } });
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hmm' } });
      } else {
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'thinker',
          choices: [{ index: 0, delta: { role: 'assistant', content: 'Hmm' }, finish_reason: null }] })}\n\n`);
      }
      const timer = setTimeout(() => { call.finished = true; res.end('data: [DONE]\n\n'); resolve(); }, ANSWER_AFTER_MS);
      res.on('close', () => {
        if (!call.finished) { call.closedAfterMs = performance.now() - t0; clearTimeout(timer); }
        resolve();
      });
    }));
    const opts = { timeout_ms: 10000, stream_idle_timeout_ms: 10000 };
    gw = await startGateway({ models: [
      model('thinker', thinker.url, opts),
      model('claude-thinker', [{ url: thinker.url, api: 'anthropic' }], opts),
    ] });
  });
  after(stopAll);

  // The second: a stream translated from an Anthropic replica (before session 27 the translation
  // did not pass the cancel on, and the read waited for the upstream's next event).
  for (const [name, anthropic] of [['thinker', false], ['claude-thinker', true]]) {
    test(`${name}: the upstream read is cancelled at once, not at the next chunk; recorded client_gone`, async () => {
      const controller = new AbortController();
      const before = calls.length;
      const res = await fetch(`${gw.base}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chatBody(name, 'think hard', { stream: true, max_tokens: 50 })), signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const id = res.headers.get('x-switchboard-decision');
      const reader = res.body.getReader();
      await reader.read();  // the first chunk
      await sleep(200);
      controller.abort();
      const call = await eventually(() => calls[before]?.closedAfterMs != null && calls[before], ANSWER_AFTER_MS,
        'the upstream stream closed before its end');
      assert.equal(call.anthropic, anthropic);
      assert.ok(call.closedAfterMs < ANSWER_AFTER_MS - 1000, `closed after ${call.closedAfterMs} ms`);
      const d = await eventually(() => decisions(gw).find((x) => x.id === id), 10000, 'the record');
      assert.equal(d.outcome, 'client_gone');
      assert.equal(d.stream, true);
      assert.equal(d.error, null, JSON.stringify(d.error));
    });
  }
});

describe('server.cancel_on_client_close: false', () => {
  let up;
  let gw;
  before(async () => {
    up = await slowUpstream();
    gw = await startGateway({
      models: [model('slow', up.url, { timeout_ms: 10000 })],
      server: { cancel_on_client_close: false },
    });
  });
  after(stopAll);

  test('the call runs to its end although the client left', async () => {
    await askAndLeave(gw.base, chatBody('slow', 'hello'), 300);
    const call = await eventually(() => up.calls[0]?.answered && up.calls[0], ANSWER_AFTER_MS + 3000,
      'the upstream answered');
    assert.equal(call.closedAfterMs, null);
    const d = await eventually(() => decisions(gw).find((x) => x.route === 'slow'), 10000, 'a record');
    assert.equal(d.status, 200);
    assert.deepEqual(d.attempts.map((a) => a.result), ['ok']);
  });
});

// A try that times out once the replica had the whole request may have been run to its end (and
// billed by the provider): each such try is charged its prompt, so a slow model cannot be asked
// for free, retries included; a try that never reached a replica (nothing listens) costs nothing.
describe('tries that time out after the request was sent', () => {
  let gw;
  before(async () => {
    const slow = await Promise.all([0, 1].map(() => slowUpstream()));
    gw = await startGateway({
      models: [
        model('slow-cheap', slow.map((u) => u.url), { timeout_ms: 300, price: CHEAP_PRICE, retry: { max_attempts: 2 } }),
        model('slow-once', [slow[0].url], { timeout_ms: 300, price: CHEAP_PRICE, retry: { max_attempts: 1 } }),
        model('nowhere', [`http://127.0.0.1:${await closedPort()}`], { timeout_ms: 300, price: CHEAP_PRICE }),
      ],
    });
  });
  after(stopAll);

  test('each timed-out try is charged its prompt; a refused connection is not', async () => {
    const r = await postChat(gw.base, chatBody('slow-cheap', 'a question for a slow model'));
    assert.equal(r.status, 504, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => a.result), ['upstream_timeout', 'upstream_timeout']);
    assert.ok(d.usage.prompt_tokens > 0);
    assert.ok(Math.abs(d.cost_usd - d.usage.prompt_tokens * CHEAP_PRICE.input_per_mtok / 1e6) < 1e-12);
    // Two tries, each its prompt: twice what one try of the same prompt is charged.
    const once = await postChat(gw.base, chatBody('slow-once', 'a question for a slow model'));
    const d1 = await getDecision(gw.base, once.headers.get('x-switchboard-decision'));
    assert.deepEqual(d1.attempts.map((a) => a.result), ['upstream_timeout']);
    assert.ok(d1.usage.prompt_tokens > 0);
    assert.equal(d.usage.prompt_tokens, 2 * d1.usage.prompt_tokens);
    const n = await postChat(gw.base, chatBody('nowhere', 'a question for nobody'));
    assert.equal(n.status, 502, n.text);
    const dn = await getDecision(gw.base, n.headers.get('x-switchboard-decision'));
    assert.equal(dn.cost_usd, 0);
  });
});
