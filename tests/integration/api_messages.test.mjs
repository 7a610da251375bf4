// POST /v1/messages (Anthropic Messages API) through the gateway with the official
// @anthropic-ai/sdk: plain and streamed answers from a replay backend, a tool call (plain and
// streamed) from a tool-using fake upstream, errors in Anthropic's shape, malformed requests
// answered 400 and recorded.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, fakeUpstream, GPT4,
} from './lib/harness.mjs';
import { toolUpstream, TOOL_MODEL } from './lib/tool_upstream.mjs';
import { postJson, eventNames } from './lib/post.mjs';

// A chat server that ends each answer ("1, 2") on the last of the request's stop strings, naming
// it as vLLM does (the choice's stop_reason) in a whole answer and as SGLang does (matched_stop) on
// a stream's finishing chunk; without stop strings, on its end-of-sequence token (id 128009).
const STOP_MODEL = 'stop-model';
const stopUpstream = () => fakeUpstream((req, res, body) => {
  const j = JSON.parse(body);
  const matched = j.stop?.at(-1) ?? 128009;
  const base = { id: 'chatcmpl-stop', created: 1700000000, model: STOP_MODEL };
  if (!j.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...base, object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: '1, 2' }, finish_reason: 'stop', stop_reason: matched }],
      usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 } }));
    return;
  }
  const chunk = (choice) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, ...choice }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk({ delta: { role: 'assistant', content: '1, ' }, finish_reason: null }));
  res.write(chunk({ delta: { content: '2' }, finish_reason: null }));
  res.write(chunk({ delta: {}, finish_reason: 'stop', matched_stop: matched }));
  res.end('data: [DONE]\n\n');
});

// A raw Messages event stream (messages.create with stream: true) as the message it builds.
async function messageOf(stream) {
  let message;
  for await (const ev of stream) {
    if (ev.type === 'message_start') message = { ...ev.message, content: [] };
    else if (ev.type === 'content_block_start') message.content.push({ ...ev.content_block });
    else if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') message.content.at(-1).text += ev.delta.text;
    else if (ev.type === 'message_delta') Object.assign(message, ev.delta);
  }
  return message;
}

describe('Anthropic Messages API', () => {
  let gw;
  let client;
  let tools;
  let backend;
  let stops;
  before(async () => {
    backend = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 });
    tools = await toolUpstream();
    stops = await stopUpstream();
    gw = await startGateway({
      models: [model(GPT4, backend.url), model(TOOL_MODEL, tools.url), model(STOP_MODEL, stops.url)],
      routes: [
        { name: 'auto', policy: { type: 'static', model: GPT4 } },
        { name: 'stop-cached', policy: { type: 'static', model: STOP_MODEL }, cache: { ttl_s: 600 } },
      ],
    });
    client = new Anthropic({ apiKey: 'test-key', baseURL: gw.base, maxRetries: 0 });
  });
  after(stopAll);

  test('an image block reaches the chat upstream as an image_url part, the text still answered', async () => {
    const p = demoPrompt(GPT4, 2);
    const msg = await client.messages.create({
      model: 'auto', max_tokens: 1024,
      messages: [{ role: 'user', content: [
        { type: 'text', text: p.prompt },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      ] }],
    });
    assert.equal(msg.content[0].text, p.response);
    const res = await fetch(`${backend.url}/admin/received`);
    const got = (await res.json()).requests.at(-1);
    assert.deepEqual(got.body.messages, [{ role: 'user', content: [
      { type: 'text', text: p.prompt }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ] }]);
  });

  test('messages.create: the recorded answer as a message, usage, decision recorded', async () => {
    const p = demoPrompt(GPT4, 1);
    const { data: msg, response } = await client.messages
      .create({ model: 'auto', max_tokens: 1024, messages: [{ role: 'user', content: p.prompt }] })
      .withResponse();
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, 'auto');
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, p.response);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0, JSON.stringify(msg.usage));
    const id = response.headers.get('x-switchboard-decision');
    const d = await getDecision(gw.base, id);
    assert.equal(d.route, 'auto');
    assert.equal(d.model, GPT4);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.usage.prompt_tokens, msg.usage.input_tokens);
    assert.equal(d.usage.completion_tokens, msg.usage.output_tokens);
    assert.ok(d.cost_usd > 0);
  });

  test('messages.create stream: Anthropic event order, text assembled, final usage', async () => {
    const p = demoPrompt(GPT4, 2);
    const stream = await client.messages.create({
      model: 'auto', max_tokens: 1024, stream: true, system: 'You are terse.',
      messages: [{ role: 'user', content: p.prompt }],
    });
    const types = [];
    let text = '';
    let stop;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
      if (ev.type === 'message_delta') stop = ev;
    }
    assert.equal(types[0], 'message_start');
    assert.equal(types[1], 'content_block_start');
    assert.ok(types.filter((t) => t === 'content_block_delta').length >= 2, types.join(','));
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    assert.ok(text.length > 0);
    assert.equal(stop.delta.stop_reason, 'end_turn');
    assert.ok(stop.usage.output_tokens > 0);
  });

  test('messages.stream helper: finalMessage assembles the same text', async () => {
    const p = demoPrompt(GPT4, 1);
    const final = await client.messages
      .stream({ model: 'auto', max_tokens: 1024, messages: [{ role: 'user', content: p.prompt }] })
      .finalMessage();
    assert.equal(final.content[0].text, p.response);
  });

  const weatherTool = {
    name: 'get_weather', description: 'Current weather in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  };

  test('tool use: plain answer has a tool_use block; the tool_result round trip reaches the upstream', async () => {
    const msg = await client.messages.create({
      model: TOOL_MODEL, max_tokens: 200, tools: [weatherTool],
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(msg.content));
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    const sent = JSON.parse(tools.requests.at(-1).body);
    assert.equal(sent.tools[0].type, 'function');
    assert.equal(sent.tools[0].function.name, 'get_weather');
    assert.deepEqual(sent.tools[0].function.parameters, weatherTool.input_schema);

    const reply = await client.messages.create({
      model: TOOL_MODEL, max_tokens: 200, tools: [weatherTool],
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18C and sunny' }] },
      ],
    });
    assert.equal(reply.stop_reason, 'end_turn');
    assert.equal(reply.content[0].text, 'answer to: 18C and sunny');
    const second = JSON.parse(tools.requests.at(-1).body);
    assert.equal(second.messages[1].tool_calls[0].id, use.id);
    assert.deepEqual(second.messages[2], { role: 'tool', tool_call_id: use.id, content: '18C and sunny' });
  });

  test('tool use streamed: input_json_delta pieces assemble the arguments', async () => {
    const stream = client.messages.stream({
      model: TOOL_MODEL, max_tokens: 200, tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    const use = final.content.find((b) => b.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
  });

  test('stop sequences: the one a chat server says ended the answer is stop_sequence, whole and streamed', async () => {
    const ask = (extra) => ({ model: STOP_MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'count to 5' }], ...extra });
    const whole = await client.messages.create(ask({ stop_sequences: ['###', ', 3'] }));  // vLLM's stop_reason
    assert.equal(whole.stop_reason, 'stop_sequence');
    assert.equal(whole.stop_sequence, ', 3');
    assert.deepEqual(JSON.parse(stops.requests.at(-1).body).stop, ['###', ', 3']);
    const streamed = await client.messages.stream(ask({ stop_sequences: [', 3'] })).finalMessage();  // SGLang's matched_stop
    assert.equal(streamed.content[0].text, '1, 2');
    assert.equal(streamed.stop_reason, 'stop_sequence');
    assert.equal(streamed.stop_sequence, ', 3');
    // Ended on the end-of-sequence token (an id, not a string): end_turn, as before.
    for (const stream of [false, true]) {
      const m = stream ? await client.messages.stream(ask({})).finalMessage() : await client.messages.create(ask({}));
      assert.equal(m.stop_reason, 'end_turn');
      assert.equal(m.stop_sequence, null);
    }
  });

  test('stop sequences: a cache hit of such an answer names it too, whole and streamed', async () => {
    const ask = { model: 'stop-cached', max_tokens: 50, stop_sequences: [', 3'], messages: [{ role: 'user', content: 'count to 3' }] };
    const { data: first, response: r1 } = await client.messages.create(ask).withResponse();
    assert.equal(r1.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(first.stop_sequence, ', 3');
    await getDecision(gw.base, r1.headers.get('x-switchboard-decision'));  // stored before recorded
    const calls = stops.requests.length;
    for (const stream of [false, true]) {
      const { data: hit, response } = await client.messages.create({ ...ask, stream }).withResponse();
      assert.equal(response.headers.get('x-switchboard-cache'), 'hit');
      const message = stream ? await messageOf(hit) : hit;
      assert.equal(message.content[0].text, '1, 2');
      assert.equal(message.stop_reason, 'stop_sequence', `stream: ${stream}`);
      assert.equal(message.stop_sequence, ', 3', `stream: ${stream}`);
    }
    assert.equal(stops.requests.length, calls, 'answered from the cache');
  });

  test('raw stream bytes: named events in Anthropic order', async () => {
    const res = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: TOOL_MODEL, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const text = await res.text();
    const names = eventNames(text);
    assert.deepEqual(names, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop']);
    // message_start carries the prompt's estimated input tokens (0 before: LangChain's count).
    const start = JSON.parse(/event: message_start\ndata: (.*)\n/.exec(text)[1]);
    assert.ok(start.message.usage.input_tokens > 0, JSON.stringify(start.message.usage));
  });

  test('errors in Anthropic shape: the SDK sees a NotFoundError for an unknown model', async () => {
    await assert.rejects(
      client.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e) => {
        assert.equal(e.status, 404);
        assert.equal(e.error.type, 'error');
        assert.equal(e.error.error.type, 'not_found_error');
        assert.match(e.error.error.message, /no-such-model/);
        return true;
      });
  });

  test('malformed requests: a precise 400 in Anthropic shape, and a recorded decision', async () => {
    const cases = [
      ['{not json', /not valid JSON/],
      [{ model: 'auto', messages: [{ role: 'user', content: 'x' }] }, /max_tokens is required/],
      [{ model: 'auto', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] }, /messages\[0\]\.role/],
      [{ model: 'auto', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] }, /image/],
      // Anthropic's ranges (chat's temperature goes to 2): refused, not forwarded.
      [{ model: 'auto', max_tokens: 5, temperature: 1.5, messages: [{ role: 'user', content: 'x' }] }, /^temperature must be a number between 0 and 1$/],
      [{ model: 'auto', max_tokens: 5, top_p: 1.5, messages: [{ role: 'user', content: 'x' }] }, /^top_p must be a number between 0 and 1$/],
      [{ model: 'auto', max_tokens: 5, top_k: -1, messages: [{ role: 'user', content: 'x' }] }, /^top_k must be a non-negative integer$/],
    ];
    for (const [body, says] of cases) {
      const r = await postJson(gw.base, '/v1/messages', body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.type, 'error');
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.match(r.json.error.message, says);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.status, 400);
      assert.equal(d.outcome, 'client_error');
      assert.match(d.error.message ?? JSON.stringify(d.error), says);
    }
  });
});
