// Item references (`{"type":"item_reference","id":"msg_…"}` input items) over chat replicas: the
// Vercel AI SDK's default OpenAI provider (Responses API) sends earlier output back this way
// unless told store: false, so its second turn and every multi-step tool loop failed (502
// api_mismatch) on a gateway whose replicas speak chat completions. With apis.responses.store the
// gateway resolves them to the items of the responses it stored (for the key that stored them); a
// reference it cannot resolve is a 400 that names the id and says why.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool, stepCountIs } from 'ai';
import { z } from 'zod';
import { startGateway, model, stopAll, getDecision, eventually, fakeUpstream } from './lib/harness.mjs';
import { toolUpstream, TOOL_MODEL } from './lib/tool_upstream.mjs';
import { postJson } from './lib/post.mjs';
import { createKey, bearer } from './lib/keys.mjs';

// The AI SDK provider, keeping the bodies it sends.
function provider(base, headers = {}) {
  const bodies = [];
  const openai = createOpenAI({
    baseURL: `${base}/v1`, apiKey: 'x', headers,
    fetch: async (u, init) => { bodies.push(JSON.parse(init.body)); return fetch(u, init); },
  });
  return { openai, bodies };
}
const weather = tool({
  description: 'weather', inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});
const references = (body) => body.input.filter((i) => i.type === 'item_reference').map((i) => i.id);

// A chat replica that says a few words beside its tool call (the AI SDK then names that text by
// reference in the loop's next step), and answers the tool's result.
const MIXED = 'mixed-model';
async function mixedUpstream() {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    const last = j.messages.at(-1);
    const message = last.role === 'tool'
      ? { role: 'assistant', content: `answer to: ${last.content}` }
      : { role: 'assistant', content: 'Let me look.',
          tool_calls: [{ id: 'call_m', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] };
    const finish = message.tool_calls ? 'tool_calls' : 'stop';
    if (!j.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: MIXED,
        choices: [{ index: 0, message, finish_reason: finish }], usage: { prompt_tokens: 3, completion_tokens: 3 } }));
      return;
    }
    const chunk = (delta, f = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk',
      created: 1, model: MIXED, choices: [{ index: 0, delta, finish_reason: f }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: message.content }));
    if (message.tool_calls) res.write(chunk({ tool_calls: [{ index: 0, ...message.tool_calls[0] }] }));
    res.end(chunk({}, finish) + 'data: [DONE]\n\n');
  });
}

describe('item_reference resolved from stored responses (apis.responses.store)', () => {
  let gw;
  let upstream;
  let mixed;
  before(async () => {
    upstream = await toolUpstream();
    mixed = await mixedUpstream();
    gw = await startGateway({
      models: [model(TOOL_MODEL, upstream.url), model(MIXED, mixed.url)],
      extraConfig: { apis: { responses: { store: true } } },
    });
  });
  after(stopAll);

  test('AI SDK default provider: a second turn carrying response.messages', async () => {
    const { openai, bodies } = provider(gw.base);
    const messages = [{ role: 'user', content: 'hello' }];
    const r1 = await generateText({ model: openai(TOOL_MODEL), messages, maxRetries: 0 });
    assert.equal(r1.text, 'answer to: hello');
    messages.push(...r1.response.messages, { role: 'user', content: 'and again?' });
    const r2 = await generateText({ model: openai(TOOL_MODEL), messages, maxRetries: 0 });
    assert.equal(r2.text, 'answer to: and again?');
    // The SDK named turn one's answer by reference (it sent no `store`: OpenAI's default)...
    assert.equal(bodies[1].store, undefined);
    assert.equal(references(bodies[1]).length, 1, JSON.stringify(bodies[1]));
    // ...and the chat replica got the answer's text in its place.
    const got = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(got.messages, [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'answer to: hello' },
      { role: 'user', content: 'and again?' },
    ]);
  });

  test('AI SDK default provider: a multi-step tool loop with text beside the call, generated and streamed', async () => {
    for (const run of [generateText, streamText]) {
      const { openai, bodies } = provider(gw.base);
      const r = await run({  // streamText: a result whose fields are promises
        model: openai(MIXED), tools: { weather }, stopWhen: stepCountIs(3), prompt: 'weather?',
        maxRetries: 0,
      });
      assert.match(await r.text, /answer to: sunny in Oslo$/, run.name);
      assert.equal((await r.steps).length, 2);
      assert.ok(references(bodies[1]).some((id) => id.startsWith('msg_')), JSON.stringify(bodies[1]));
      // The replica got step one's turn whole: its text and its call, then the call's result.
      const got = JSON.parse(mixed.requests.at(-1).body);
      assert.deepEqual(got.messages.map((m) => m.role), ['user', 'assistant', 'tool'], run.name);
      assert.equal(got.messages[1].content, 'Let me look.');
      assert.equal(got.messages[1].tool_calls[0].id, 'call_m');
      assert.equal(got.messages[1].tool_calls[0].function.arguments, '{"city":"Oslo"}');
      assert.equal(got.messages[2].tool_call_id, 'call_m');
    }
  });

  test('store: false (providerOptions): the items themselves, nothing to resolve', async () => {
    const { openai, bodies } = provider(gw.base);
    const r = await generateText({
      model: openai(TOOL_MODEL), tools: { weather }, stopWhen: stepCountIs(3), prompt: 'weather?',
      maxRetries: 0, providerOptions: { openai: { store: false } },
    });
    assert.equal(r.text, 'answer to: sunny in Paris');
    assert.deepEqual(references(bodies[1]), []);
  });

  test('a reference the gateway cannot resolve: 400 naming the id and why, recorded', async () => {
    const kept = await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input: 'hi', store: false });
    assert.equal(kept.status, 200);
    assert.equal(kept.json.store, false);
    const id = kept.json.output[0].id;  // an item of a response not stored
    const r = await postJson(gw.base, '/v1/responses', {
      model: TOOL_MODEL, input: [{ role: 'user', content: 'hi' }, { type: 'item_reference', id }],
    });
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'invalid_request');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, new RegExp(`input\\[1\\]: item_reference '${id}'`));
    assert.match(r.json.error.message, /store: false/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.status, 400);
    assert.equal(d.outcome, 'client_error');
    // Too many stored responses named at once: refused before any lookup.
    const many = Array.from({ length: 257 }, (_, i) => ({
      type: 'item_reference', id: `msg_${i.toString(16).padStart(32, '0')}`,
    }));
    const r2 = await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input: many });
    assert.equal(r2.status, 400);
    assert.match(r2.json.error.message, /at most 256/);
  });
});

describe('item_reference and API keys: a key resolves only its own stored items', () => {
  let gw;
  const secrets = {};
  before(async () => {
    const upstream = await toolUpstream();
    gw = await startGateway({
      models: [model(TOOL_MODEL, upstream.url)],
      extraConfig: { apis: { responses: { store: true } }, auth: { required: true, reload_ms: 100 } },
    });
    secrets.a = createKey(gw.sqlite, 'tenant-a').secret;
    secrets.b = createKey(gw.sqlite, 'tenant-b').secret;
    await eventually(async () => (await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input: 'x' },
      bearer(secrets.b))).status !== 401);
  });
  after(stopAll);

  test("another key's item is not resolved (400), the owner's is", async () => {
    const first = await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input: 'secret plan' },
      bearer(secrets.a));
    assert.equal(first.status, 200);
    const input = [{ type: 'item_reference', id: first.json.output[0].id }, { role: 'user', content: 'repeat' }];
    const stolen = await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input },
      bearer(secrets.b));
    assert.equal(stolen.status, 400, JSON.stringify(stolen.json));
    assert.doesNotMatch(JSON.stringify(stolen.json), /secret plan/);
    const own = await postJson(gw.base, '/v1/responses', { model: TOOL_MODEL, input },
      bearer(secrets.a));
    assert.equal(own.status, 200, JSON.stringify(own.json));
  });
});

describe('item_reference without apis.responses.store', () => {
  let gw;
  before(async () => {
    const upstream = await toolUpstream();
    gw = await startGateway({ models: [model(TOOL_MODEL, upstream.url)] });
  });
  after(stopAll);

  test('the AI SDK default provider: 400 saying what to do (store: false), not 502', async () => {
    const { openai } = provider(gw.base);
    const messages = [{ role: 'user', content: 'hello' }];
    const r1 = await generateText({ model: openai(TOOL_MODEL), messages, maxRetries: 0 });
    messages.push(...r1.response.messages, { role: 'user', content: 'and again?' });
    await assert.rejects(generateText({ model: openai(TOOL_MODEL), messages, maxRetries: 0 }),
      (e) => e.statusCode === 400 && /item_reference 'msg_[0-9a-f]{32}'/.test(e.message) &&
        /providerOptions\.openai\.store: false/.test(e.message));
    const r2 = await generateText({
      model: openai(TOOL_MODEL), messages, maxRetries: 0, providerOptions: { openai: { store: false } },
    });
    assert.equal(r2.text, 'answer to: and again?');
  });
});
