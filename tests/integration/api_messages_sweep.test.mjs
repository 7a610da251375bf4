// POST /v1/messages over chat replicas sending what a Messages client cannot take as sent (session
// 35's sweep): structured outputs reach the chat replica as response_format, mcp_servers is
// native-only, an event that is no JSON breaks the stream (for chat clients too, recorded alike),
// text inside a streamed tool call comes after it, tool-call arguments that are not a JSON object
// are a bad answer (retried on another replica whole, an error event streamed), and a stream
// without usage reports the gateway's estimate.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, model, stopAll, getDecision, fakeUpstream } from './lib/harness.mjs';
import { postJson, eventNames } from './lib/post.mjs';

const base = { id: 'chatcmpl-s', created: 1700000000, model: 'm' };
const chunk = (delta, finish = null) =>
  `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const call = (args, first = false, index = 0) => ({ tool_calls: [{ index, ...(first ? { id: `call_${index}`, type: 'function' } : {}), function: { ...(first ? { name: 'weather' } : {}), arguments: args } }] });
const whole = (message, usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }) => JSON.stringify({
  ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' }], usage,
});

// Answers by the scenario named in the last user message: its streams are written in pieces.
function scenarios(bad) {
  return fakeUpstream(async (req, res, body) => {
    const j = JSON.parse(body);
    const scn = String(j.messages.at(-1).content);
    const args = bad ? '[1,2]' : '{"city":"Paris"}';
    if (!j.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (scn === 'tool') res.end(whole({ content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'weather', arguments: args } }] }));
      else res.end(whole({ content: '{"name":"Ada"}' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (s) => new Promise((r) => res.write(s, r));
    if (scn === 'badjson') {
      await send(chunk({ role: 'assistant', content: 'before ' }));
      await send('data: {not json at all\n\n');
      await send(chunk({ content: 'after' }));
      await send(chunk({}, 'stop'));
    } else if (scn === 'textmid') {
      await send(chunk(call('{"city":', true)));
      await send(chunk({ content: 'Checking.' }));
      await send(chunk(call('"Paris"}')));
      await send(chunk({}, 'tool_calls'));
    } else if (scn === 'tool') {
      await send(chunk(call(args.slice(0, 3), true)));
      await send(chunk(call(args.slice(3))));
      await send(chunk({}, 'tool_calls'));
    } else {  // no usage at all
      await send(chunk({ role: 'assistant', content: 'one ' }));
      await send(chunk({ content: 'two ' }));
      await send(chunk({ content: 'three' }));
      await send(chunk({}, 'stop'));
    }
    res.end('data: [DONE]\n\n');
  });
}

describe('Messages over chat replicas: what Messages cannot take as sent', () => {
  let gw;
  let good;
  let bad;
  let client;
  before(async () => {
    good = await scenarios(false);
    bad = await scenarios(true);
    gw = await startGateway({
      models: [
        model('chat-m', good.url),
        model('bad-args', bad.url),
        // One replica sends arguments that are not an object: its whole answer is retried on the
        // other.
        model('bad-then-good', [bad.url, good.url], { balancer: 'round_robin', outlier_ejection: { consecutive_failures: 0 } }),
      ],
    });
    client = new Anthropic({ apiKey: 'k', baseURL: gw.base, maxRetries: 0 });
  });
  after(stopAll);

  const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };

  test('output_config.format and output_format reach the chat replica as a strict json_schema response_format', async () => {
    for (const extra of [{ output_config: { format: { type: 'json_schema', schema } } }, { output_format: { type: 'json_schema', schema } }]) {
      const r = await postJson(gw.base, '/v1/messages', { model: 'chat-m', max_tokens: 50, messages: [{ role: 'user', content: 'a person' }], ...extra });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(r.json.content[0].text), { name: 'Ada' });
      const sent = JSON.parse(good.requests.at(-1).body);
      assert.deepEqual(sent.response_format, { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    }
    const refused = await postJson(gw.base, '/v1/messages', { model: 'chat-m', max_tokens: 50, messages: [{ role: 'user', content: 'x' }], output_config: { format: { type: 'json_object' } } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.type, 'invalid_request_error');
    assert.match(refused.json.error.message, /output_config\.format\.type/);
  });

  test('mcp_servers is native-only: a chat replica refuses it (it was dropped)', async () => {
    const r = await postJson(gw.base, '/v1/messages', { model: 'chat-m', max_tokens: 50, messages: [{ role: 'user', content: 'x' }], mcp_servers: [{ type: 'url', url: 'https://example.com/sse', name: 'ex' }] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, /mcp_servers: passed only to replicas with api: anthropic/);
  });

  test('an event that is not JSON ends the stream with an error, recorded broken, for Messages and chat clients alike', async () => {
    const m = await postJson(gw.base, '/v1/messages', { model: 'chat-m', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'badjson' }] });
    assert.equal(m.status, 200);
    assert.equal(eventNames(m.text).at(-1), 'error', m.text);
    assert.doesNotMatch(m.text, /message_stop|after/);
    let d = await getDecision(gw.base, m.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.error?.code, 'upstream_stream_broken');
    assert.match(d.error?.message, /not a JSON object/);

    const c = await postJson(gw.base, '/v1/chat/completions', { model: 'chat-m', stream: true, messages: [{ role: 'user', content: 'badjson' }] });
    assert.match(c.text, /data: \{not json at all/);  // relayed as sent, then the error
    assert.match(c.text, /upstream_stream_broken/);
    d = await getDecision(gw.base, c.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.match(d.error?.message, /not a JSON object/);
  });

  test('text inside a streamed tool call comes after it: the SDK gets one whole call and the text', async () => {
    const final = await client.messages.stream({ model: 'chat-m', max_tokens: 50, messages: [{ role: 'user', content: 'textmid' }], tools: [{ name: 'weather', input_schema: { type: 'object' } }] }).finalMessage();
    assert.deepEqual(final.content.map((b) => b.type), ['tool_use', 'text']);
    assert.deepEqual(final.content[0].input, { city: 'Paris' });
    assert.equal(final.content[0].name, 'weather');
    assert.equal(final.content[1].text, 'Checking.');
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('arguments that are not a JSON object: 502 naming the tool, retried on another replica; an error event streamed', async () => {
    const req = { max_tokens: 50, messages: [{ role: 'user', content: 'tool' }], tools: [{ name: 'weather', input_schema: { type: 'object' } }] };
    const r = await postJson(gw.base, '/v1/messages', { model: 'bad-args', ...req });
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.type, 'error');
    assert.match(r.json.error.message, /"weather"/);
    let d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts.at(-1).result, 'upstream_bad_answer');

    const results = [];
    for (let i = 0; i < 2; i++) {  // round robin: one of the two starts on the bad replica
      const retried = await postJson(gw.base, '/v1/messages', { model: 'bad-then-good', ...req });
      assert.equal(retried.status, 200, retried.text);
      assert.deepEqual(retried.json.content[0].input, { city: 'Paris' });
      d = await getDecision(gw.base, retried.headers.get('x-switchboard-decision'));
      results.push(d.attempts.map((a) => a.result).join(','));
    }
    assert.ok(results.includes('upstream_bad_answer,ok'), results.join(' | '));

    // The same answer is fine for a chat client (its arguments are a string).
    const chat = await postJson(gw.base, '/v1/chat/completions', { model: 'bad-args', messages: [{ role: 'user', content: 'tool' }] });
    assert.equal(chat.status, 200, chat.text);
    assert.equal(chat.json.choices[0].message.tool_calls[0].function.arguments, '[1,2]');

    const s = await postJson(gw.base, '/v1/messages', { model: 'bad-args', stream: true, ...req });
    assert.equal(eventNames(s.text).at(-1), 'error', s.text);
    assert.doesNotMatch(s.text, /message_stop/);
    d = await getDecision(gw.base, s.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.match(d.error?.message, /"weather"/);
  });

  test('a stream without usage reports the estimate the decision record counts', async () => {
    const s = await postJson(gw.base, '/v1/messages', { model: 'chat-m', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'nousage' }] });
    const delta = s.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).find((e) => e.type === 'message_delta');
    const d = await getDecision(gw.base, s.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(delta.usage.output_tokens, d.usage.completion_tokens);
    assert.equal(delta.usage.output_tokens, 3);
    assert.equal(delta.usage.input_tokens, d.usage.prompt_tokens);
  });
});
