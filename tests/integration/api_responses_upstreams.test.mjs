// What a chat replica sends that the Responses front end must not pass on as it came: error bodies
// not in OpenAI's shape (an HTML page, vLLM's, FastAPI's), an event that is not JSON in the middle
// of a stream, and text in the middle of a streamed tool call's arguments — with the openai SDK
// and raw requests.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, model, stopAll, getDecision, fakeUpstream } from './lib/harness.mjs';
import { postJson, eventNames } from './lib/post.mjs';
import { FOREIGN_ERRORS as ERRORS, FOREIGN_ERRORS_WRAPPED, assertWrapped } from './lib/foreign_errors.mjs';

const chunk = (delta, finish = null) => `data: ${JSON.stringify({
  id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1700000000, model: 'x',
  choices: [{ index: 0, delta, finish_reason: finish }],
})}\n\n`;
const call = (index, fn, id) => chunk({
  tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }],
});

// Each model is one behaviour of the fake chat replica (and one of lib/foreign_errors.mjs).
const STREAMS = {
  'bad-chunk': [chunk({ role: 'assistant', content: '' }), chunk({ content: 'before ' }),
    'data: {not json at all\n\n', chunk({ content: 'after' }), chunk({}, 'stop'), 'data: [DONE]\n\n'],
  'text-mid-call': [chunk({ role: 'assistant', content: null }),
    call(0, { name: 'weather', arguments: '{"city":' }, 'call_a'), chunk({ content: 'Checking.' }),
    call(0, { arguments: '"Paris"}' }), chunk({}, 'tool_calls'), 'data: [DONE]\n\n'],
};

describe('Responses clients and what chat replicas send', () => {
  let gw;
  let openai;
  before(async () => {
    const fake = await fakeUpstream((req, res, body) => {
      const name = JSON.parse(body).model;
      if (ERRORS[name]) {
        const [status, type, text] = ERRORS[name];
        res.writeHead(status, { 'content-type': type });
        res.end(text);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(STREAMS[name].join(''));
    });
    gw = await startGateway({
      models: [...Object.keys(ERRORS), ...Object.keys(STREAMS)].map((m) => model(m, fake.url)),
    });
    openai = new OpenAI({ apiKey: 'x', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  test("upstream error bodies not in OpenAI's shape come as OpenAI errors, the message kept", async () => {
    for (const [name, [status, message, type]] of Object.entries(FOREIGN_ERRORS_WRAPPED)) {
      const r = await postJson(gw.base, '/v1/responses', { model: name, input: 'hi' });
      assertWrapped(assert, r, name);
      // The openai SDK reads it as an API error with that message.
      await assert.rejects(openai.responses.create({ model: name, input: 'hi' }),
        (e) => e.status === status && message.test(e.error?.message ?? ''), name);
    }
  });

  test('an event that is not JSON mid-stream: the stream ends with an error event, recorded broken', async () => {
    const res = await fetch(`${gw.base}/v1/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bad-chunk', input: 'hi', stream: true }),
    });
    const text = await res.text();
    const names = eventNames(text);
    assert.equal(names.at(-1), 'error', text);
    assert.ok(!names.includes('response.completed'), 'not passed off as complete');
    assert.match(text, /upstream_bad_event/);
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
    assert.equal(d.error.code, 'upstream_stream_broken');
    assert.match(d.error.message, /not a JSON object/);
  });

  test('text in the middle of a streamed tool call: one whole call, then the text', async () => {
    const stream = await openai.responses.create({
      model: 'text-mid-call', input: 'hi', stream: true,
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' } }],
    });
    let completed;
    for await (const ev of stream) if (ev.type === 'response.completed') completed = ev.response;
    assert.ok(completed);
    const calls = completed.output.filter((o) => o.type === 'function_call');
    assert.equal(calls.length, 1, JSON.stringify(completed.output));
    assert.equal(calls[0].name, 'weather');
    assert.equal(calls[0].arguments, '{"city":"Paris"}');
    assert.equal(completed.output_text ?? completed.output.find((o) => o.type === 'message').content[0].text,
      'Checking.');
  });
});
