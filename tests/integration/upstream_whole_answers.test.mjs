// Replicas that answer differently from what was asked, with tiny Node upstreams: a server that
// ignores `stream` and answers whole JSON (re-chunked into the events every client API asked for,
// or 502 where a native pass-through cannot be), and a replica refusing the gateway's own
// credentials (502 upstream_auth, never the replica's 401 passed on as the client's).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, streamChat, getDecision, fakeUpstream, readSse,
  expectErrorShape,
} from './lib/harness.mjs';

// A chat completion with text, a tool call and usage: everything a re-chunked stream must keep.
// `text` replaces the default text (an echo of the prompt).
function wholeAnswer(modelName, text = 'Looking it up in the weather service now.') {
  return JSON.stringify({
    id: 'chatcmpl-whole', object: 'chat.completion', created: 1700000000, model: modelName,
    choices: [{
      index: 0, finish_reason: 'tool_calls',
      message: {
        role: 'assistant', content: text,
        tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      },
    }],
    usage: { prompt_tokens: 11, completion_tokens: 13, total_tokens: 24 },
  });
}

const ANTHROPIC_WHOLE = JSON.stringify({
  id: 'msg_whole', type: 'message', role: 'assistant', model: 'claude-x',
  content: [{ type: 'text', text: 'native whole answer' }], stop_reason: 'end_turn', stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 4 },
});

describe('replicas answering otherwise than asked', () => {
  let chat;
  let anthropic;
  let refusing;
  let flagging;
  let gw;
  before(async () => {
    // Ignores `stream`: always one JSON body.
    chat = await fakeUpstream((req, res, body) => {
      const j = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      const prompt = j.messages?.at(-1)?.content ?? '';
      res.end(wholeAnswer(j.model, prompt.startsWith('echo: ') ? prompt.slice(6) : undefined));
    });
    // An Anthropic replica that also ignores `stream`.
    anthropic = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(ANTHROPIC_WHOLE);
    });
    // Refuses every key, quoting part of it as OpenAI does.
    refusing = await fakeUpstream((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-ope***-key', type: 'invalid_request_error', code: 'invalid_api_key', param: null } }));
    });
    // A provider's refusal of the request's content: 403, for the client to see.
    flagging = await fakeUpstream((req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Your input was flagged by moderation', type: 'invalid_request_error', code: 'flagged', param: null } }));
    });
    gw = await startGateway({
      env: { SB_IT_OPERATOR_KEY: 'sk-operator-key' },
      models: [
        model('ignores-stream', chat.url),
        model('claude-whole', [{ url: anthropic.url, api: 'anthropic' }]),
        model('wrong-key', [{ url: refusing.url, api_key_env: 'SB_IT_OPERATOR_KEY' }]),
        model('flags', flagging.url),
        // Its re-chunked events (several times the answer's bytes) exceed the stream bound.
        model('ignores-stream-small', chat.url, { max_stream_bytes: 600 }),
        model('wrong-key-then-good', [{ url: refusing.url, api_key_env: 'SB_IT_OPERATOR_KEY' }, { url: chat.url }],
          { balancer: 'round_robin' }),
      ],
      routes: [
        { name: 'guarded-whole', policy: { type: 'static', model: 'ignores-stream' }, guard: { pii: { default: 'redact', restore: true } } },
        { name: 'cached-whole', policy: { type: 'static', model: 'ignores-stream' }, cache: { ttl_s: 600 } },
      ],
    });
  });
  after(stopAll);

  test('chat: a whole answer to stream: true arrives as chunks — text, tool call, finish, usage — recorded ok', async () => {
    const r = await streamChat(gw.base, chatBody('ignores-stream', 'weather?', { stream_options: { include_usage: true } }));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(r.text, 'Looking it up in the weather service now.');
    assert.ok(r.events.length > 3, 'several events');
    const call = r.events.map((e) => e.json?.choices?.[0]?.delta?.tool_calls?.[0]).find(Boolean);
    assert.equal(call.function.name, 'weather');
    assert.equal(call.function.arguments, '{"city":"Paris"}');
    assert.equal(r.events.map((e) => e.json?.choices?.[0]?.finish_reason).find(Boolean), 'tool_calls');
    assert.deepEqual(r.events.map((e) => e.json?.usage).find(Boolean), { prompt_tokens: 11, completion_tokens: 13, total_tokens: 24 });
    assert.equal(r.events.at(-1).data, '[DONE]');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: 11, completion_tokens: 13, source: 'upstream' });
  });

  test('a re-chunked stream without include_usage is cached with the usage the replica reported', async () => {
    const body = chatBody('cached-whole', 'echo: cached once');
    const first = await streamChat(gw.base, { ...body, stream: true });
    assert.equal(first.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(first.events.map((e) => e.json?.usage).find(Boolean), undefined, 'not asked for');
    const d1 = await getDecision(gw.base, first.headers.get('x-switchboard-decision'));
    assert.deepEqual(d1.cache, { status: 'miss', note: 'stored' });
    const second = await postChat(gw.base, body);
    assert.equal(second.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(second.json.choices[0].message.content, 'cached once');
    // It said 0/0 tokens: the client's stream had no usage chunk to read them from.
    assert.deepEqual(second.json.usage, { prompt_tokens: 11, completion_tokens: 13, total_tokens: 24 });
  });

  test('chat without stream: the same replica answers whole as before', async () => {
    const r = await postChat(gw.base, chatBody('ignores-stream', 'weather?'));
    assert.equal(r.status, 200);
    assert.equal(r.json.choices[0].message.tool_calls[0].id, 'call_w1');
  });

  test('Responses and Messages clients get their own event streams from the re-chunked answer', async () => {
    const resp = await fetch(`${gw.base}/v1/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ignores-stream', input: 'weather?', stream: true }),
    });
    assert.equal(resp.status, 200);
    const { events } = await readSse(resp);
    const types = events.map((e) => e.json?.type);
    assert.ok(types.includes('response.output_text.delta'), types.join());
    const done = events.find((e) => e.json?.type === 'response.completed').json.response;
    assert.equal(done.output.find((o) => o.type === 'message').content[0].text, 'Looking it up in the weather service now.');
    assert.equal(done.output.find((o) => o.type === 'function_call').arguments, '{"city":"Paris"}');

    const msg = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ignores-stream', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'weather?' }] }),
    });
    assert.equal(msg.status, 200);
    const m = (await readSse(msg)).events.map((e) => e.json).filter(Boolean);
    const text = m.filter((e) => e.delta?.type === 'text_delta').map((e) => e.delta.text).join('');
    assert.equal(text, 'Looking it up in the weather service now.');
    assert.equal(m.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json).join(''), '{"city":"Paris"}');
    assert.equal(m.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');
  });

  test('the guard\'s redacted values are restored in the re-chunked stream', async () => {
    // The fake echoes the prompt it got (with the guard's placeholder) as its whole answer.
    const r = await streamChat(gw.base, chatBody('guarded-whole', 'echo: mail me at jane.doe@example.com'));
    assert.equal(r.status, 200);
    assert.doesNotMatch(chat.requests.at(-1).body, /jane\.doe@example\.com/);
    assert.equal(r.text, 'mail me at jane.doe@example.com');
  });

  test('re-chunked events over the model\'s max_stream_bytes: 502 upstream_bad_answer, not a stream past the bound', async () => {
    const r = await streamChat(gw.base, chatBody('ignores-stream-small', 'weather?'));
    assert.equal(r.status, 502, r.text);
    assert.match(JSON.parse(r.text).error.message, /exceed max_stream_bytes \(600\)/);
    const whole = await postChat(gw.base, chatBody('ignores-stream-small', 'weather?'));
    assert.equal(whole.status, 200, 'not streamed, the same answer is within its bounds');
  });

  test('a native Messages pass-through answered whole to a stream is 502 upstream_bad_answer, recorded', async () => {
    const r = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-whole', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 502);
    const j = await r.json();
    assert.equal(j.type, 'error');
    assert.match(j.error.message, /a whole answer to a streaming request/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts[0].result, 'upstream_bad_answer');
    // Not streamed, the same replica's answer passes through.
    const whole = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-whole', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(whole.status, 200);
    assert.equal((await whole.json()).content[0].text, 'native whole answer');
  });

  test('a replica refusing the gateway\'s key: 502 upstream_auth, its text and the key prefix not passed on', async () => {
    const r = await postChat(gw.base, chatBody('wrong-key', 'hi'));
    assert.equal(r.status, 502, r.text);
    const e = expectErrorShape(assert, r.json, 'upstream_auth');
    assert.match(e.message, /refused the gateway's credentials \(HTTP 401\)/);
    assert.doesNotMatch(r.text, /sk-ope|Incorrect API key/);
    assert.equal(refusing.requests.at(-1).headers.authorization, 'Bearer sk-operator-key');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts[0].result, 'upstream_auth');
    // A 403 is the provider refusing the request's content: passed on as it came.
    const flagged = await postChat(gw.base, chatBody('flags', 'hi'));
    assert.equal(flagged.status, 403, flagged.text);
    assert.equal(flagged.json.error.code, 'flagged');
    // Another replica of the model is tried.
    for (let i = 0; i < 4; i += 1) {
      const ok = await postChat(gw.base, chatBody('wrong-key-then-good', 'hi'));
      assert.equal(ok.status, 200, ok.text);
    }
  });
});
