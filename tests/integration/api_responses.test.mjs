// POST /v1/responses (OpenAI Responses API) through the gateway with the official clients: the
// openai SDK's responses.create (plain and streamed), the Vercel AI SDK's default OpenAI provider
// (which speaks Responses) and its .chat() provider, LangChain's ChatOpenAI (invoke and stream);
// a function call; malformed requests answered 400 and recorded.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, GPT4,
} from './lib/harness.mjs';
import { toolUpstream, TOOL_MODEL } from './lib/tool_upstream.mjs';
import { postJson, eventNames } from './lib/post.mjs';

describe('OpenAI Responses API and the clients built on it', () => {
  let gw;
  let openai;
  let backend;
  before(async () => {
    backend = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 });
    const tools = await toolUpstream();
    gw = await startGateway({
      models: [model(GPT4, backend.url), model(TOOL_MODEL, tools.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: GPT4 } }],
    });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  test('an input_image reaches the chat upstream as an image_url part, the text still answered', async () => {
    const p = demoPrompt(GPT4, 2);
    const image = 'data:image/png;base64,iVBORw0KGgo=';
    const r = await openai.responses.create({
      model: 'auto',
      input: [{ role: 'user', content: [{ type: 'input_text', text: p.prompt }, { type: 'input_image', image_url: image, detail: 'low' }] }],
    });
    assert.equal(r.output_text, p.response);
    const res = await fetch(`${backend.url}/admin/received`);
    const got = (await res.json()).requests.at(-1);
    assert.deepEqual(got.body.messages, [{ role: 'user', content: [
      { type: 'text', text: p.prompt }, { type: 'image_url', image_url: { url: image, detail: 'low' } },
    ] }]);
  });

  test('responses.create: output_text is the recorded answer; usage; decision recorded', async () => {
    const p = demoPrompt(GPT4, 0);
    const { data: r, response } = await openai.responses
      .create({ model: 'auto', input: p.prompt, max_output_tokens: 2048 })
      .withResponse();
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.model, 'auto');
    assert.equal(r.output_text, p.response);
    assert.equal(r.output[0].type, 'message');
    assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.route, 'auto');
    assert.equal(d.model, GPT4);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.usage.prompt_tokens, r.usage.input_tokens);
    assert.ok(d.cost_usd > 0);
  });

  test('responses.create stream: the Responses event sequence, deltas assemble the answer', async () => {
    const p = demoPrompt(GPT4, 1);
    const stream = await openai.responses.create({
      model: 'auto', stream: true,
      input: [{ role: 'user', content: [{ type: 'input_text', text: p.prompt }] }],
    });
    const types = [];
    let text = '';
    let completed;
    let seq = -1;
    for await (const ev of stream) {
      types.push(ev.type);
      assert.equal(ev.sequence_number, seq + 1);
      seq = ev.sequence_number;
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added']);
    assert.ok(types.filter((t) => t === 'response.output_text.delta').length >= 2);
    assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed']);
    assert.equal(text, p.response);
    assert.equal(completed.output[0].content[0].text, p.response);
    assert.ok(completed.usage.output_tokens > 0);
  });

  test('responses.stream helper: finalResponse', async () => {
    const p = demoPrompt(GPT4, 2);
    const final = await openai.responses.stream({ model: 'auto', input: p.prompt }).finalResponse();
    assert.equal(final.output_text, p.response);
  });

  test('function calling: a function_call item, and the output round trip', async () => {
    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const r = await openai.responses.create({ model: TOOL_MODEL, input: 'Weather in Paris?', tools });
    const call = r.output.find((o) => o.type === 'function_call');
    assert.ok(call, JSON.stringify(r.output));
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    const r2 = await openai.responses.create({
      model: TOOL_MODEL, tools,
      input: [{ role: 'user', content: 'Weather in Paris?' }, call,
        { type: 'function_call_output', call_id: call.call_id, output: '18C' }],
    });
    assert.equal(r2.output_text, 'answer to: 18C');
  });

  test('Vercel AI SDK, default provider (Responses): generateText and streamText', async () => {
    const provider = createOpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1` });
    const p = demoPrompt(GPT4, 0);
    const seen = backend.stats ? (await backend.stats()).requests : 0;
    const { text, usage } = await generateText({ model: provider('auto'), prompt: p.prompt });
    assert.equal(text, p.response);
    assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
    const s = streamText({ model: provider('auto'), prompt: p.prompt });
    let streamed = '';
    for await (const piece of s.textStream) streamed += piece;
    assert.equal(streamed, p.response);
    assert.equal((await backend.stats()).requests, seen + 2);
  });

  test('Vercel AI SDK, .chat() provider: generateText and streamText over chat completions', async () => {
    const provider = createOpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1` });
    const p = demoPrompt(GPT4, 3);
    const { text } = await generateText({ model: provider.chat('auto'), prompt: p.prompt });
    assert.equal(text, p.response);
    const s = streamText({ model: provider.chat('auto'), prompt: p.prompt });
    let streamed = '';
    for await (const piece of s.textStream) streamed += piece;
    assert.equal(streamed, p.response);
  });

  test('LangChain ChatOpenAI: invoke and stream', async () => {
    const llm = new ChatOpenAI({ model: 'auto', apiKey: 'test-key', configuration: { baseURL: `${gw.base}/v1` }, maxRetries: 0 });
    const p = demoPrompt(GPT4, 4);
    const msg = await llm.invoke(p.prompt);
    assert.equal(msg.content, p.response);
    let streamed = '';
    for await (const chunk of await llm.stream(p.prompt)) streamed += chunk.content;
    assert.equal(streamed, p.response);
  });

  test('LangChain ChatOpenAI with useResponsesApi: invoke and stream', async () => {
    const llm = new ChatOpenAI({ model: 'auto', apiKey: 'test-key', useResponsesApi: true,
      configuration: { baseURL: `${gw.base}/v1` }, maxRetries: 0 });
    const p = demoPrompt(GPT4, 5);
    const msg = await llm.invoke(p.prompt);
    assert.equal(msg.text, p.response);
    let streamed = '';
    for await (const chunk of await llm.stream(p.prompt)) streamed += chunk.text;
    assert.equal(streamed, p.response);
  });

  test('raw bytes: named events; an unknown model is an OpenAI-shaped 404', async () => {
    const res = await fetch(`${gw.base}/v1/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: TOOL_MODEL, input: 'hi', stream: true }),
    });
    const names = eventNames(await res.text());
    assert.equal(names[0], 'response.created');
    assert.equal(names.at(-1), 'response.completed');
    const r = await postJson(gw.base, '/v1/responses', { model: 'no-such-model', input: 'x' });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'model_not_found');
  });

  test('malformed requests: a precise 400 and a recorded decision', async () => {
    const cases = [
      ['[1,2', 'invalid_json', /not valid JSON/],
      [{ model: 'auto' }, 'invalid_request', /input is required/],
      [{ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_text', text: 7 }] }] }, 'invalid_request', /input\[0\]\.content\[0\]\.text must be a string/],
      [{ model: 'auto', input: 'x', tools: [{ name: 'f' }] }, 'invalid_request', /tools\[0\] must be an object with a string type/],
      [{ model: 'auto', input: 'x', previous_response_id: 'resp_1' }, 'unsupported_parameter', /previous_response_id/],
      [{ model: 'auto', input: 'x', max_output_tokens: -3 }, 'invalid_request', /max_output_tokens/],
    ];
    for (const [body, code, says] of cases) {
      const r = await postJson(gw.base, '/v1/responses', body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, code);
      assert.match(r.json.error.message, says);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.status, 400);
      assert.equal(d.outcome, 'client_error');
      assert.equal(d.error.code, code);
    }
  });
});
