// Where an answer ends, and what its client's API can carry (session 36's review of the merged
// stream checks): nothing follows a chat client's [DONE] even when a bad event came in the same
// read; a stray event after [DONE] breaks nothing; a translated replica's answer that a Messages
// client cannot carry is retried on another replica; a cached answer a Messages client cannot
// carry is not given to it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, model, stopAll, getDecision, fakeUpstream } from './lib/harness.mjs';
import { postJson, eventNames } from './lib/post.mjs';

const base = { id: 'chatcmpl-e', created: 1700000000, model: 'm' };
const chunk = (delta, finish = null) =>
  `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const TOOLS = [{ name: 'weather', input_schema: { type: 'object' } }];
const toolAnswer = (args) => JSON.stringify({
  ...base, object: 'chat.completion',
  choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'weather', arguments: args } }] } }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
});

describe('where answers end and what a client can carry', () => {
  let gw;
  let chat;
  before(async () => {
    // Streams by the scenario in the last message; whole tool answers otherwise (arguments that
    // are no JSON object when the message says "bad").
    chat = await fakeUpstream(async (req, res, body) => {
      const j = JSON.parse(body);
      const scn = String(j.messages.at(-1).content);
      if (!j.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(toolAnswer(scn.includes('bad') ? '[1,2]' : '{"city":"Paris"}'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (scn === 'onepiece') {  // a bad event, the rest and [DONE]: one write, one read
        await new Promise((r) => res.write(chunk({ role: 'assistant', content: 'before ' }), r));
        await new Promise((r) => setTimeout(r, 50));
        res.end('data: {not json\n\n' + chunk({ content: 'after' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
        return;
      }
      if (scn === 'endless') {  // [DONE], then an event every 100 ms for 10 s
        await new Promise((r) => res.write(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\n\n', r));
        for (const t0 = Date.now(); !res.destroyed && Date.now() - t0 < 10000;) {
          res.write('data: still-here\n\n');
          await new Promise((r) => setTimeout(r, 100));
        }
        res.end();
        return;
      }
      if (scn === 'crlfsplit') {  // the end's "\r\n" line end split between two writes
        await new Promise((r) => res.write(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\r\n\r', r));
        await new Promise((r) => setTimeout(r, 50));
        res.end('\ndata: trailing-garbage\n\n');
        return;
      }
      if (scn === 'errorthenbad') {  // the replica's error event, a bad event, more, [DONE]
        res.end('data: {"error":{"message":"overloaded"}}\n\ndata: {not json\n\n' + chunk({ content: 'more' }) + 'data: [DONE]\n\n');
        return;
      }
      if (scn === 'samepiece') {  // a whole answer, [DONE] and a stray event in one write
        res.end(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\n\ndata: trailing-garbage\n\n');
        return;
      }
      if (scn === 'unterminated') {  // a complete answer, then a line the body's end cuts off
        res.end(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + 'data: trailing-unterminated');
        return;
      }
      // A whole answer, [DONE], then a stray event.
      await new Promise((r) => res.write(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + 'data: [DONE]\n\n', r));
      await new Promise((r) => setTimeout(r, 50));
      res.end('data: trailing-garbage\n\n');
    });
    // An Anthropic replica whose stream has an event that is no JSON in its middle.
    const anthropic = await fakeUpstream(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      await new Promise((r) => res.write(ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'c', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } }) +
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'before' } }) +
        'event: content_block_delta\ndata: {not json\n\n', r));
      await new Promise((r) => setTimeout(r, 50));
      res.end(ev('content_block_stop', { index: 0 }) + ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }) +
        ev('message_stop', {}));
    });
    // An OpenAI Responses replica whose function call's arguments are no JSON object.
    const responses = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'resp_1', object: 'response', created_at: 1, model: 'r', status: 'completed',
        output: [{ type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'weather', arguments: '[1,2]', status: 'completed' }],
        usage: { input_tokens: 5, output_tokens: 4, total_tokens: 9 },
      }));
    });
    gw = await startGateway({
      models: [
        model('m', chat.url),
        model('claude-native', [{ url: anthropic.url, api: 'anthropic' }]),
        model('mixed', [{ url: responses.url, api: 'responses' }, { url: chat.url }],
          { balancer: 'round_robin', outlier_ejection: { consecutive_failures: 0 } }),
      ],
      routes: [{ name: 'cached', policy: { type: 'static', model: 'm' }, cache: { ttl_s: 600 } }],
    });
  });
  after(stopAll);

  test('a bad event, the rest and [DONE] in one read: the relay stops at the bad event, then the error event (since session 37)', async () => {
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'onepiece' }] });
    assert.equal(r.status, 200);
    // Nothing of what followed the bad event in its read: not the rest of the answer, not the
    // upstream's [DONE] — the gateway's error event and its own [DONE] instead.
    const bad = r.text.indexOf('data: {not json\n\n');
    assert.ok(bad >= 0, r.text);
    assert.doesNotMatch(r.text, /"content":"after"/, r.text);
    assert.match(r.text.slice(bad), /^data: \{not json\n\ndata: \{"error":\{[^\n]*"code":"upstream_stream_broken"[^\n]*\}\n\ndata: \[DONE\]\n\n$/, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.match(d.error.message, /not a JSON object/);
  });

  test('a stray event after [DONE] breaks no client\'s answer and no record', async () => {
    // (The stray event in a later read, or in the read that brought [DONE]: `samepiece`.)
    const asks = [
      ['/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'after' }] }, /data: \[DONE\]\n\n$/],
      ['/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'samepiece' }] }, /data: \[DONE\]\n\n$/],
      ['/v1/messages', { model: 'm', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'after' }] }, /event: message_stop/],
      ['/v1/responses', { model: 'm', stream: true, input: 'after' }, /response\.completed/],
    ];
    for (const [path, body, end] of asks) {
      const r = await postJson(gw.base, path, body);
      assert.equal(r.status, 200, path);
      assert.match(r.text, end, `${path}: ${r.text}`);
      assert.doesNotMatch(r.text, /event: error|data: {"error"/, path);
      assert.doesNotMatch(r.text, /trailing-garbage/, path);  // not relayed (since session 37)
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.outcome, 'ok', path);
      assert.deepEqual(d.attempts.map((a) => a.result), ['ok'], path);
    }
  });

  test('after [DONE] the client\'s stream ends though the replica sends on; a split line end is kept whole (since session 37)', async () => {
    const t0 = Date.now();
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'endless' }] });
    const ms = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.match(r.text, /data: \[DONE\]\n\n$/);
    assert.doesNotMatch(r.text, /still-here/);
    // The replica sends for 10 s; the gateway waits a moment for its body's end, not for that.
    assert.ok(ms < 5000, `the stream ended after ${ms} ms`);
    let d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');

    const split = await postJson(gw.base, '/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'crlfsplit' }] });
    assert.ok(split.text.endsWith('data: [DONE]\r\n\r\n'), JSON.stringify(split.text.slice(-40)));
    d = await getDecision(gw.base, split.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
  });

  test('an error event then a bad event: the replica\'s error is what the client and the record get, and the stream ends with [DONE]', async () => {
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'errorthenbad' }] });
    assert.match(r.text, /^data: \{"error":\{"message":"overloaded"\}\}\n\n/);
    assert.match(r.text, /data: \[DONE\]\n\n$/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'upstream_error');
  });

  test('an event cut off by the body\'s end is dropped: every client\'s answer ends complete, recorded ok', async () => {
    const asks = {
      '/v1/chat/completions': [{ model: 'm', stream: true, messages: [{ role: 'user', content: 'unterminated' }] }, /"finish_reason":"stop"/],
      '/v1/messages': [{ model: 'm', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'unterminated' }] }, /event: message_stop/],
      '/v1/responses': [{ model: 'm', stream: true, input: 'unterminated' }, /response\.completed/],
    };
    for (const [path, [body, end]] of Object.entries(asks)) {
      const r = await postJson(gw.base, path, body);
      assert.match(r.text, end, `${path}: ${r.text}`);
      assert.doesNotMatch(r.text, /event: error|data: {"error"/, path);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.outcome, 'ok', `${path}: ${JSON.stringify(d.error)}`);
    }
  });

  test('an event that is no JSON from a native Anthropic replica breaks the stream too', async () => {
    const r = await postJson(gw.base, '/v1/messages', { model: 'claude-native', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.status, 200);
    assert.equal(eventNames(r.text).at(-1), 'error', r.text);
    assert.doesNotMatch(r.text, /message_stop/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.match(d.error.message, /not a JSON object/);
  });

  test('a translated replica\'s call a Messages client cannot carry is retried on another replica', async () => {
    const results = [];
    for (let i = 0; i < 2; i++) {  // round robin: one of the two starts on the Responses replica
      const r = await postJson(gw.base, '/v1/messages', { model: 'mixed', max_tokens: 20, messages: [{ role: 'user', content: 'x' }], tools: TOOLS });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.content[0].input, { city: 'Paris' });
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      results.push(d.attempts.map((a) => a.result).join(','));
    }
    assert.ok(results.includes('upstream_bad_answer,ok'), results.join(' | '));
  });

  test('a cached answer a Messages client cannot carry is not given to it', async () => {
    const ask = { model: 'cached', max_tokens: 20, temperature: 0, messages: [{ role: 'user', content: 'bad args' }], tools: TOOLS };
    const first = await postJson(gw.base, '/v1/messages', ask);
    assert.equal(first.status, 502, first.text);  // the replica's answer, not stored
    // A chat client asking the very chat request that became: its answer is fine for chat, stored.
    const asChat = JSON.parse(chat.requests.at(-1).body);
    const c = await postJson(gw.base, '/v1/chat/completions', { ...asChat, model: 'cached' });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.headers.get('x-switchboard-cache'), 'miss');
    assert.deepEqual((await getDecision(gw.base, c.headers.get('x-switchboard-decision'))).cache.note, 'stored');
    const sent = chat.requests.length;
    for (const stream of [false, true]) {
      const again = await postJson(gw.base, '/v1/messages', { ...ask, stream });
      const d = await getDecision(gw.base, again.headers.get('x-switchboard-decision'));
      assert.equal(d.cache.status, 'bypass', JSON.stringify(d.cache));
      assert.match(d.cache.note, /cannot be given in this API/);
      // Answered by the replica (whole: its bad arguments again, 502 as the first time; streamed:
      // this fake's text stream), never the cached call: a 502 recorded as an ok hit before.
      if (!stream) assert.equal(again.status, 502, again.text);
      else assert.equal(eventNames(again.text).at(-1), 'message_stop', again.text);
    }
    assert.equal(chat.requests.length, sent + 2, 'asked of the replica');
  });
});
