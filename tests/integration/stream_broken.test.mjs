// An upstream that dies in the middle of a stream: the client gets the chunks that were sent, then a
// well-formed SSE error event (code upstream_stream_broken) and [DONE]; the decision record says
// stream_broken; the gateway keeps serving. Also the non-streaming variant (half a body, then the
// connection is cut), an upstream that goes silent mid-stream (stream_idle_timeout_ms) and one whose
// data line never ends (max_stream_line_bytes: the gateway stops relaying instead of buffering), and
// one whose body breaks off only after its [DONE] (the client's stream is complete: no error event).
// Also streams read through a translation (an Anthropic-speaking replica): keep-alive pings longer
// than the idle timeout keep the stream alive, endless pings are cut at max_stream_bytes counted on
// the upstream's bytes; and a chat stream whose lines end with a lone CR is read (metered) as one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getDecision, metricSum,
  fakeUpstream, chunkEvent, expectErrorShape, GPT4, readSse,
} from './lib/harness.mjs';

describe('upstream dies mid-stream', () => {
  let backend;
  let silent;
  let endless;
  let afterDone;
  let pinging;
  let crOnly;
  let gw;
  before(async () => {
    backend = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 });
    // Sends two chunks, then neither data nor end: the gateway's stream idle timeout must fire.
    silent = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent('silent', 'Hello'));
      res.write(chunkEvent('silent', ' there'));
    });
    // One chunk, then a data line that never ends (8 MiB without a newline, 64 KiB at a time).
    endless = await fakeUpstream(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent('endless', 'Hi'));
      res.write('data: {"choices":[{"delta":{"content":"');
      const block = 'x'.repeat(65536);
      for (let i = 0; i < 128 && !res.destroyed; i++) {
        if (!res.write(block)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    });
    // A whole answer with [DONE], then the connection closes before the chunked body's last chunk.
    afterDone = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent('after-done', 'All'));
      res.write(chunkEvent('after-done', ' here', 'stop'));
      res.write('data: [DONE]\n\n', () => setTimeout(() => res.socket.destroy(), 50));
    });
    // Valid events that never stop: 2 KiB of content every 20 ms, until the gateway hangs up.
    const neverEnding = await fakeUpstream(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const piece = 'y'.repeat(2048);
      for (let i = 0; i < 3000 && !res.destroyed; i++) {
        res.write(chunkEvent('never-ending', piece));
        await new Promise((r) => setTimeout(r, 20));
      }
      res.end();
    });
    // An Anthropic Messages stream that pauses (pings only) for 1.2 s between its two text deltas;
    // with "endless" in the prompt it sends nothing but pings after message_start.
    const anthropicEv = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    pinging = await fakeUpstream(async (req, res, body) => {
      const endlessPings = body.includes('endless');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(anthropicEv('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'p', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } }));
      res.write(anthropicEv('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      res.write(anthropicEv('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Slow' } }));
      for (let i = 0; (endlessPings ? i < 2000 : i < 12) && !res.destroyed; i++) {
        res.write(anthropicEv('ping', {}));
        await new Promise((r) => setTimeout(r, endlessPings ? 5 : 100));
      }
      res.write(anthropicEv('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' answer' } }));
      res.write(anthropicEv('content_block_stop', { index: 0 }));
      res.write(anthropicEv('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }));
      res.end(anthropicEv('message_stop', {}));
    });
    // A chat stream whose lines all end with a lone CR (the SSE grammar allows it).
    crOnly = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const cr = (e) => e.replaceAll('\n', '\r');
      res.write(cr(chunkEvent('cr-model', 'Carriage')));
      res.write(cr(chunkEvent('cr-model', ' returns', 'stop')));
      res.end('data: [DONE]\r\r');
    });
    // A chat stream that ends cleanly after two content chunks: no finish_reason, no [DONE].
    const cutChat = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent('cut-chat', 'Half'));
      res.end(chunkEvent('cut-chat', ' an answer'));
    });
    // A finish_reason but no [DONE] (servers that omit it): a whole answer.
    const noDone = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent('no-done', 'Whole'));
      res.end(chunkEvent('no-done', ' answer', 'stop'));
    });
    // An error event instead of the answer, then [DONE] (an engine that failed mid-request).
    const erroring = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"error":{"message":"engine overloaded","type":"server_error"}}\n\n');
      res.end('data: [DONE]\n\n');
    });
    gw = await startGateway({
      models: [
        model('erroring-streams', [erroring.url, noDone.url], {
          balancer: 'round_robin', outlier_ejection: { consecutive_failures: 2, base_ejection_ms: 60000, max_ejection_ms: 60000 },
        }),
        model('cut-chat', cutChat.url, { timeout_ms: 5000 }),
        // One replica cuts every stream, the other answers: the cutting one is ejected.
        model('flaky-streams', [cutChat.url, noDone.url], {
          balancer: 'round_robin', outlier_ejection: { consecutive_failures: 2, base_ejection_ms: 60000, max_ejection_ms: 60000 },
        }),
        model('no-done', noDone.url, { timeout_ms: 5000 }),
        model('pinging-model', [{ url: pinging.url, api: 'anthropic' }],
          { stream_idle_timeout_ms: 400, max_stream_bytes: 30000, timeout_ms: 20000 }),
        model('cr-model', crOnly.url, { timeout_ms: 5000 }),
        model('flood-model', neverEnding.url, { max_stream_bytes: 100000, timeout_ms: 5000 }),
        model('long-model', neverEnding.url, { max_stream_ms: 800, timeout_ms: 5000 }),
        model(GPT4, backend.url),
        model('after-done-model', afterDone.url, { timeout_ms: 5000 }),
        model('silent-model', silent.url, { stream_idle_timeout_ms: 400, timeout_ms: 5000 }),
        model('endless-model', endless.url, { max_stream_line_bytes: 262144, max_stream_event_bytes: 524288, timeout_ms: 5000 }),
      ],
      // Its values restored in the client's stream: the guard holds each event until it is whole.
      routes: [{
        name: 'guarded-endless', policy: { type: 'static', model: 'endless-model' },
        guard: { pii: { default: 'redact', restore: true } },
      }],
    });
  });
  after(stopAll);

  test('drop_rate 1: partial chunks, an error event, [DONE]; decision outcome stream_broken', async () => {
    await backend.setFaults({ drop_rate: 1 });
    let r;
    try {
      r = await streamChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, 2).prompt));
    } finally {
      await backend.setFaults({ drop_rate: 0 });
    }
    const full = demoPrompt(GPT4, 2).response;
    assert.equal(r.status, 200);
    assert.equal(r.trailing, '', 'the stream ends on an event boundary');
    const data = r.events.map((e) => e.data);
    assert.equal(data.at(-1), '[DONE]', `last event: ${data.at(-1)}`);
    const errEvent = r.events.at(-2);
    assert.ok(errEvent?.json, `error event is JSON: ${errEvent?.data}`);
    const err = expectErrorShape(assert, errEvent.json, 'upstream_stream_broken');
    assert.ok(err.message.length > 0);
    assert.equal(r.events.filter((e) => e.json?.error).length, 1, 'exactly one error event');
    assert.equal(data.filter((d) => d === '[DONE]').length, 1, 'exactly one [DONE]');
    // What arrived before the break is a proper prefix of the recorded answer.
    assert.ok(r.text.length < full.length, 'the answer was cut short');
    assert.ok(full.startsWith(r.text), `"${r.text}" is a prefix of the answer`);

    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.status, 200);
    assert.equal(d.stream, true);
    assert.equal(d.error?.code, 'upstream_stream_broken');
    assert.equal(d.model, GPT4);
    // A cut answer cannot be rated (since session 34 — it was stored as feedback on an answer the
    // client never got whole).
    const fb = await fetch(`${gw.base}/v1/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision_id: r.headers.get('x-switchboard-decision'), score: 1 }),
    });
    assert.equal(fb.status, 400);
    const refused = expectErrorShape(assert, await fb.json(), 'invalid_feedback');
    assert.match(refused.message, /has no answer to rate \(it ended 200 stream_broken\)/);
  });

  test('a broken stream counts against its replica: its attempt says so, and it is ejected (since session 30)', async () => {
    // Before, the attempt was recorded `ok` when the head arrived and the replica's health counted
    // a success: a replica resetting every stream was never ejected.
    const outcomes = [];
    for (let i = 0; i < 8; ++i) {
      const r = await streamChat(gw.base, chatBody('flaky-streams', `question ${i}`));
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      outcomes.push(d.outcome);
      if (d.outcome === 'stream_broken') assert.equal(d.attempts.at(-1).result, 'upstream_stream_broken');
      else assert.equal(d.attempts.at(-1).result, 'ok');
    }
    // Round robin: the cutting replica served every other request until its second failure.
    assert.deepEqual(outcomes.slice(0, 4), ['stream_broken', 'ok', 'stream_broken', 'ok']);
    assert.deepEqual(outcomes.slice(4), ['ok', 'ok', 'ok', 'ok'], 'ejected after two broken streams');
    assert.equal(await metricSum(gw.base, 'switchboard_replica_ejections_total', { model: 'flaky-streams' }), 1);
  });

  test('a stream that brings an error event instead of its answer counts against its replica', async () => {
    const outcomes = [];
    for (let i = 0; i < 6; ++i) {
      const r = await streamChat(gw.base, chatBody('erroring-streams', `question ${i}`));
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      outcomes.push(d.attempts.at(-1).result);
      // The request's own error: recorded with its code (it had none) and counted.
      if (d.outcome !== 'ok') assert.equal(d.error?.code, 'upstream_stream_error');
    }
    assert.deepEqual(outcomes, ['upstream_stream_error', 'ok', 'upstream_stream_error', 'ok', 'ok', 'ok']);
    assert.equal(await metricSum(gw.base, 'switchboard_request_errors_total',
                                 { model: 'erroring-streams', code: 'upstream_stream_error' }), 2);
    assert.equal(await metricSum(gw.base, 'switchboard_replica_ejections_total', { model: 'erroring-streams' }), 1);
  });

  test('the gateway serves the next request normally after a broken stream', async () => {
    const p = demoPrompt(GPT4, 2);
    const s = await streamChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(s.status, 200);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(s.text, p.response);
    assert.ok(!s.events.some((e) => e.json?.error));
    const r = await postChat(gw.base, chatBody(GPT4, p.prompt));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, p.response);
  });

  test('several broken streams in a row, interleaved with good ones', async () => {
    for (let i = 0; i < 3; i++) {
      await backend.setFaults({ drop_rate: 1 });
      const bad = await streamChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, i).prompt));
      await backend.setFaults({ drop_rate: 0 });
      assert.equal(bad.events.at(-2)?.json?.error?.code, 'upstream_stream_broken');
      assert.equal(bad.events.at(-1)?.data, '[DONE]');
      const good = await streamChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, i).prompt));
      assert.equal(good.text, demoPrompt(GPT4, i).response);
    }
  });

  test('non-streaming answer cut in half → 502 with the OpenAI error shape', async () => {
    await backend.setFaults({ drop_rate: 1 });
    let r;
    try {
      r = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, 0).prompt));
    } finally {
      await backend.setFaults({ drop_rate: 0 });
    }
    assert.equal(r.status, 502, r.text);
    expectErrorShape(assert, r.json);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.status, 502);
    assert.equal(d.outcome, 'upstream_error');
  });

  test('a line longer than max_stream_line_bytes ends the stream with an error event of its own', async () => {
    const r = await streamChat(gw.base, chatBody('endless-model', 'hi'));
    assert.equal(r.status, 200);
    assert.equal(r.trailing, '', 'the stream ends on an event boundary');
    assert.equal(r.events.at(-1)?.data, '[DONE]');
    assert.equal(r.events.at(-2)?.json?.error?.code, 'upstream_stream_broken', r.events.at(-2)?.data?.slice(0, 200));
    assert.match(r.events.at(-2).json.error.message, /exceeds 262144 bytes/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.error?.code, 'upstream_stream_broken');
  });

  test('on a route that restores redacted values, an event that never ends is cut too (not held without bound)', async () => {
    const r = await streamChat(gw.base, chatBody('guarded-endless', 'write to me at jane.doe@example.com'));
    assert.equal(r.status, 200);
    assert.equal(r.events.at(-1)?.data, '[DONE]');
    assert.equal(r.events.at(-2)?.json?.error?.code, 'upstream_stream_broken', r.events.at(-2)?.data?.slice(0, 200));
    assert.match(r.events.at(-2).json.error.message, /exceeds 524288 bytes/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.ok(d.guard?.length, 'the guard redacted the address');
  });

  test('a stream that never ends is cut at max_stream_bytes, and at max_stream_ms', async () => {
    for (const [name, why] of [['flood-model', /exceeds max_stream_bytes \(100000 bytes\)/],
      ['long-model', /lasted longer than max_stream_ms \(800 ms\)/]]) {
      const r = await streamChat(gw.base, chatBody(name, 'go on'));
      assert.equal(r.status, 200);
      assert.equal(r.events.at(-1)?.data, '[DONE]');
      const error = r.events.at(-2)?.json?.error;
      assert.equal(error?.code, 'upstream_stream_broken', r.events.at(-2)?.data?.slice(0, 200));
      assert.match(error.message, why);
      assert.ok(r.text.length > 0, 'what came before was relayed');
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.outcome, 'stream_broken');
    }
  });

  test('a body that breaks off after [DONE] ends the client stream normally; outcome ok', async () => {
    const r = await streamChat(gw.base, chatBody('after-done-model', 'hi'));
    assert.equal(r.status, 200);
    assert.equal(r.trailing, '');
    assert.equal(r.text, 'All here');
    assert.deepEqual(r.events.map((e) => e.data).filter((d) => d === '[DONE]'), ['[DONE]']);
    assert.equal(r.events.at(-1).data, '[DONE]');
    assert.ok(!r.events.some((e) => e.json?.error), 'no error event');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(d.error, null);
  });

  test('an upstream that goes silent mid-stream is cut after stream_idle_timeout_ms', async () => {
    const t0 = performance.now();
    const r = await streamChat(gw.base, chatBody('silent-model', 'hi'));
    const elapsed = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Hello there');
    assert.equal(r.events.at(-2)?.json?.error?.code, 'upstream_stream_broken');
    assert.equal(r.events.at(-1)?.data, '[DONE]');
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.usage.completion_tokens, 2, 'two content chunks counted');
    assert.equal(d.usage.source, 'counted');
  });

  test('a translated stream whose upstream only pings for longer than stream_idle_timeout_ms goes on', async () => {
    const r = await streamChat(gw.base, chatBody('pinging-model', 'take your time'));
    assert.equal(r.status, 200);
    assert.ok(!r.events.some((e) => e.json?.error), JSON.stringify(r.events.map((e) => e.data)));
    assert.equal(r.text, 'Slow answer');
    assert.equal(r.events.at(-1)?.data, '[DONE]');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
  });

  test('a translated stream of endless pings is cut at max_stream_bytes of the upstream\'s bytes', async () => {
    const r = await streamChat(gw.base, chatBody('pinging-model', 'endless'));
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Slow');
    const error = r.events.at(-2)?.json?.error;
    assert.equal(error?.code, 'upstream_stream_broken', r.events.at(-2)?.data?.slice(0, 200));
    assert.match(error.message, /exceeds max_stream_bytes \(30000 bytes\)/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
  });

  test('a stream with lone-CR line ends is read: its content chunks and [DONE] are counted', async () => {
    const r = await streamChat(gw.base, chatBody('cr-model', 'hi'));
    assert.equal(r.status, 200);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(d.usage.completion_tokens, 2, 'two content chunks counted');
  });

  test('a chat stream that ends before its finish_reason and [DONE] is cut short, for every client API', async () => {
    const r = await streamChat(gw.base, chatBody('cut-chat', 'hi'));
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Half an answer');
    const error = r.events.at(-2)?.json?.error;
    assert.equal(error?.code, 'upstream_stream_broken', r.events.at(-2)?.data?.slice(0, 200));
    assert.match(error.message, /ended before its final event/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    // A Messages client: an error event, not end_turn and message_stop.
    const m = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cut-chat', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const { events } = await readSse(m);
    const types = events.map((e) => e.json?.type);
    assert.ok(!types.includes('message_stop'), types.join(','));
    assert.equal(types.at(-1), 'error', types.join(','));
    // A finish_reason without [DONE] is a whole answer.
    const whole = await streamChat(gw.base, chatBody('no-done', 'hi'));
    assert.equal(whole.text, 'Whole answer');
    assert.ok(!whole.events.some((e) => e.json?.error));
    const dw = await getDecision(gw.base, whole.headers.get('x-switchboard-decision'));
    assert.equal(dw.outcome, 'ok');
  });
});
