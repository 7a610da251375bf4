// POST /v1/responses passed through to a replica that speaks the Responses API (`api: responses`:
// here a replay backend answering /v1/responses natively), and stored conversations
// (`previous_response_id` with `store: true` under `apis.responses.store`), with the official
// openai client. The replica must receive the client's Responses body (model renamed), not a
// chat translation; its answer and stream come back as they are, metered and recorded. A
// chat-completions client of that model is translated to the Responses API and back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, postChat, chatBody, GPT4,
  GPT4_PRICE, fakeUpstream, eventually,
} from './lib/harness.mjs';
import { postJson, readChatStream, received } from './lib/post.mjs';

const NATIVE = 'resp-native';

describe('Responses passed through to an api: responses replica; previous_response_id', () => {
  let gw;
  let openai;
  let native;    // answers /v1/responses itself
  let chatOnly;  // a chat-completions replica: Responses requests are translated for it
  before(async () => {
    native = await startReplay({ model: GPT4 });
    chatOnly = await startReplay({ model: GPT4 });
    gw = await startGateway({
      models: [
        model(NATIVE, [{ url: native.url, api: 'responses', upstream_model: GPT4 }]),
        model(GPT4, chatOnly.url),
      ],
      routes: [
        { name: 'native', policy: { type: 'static', model: NATIVE } },
        { name: 'auto', policy: { type: 'static', model: GPT4 } },
      ],
      extraConfig: { apis: { responses: { store: true } } },
    });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  test('responses.create: the replica gets the Responses body itself; answer, usage, cost recorded', async () => {
    const p = demoPrompt(GPT4, 0);
    const { data: r, response } = await openai.responses
      .create({ model: 'native', input: p.prompt, max_output_tokens: 2048, truncation: 'auto',
        metadata: { team: 'x' } })
      .withResponse();
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, p.response);
    assert.equal(r.model, GPT4);  // the replica's own answer: its model name, not the route's
    const got = (await received(native)).at(-1);
    assert.equal(got.path, '/v1/responses');
    assert.equal(got.body.model, GPT4);  // renamed for the replica
    assert.equal(got.body.input, p.prompt);  // not translated: no `messages`
    assert.equal(got.body.messages, undefined);
    assert.equal(got.body.max_output_tokens, 2048);
    assert.deepEqual(got.body.metadata, { team: 'x' });  // fields kept as the client sent them
    assert.equal(got.body.truncation, 'auto');
    assert.equal(response.headers.get('x-switchboard-model'), NATIVE);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.api, 'responses');
    assert.equal(d.model, NATIVE);
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: r.usage.input_tokens, completion_tokens: r.usage.output_tokens, source: 'upstream' });
    const price = (r.usage.input_tokens * GPT4_PRICE.input_per_mtok + r.usage.output_tokens * GPT4_PRICE.output_per_mtok) / 1e6;
    assert.ok(Math.abs(d.cost_usd - price) < 1e-12, `${d.cost_usd} vs ${price}`);
    assert.equal(d.attempts[0].result, 'ok');
  });

  test('responses.create stream: the replica\'s event sequence relayed, usage from response.completed', async () => {
    const p = demoPrompt(GPT4, 1);
    const { data: stream, response } = await openai.responses
      .create({ model: 'native', stream: true, input: [{ role: 'user', content: [{ type: 'input_text', text: p.prompt }] }] })
      .withResponse();
    const types = [];
    let text = '';
    let completed;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.filter((t) => t === 'response.output_text.delta').length >= 2);
    assert.equal(text, p.response);
    const got = (await received(native)).at(-1);
    assert.equal(got.path, '/v1/responses');
    assert.equal(got.body.stream, true);
    assert.equal(got.body.stream_options, undefined);  // not the chat translation's
    assert.deepEqual(got.body.input[0].content[0], { type: 'input_text', text: p.prompt });
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.api, 'responses');
    assert.equal(d.stream, true);
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: completed.usage.input_tokens, completion_tokens: completed.usage.output_tokens, source: 'upstream' });
    assert.ok(d.cost_usd > 0);
  });

  test('chat completions over the Responses replica: translated to input items and back, whole and streamed', async () => {
    const p = demoPrompt(GPT4, 2);
    const { data: c, response } = await openai.chat.completions.create({
      model: 'native', max_tokens: 999, temperature: 0,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: p.prompt }],
    }).withResponse();
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.choices[0].message.content, p.response);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
    const got = (await received(native)).at(-1);
    assert.equal(got.path, '/v1/responses');
    assert.deepEqual(got.body, {
      model: GPT4, store: false, max_output_tokens: 999, temperature: 0,
      input: [{ type: 'message', role: 'system', content: 'Be brief.' }, { type: 'message', role: 'user', content: p.prompt }],
    });
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.api, 'chat');
    assert.equal(d.model, NATIVE);
    assert.deepEqual(d.usage, { prompt_tokens: c.usage.prompt_tokens, completion_tokens: c.usage.completion_tokens, source: 'upstream' });

    const stream = await openai.chat.completions.create({
      model: 'native', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: p.prompt }],
    });
    const { text, finish, usage } = await readChatStream(stream);
    assert.equal(text, p.response);
    assert.equal(finish, 'stop');
    assert.equal(usage.completion_tokens, c.usage.completion_tokens);  // no system message this time
    assert.ok(usage.prompt_tokens > 0 && usage.prompt_tokens < c.usage.prompt_tokens);
    assert.equal((await received(native)).at(-1).body.stream, true);
  });

  test('what the Responses API cannot carry (stop sequences) skips the replica: 400 api_mismatch (no replica takes it)', async () => {
    const r = await postChat(gw.base, chatBody('native', 'hi', { stop: ['END'] }));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'api_mismatch');
    assert.match(r.json.error.message, /no stop sequences/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.api, 'chat');
    assert.equal(d.attempts[0].result, 'api_mismatch');
  });

  test('what only the Responses API reads (a built-in tool, a file) passes through to it; a chat model refuses it by name; reasoning sent back is dropped for chat', async () => {
    const p = demoPrompt(GPT4, 2);
    const asks = [
      { why: /tools\[0\]: tools of type "web_search_preview"/,
        body: { tools: [{ type: 'web_search_preview' }], input: p.prompt } },
      { why: /input\[0\]\.content\[1\]: parts of type "input_file"/,
        body: { input: [{ role: 'user', content: [{ type: 'input_text', text: p.prompt }, { type: 'input_file', file_id: 'file-abc' }] }] } },
    ];
    for (const { why, body } of asks) {
      const { data: r } = await openai.responses.create({ model: 'native', ...body }).withResponse();
      assert.equal(r.output_text, p.response);
      const got = (await received(native)).at(-1);
      assert.deepEqual(got.body.input, body.input);
      assert.deepEqual(got.body.tools, body.tools);
      await assert.rejects(openai.responses.create({ model: 'auto', ...body }),
        (e) => e.status === 400 && e.code === 'api_mismatch' && why.test(e.message) &&
          /speaks chat completions; .*passed only to replicas with api: responses/.test(e.message));
    }
    // A reasoning model's items sent back statelessly: the reasoning item and the reasoning
    // setting are left out for chat (a route may pick a model without reasoning).
    const before = (await received(chatOnly)).length;
    const r = await openai.responses.create({
      model: 'auto', reasoning: { effort: 'low' },
      input: [
        { role: 'user', content: 'first question' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'first answer' }] },
        { role: 'user', content: p.prompt },
      ],
    });
    assert.equal(r.status, 'completed');  // (the replay has no answer recorded for this conversation)
    const all = await received(chatOnly);
    assert.equal(all.length, before + 1);
    const sent = all.at(-1).body;
    assert.equal(sent.reasoning_effort, undefined);
    assert.equal(sent.reasoning, undefined);
    assert.deepEqual(sent.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  });

  test('responses.inputTokens.count: estimated (a replica without the endpoint, a route, no model); OpenAI-shaped errors', async () => {
    const input = 'How many tokens does this take, roughly?';
    const expected = Math.ceil(input.length / 4);
    for (const model of [NATIVE, 'auto', undefined]) {
      const asking = `${input} (${model})`;
      const { data, response } = await openai.responses.inputTokens.count({ model, input: asking }).withResponse();
      assert.deepEqual(data, { object: 'response.input_tokens', input_tokens: Math.ceil(asking.length / 4) }, String(model));
      assert.equal(response.headers.get('x-switchboard-tokens-source'), 'estimated');
      // The native replica is asked first (the replay backend has no such endpoint: 404).
      const asked = (await received(native)).filter((r) => r.body?.input === asking);
      assert.deepEqual(asked.map((r) => r.path), model === NATIVE ? ['/v1/responses/input_tokens'] : []);
    }
    // Instructions and tools count too.
    const tools = [{ type: 'function', name: 'lookup', description: 'Look a word up', parameters: { type: 'object', properties: { word: { type: 'string' } } } }];
    const more = await openai.responses.inputTokens.count({ model: 'auto', input, instructions: 'Answer in French.', tools });
    assert.ok(more.input_tokens > expected + 10, String(more.input_tokens));
    await assert.rejects(openai.responses.inputTokens.count({ model: 'nope', input }),
      (e) => e.status === 404 && e.code === 'model_not_found');
    await assert.rejects(openai.responses.inputTokens.count({ model: 'auto', input, previous_response_id: 'resp_1' }),
      (e) => e.status === 400 && e.code === 'unsupported_parameter');
    await assert.rejects(openai.responses.inputTokens.count({ model: 'auto', input, tools: [{ type: 'web_search_preview' }] }),
      (e) => e.status === 400 && /cannot count this request here: tools\[0\]: tools of type/.test(e.message));
  });

  test('previous_response_id through the translation to chat: the second upstream request carries turn one', async () => {
    const first = await openai.responses.create({
      model: 'auto', store: true, instructions: 'Be brief.',
      input: 'My name is Ada Lovelace and I like engines.',
    });
    assert.equal(first.status, 'completed');
    const second = await openai.responses.create({
      model: 'auto', store: false, input: 'What is my name?', previous_response_id: first.id,
    });
    assert.equal(second.status, 'completed');
    // The answers say what happened to the conversation, as OpenAI's do.
    assert.equal(first.store, true);
    assert.equal(first.previous_response_id, null);
    assert.equal(second.store, false, 'asked not to be stored');
    assert.equal(second.previous_response_id, first.id);
    const got = (await received(chatOnly)).at(-1);
    assert.equal(got.path, '/v1/chat/completions');
    const msgs = got.body.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);  // turn one's instructions not carried
    assert.equal(msgs[0].content, 'My name is Ada Lovelace and I like engines.');
    assert.equal(msgs[1].content, first.output_text);
    assert.equal(msgs[2].content, 'What is my name?');
  });

  test('previous_response_id passed through natively: the replica gets the whole conversation as input items', async () => {
    const first = await openai.responses.create({ model: 'native', store: true, input: 'Remember: blue.' });
    // Streamed turns are stored too.
    const stream = await openai.responses.create({
      model: 'native', stream: true, store: true, input: 'And green.', previous_response_id: first.id,
    });
    let secondId;
    for await (const ev of stream) if (ev.type === 'response.completed') secondId = ev.response.id;
    assert.ok(secondId);
    const third = await openai.responses.create({ model: 'native', input: 'Which colours?', previous_response_id: secondId });
    assert.equal(third.status, 'completed');
    const got = (await received(native)).at(-1);
    assert.equal(got.body.previous_response_id, undefined);
    const input = got.body.input;
    assert.equal(input.length, 5, JSON.stringify(input));
    assert.equal(input[0].content, 'Remember: blue.');
    assert.equal(input[1].role, 'assistant');
    assert.equal(input[1].content[0].text, first.output_text);
    assert.equal(input[2].content, 'And green.');
    assert.equal(input[3].role, 'assistant');
    assert.equal(input[4].content, 'Which colours?');
  });

  test('an unknown previous_response_id, or one not stored: 404 previous_response_not_found, recorded', async () => {
    await assert.rejects(
      openai.responses.create({ model: 'auto', input: 'hi', previous_response_id: 'resp_nope' }),
      (e) => e.status === 404 && e.error?.code === 'previous_response_not_found');
    const notStored = await openai.responses.create({ model: 'auto', store: false, input: 'not kept' });
    const r = await postJson(gw.base, '/v1/responses', { model: 'auto', input: 'x', previous_response_id: notStored.id });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'previous_response_not_found');
    assert.match(r.json.error.message, new RegExp(notStored.id));
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.api, 'responses');
    assert.equal(d.status, 404);
    assert.equal(d.outcome, 'client_error');
    assert.equal(d.error.code, 'previous_response_not_found');
  });

  test('responses.retrieve and responses.delete: a stored answer read back as the client got it, then deleted', async () => {
    const plain = await openai.responses.create({ model: 'auto', store: true, input: 'Keep this one.' });
    const got = await openai.responses.retrieve(plain.id);
    assert.equal(got.id, plain.id);
    assert.equal(got.object, 'response');
    assert.equal(got.status, 'completed');
    assert.equal(got.store, true, 'the stored copy says it was stored');
    assert.equal(got.output_text, plain.output_text);
    assert.deepEqual(got.usage, plain.usage);
    // A streamed answer passed through natively: the completed event's response is what is kept.
    const stream = await openai.responses.create({ model: 'native', stream: true, store: true, input: 'Stream and keep.' });
    let completed;
    for await (const ev of stream) if (ev.type === 'response.completed') completed = ev.response;
    assert.ok(completed);
    const streamed = await openai.responses.retrieve(completed.id);
    assert.equal(streamed.id, completed.id);
    assert.deepEqual(streamed.output, completed.output);
    // An answer asked not to be stored, and an unknown id: 404 in OpenAI's shape.
    const notStored = await openai.responses.create({ model: 'auto', store: false, input: 'Do not keep.' });
    assert.equal(notStored.store, false);
    for (const id of [notStored.id, 'resp_nope']) {
      await assert.rejects(openai.responses.retrieve(id),
        (e) => e.status === 404 && e.error?.code === 'response_not_found', id);
    }
    // No replay as events.
    const asStream = await fetch(`${gw.base}/v1/responses/${plain.id}?stream=true`);
    assert.equal(asStream.status, 400);
    assert.equal((await asStream.json()).error.code, 'unsupported_parameter');

    // Deleted: the SDK's delete resolves; it is gone for retrieval and for previous_response_id.
    const del = await fetch(`${gw.base}/v1/responses/${plain.id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), { id: plain.id, object: 'response', deleted: true });
    await openai.responses.delete(completed.id);
    for (const id of [plain.id, completed.id]) {
      await assert.rejects(openai.responses.retrieve(id), (e) => e.status === 404, id);
      await assert.rejects(openai.responses.delete(id), (e) => e.status === 404, id);
      await assert.rejects(
        openai.responses.create({ model: 'auto', input: 'and now?', previous_response_id: id }),
        (e) => e.status === 404 && e.error?.code === 'previous_response_not_found', id);
    }
    // Other methods on the path are refused.
    const put = await fetch(`${gw.base}/v1/responses/${notStored.id}`, { method: 'PUT' });
    assert.equal(put.status, 405);
  });

  test('responses.inputItems.list: the items a stored response was generated from, paged', async () => {
    const first = await openai.responses.create({ model: 'auto', store: true, input: 'First question.' });
    const second = await openai.responses.create({
      model: 'native', store: true, previous_response_id: first.id,
      input: [{ role: 'user', content: 'Second question.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'With a part.' }] }],
    });
    // Auto-paginated one item a page (`after` = the last id), newest first by default.
    const all = [];
    for await (const item of openai.responses.inputItems.list(second.id, { limit: 1 })) all.push(item);
    assert.deepEqual(all.map((i) => i.role), ['user', 'user', 'assistant', 'user']);
    assert.deepEqual(all.map((i) => i.content[0].text),
      ['With a part.', 'Second question.', first.output_text, 'First question.']);
    assert.deepEqual(all.map((i) => i.content[0].type), ['input_text', 'input_text', 'output_text', 'input_text']);
    assert.ok(all.every((i) => i.type === 'message' && i.status === 'completed'));
    assert.equal(new Set(all.map((i) => i.id)).size, 4, 'each item has its own id');
    // Oldest first, one page: the same ids (stable across calls), reversed.
    const asc = await openai.responses.inputItems.list(second.id, { order: 'asc' });
    assert.deepEqual(asc.data.map((i) => i.id), all.map((i) => i.id).reverse());
    assert.equal(asc.has_more, false);
    const page = await openai.responses.inputItems.list(second.id, { order: 'asc', limit: 2, after: all[3].id });
    assert.deepEqual(page.data.map((i) => i.id), [all[2].id, all[1].id]);
    assert.equal(page.has_more, true);
    const raw = await (await fetch(`${gw.base}/v1/responses/${second.id}/input_items?order=asc&limit=2&after=${all[3].id}`)).json();
    assert.equal(raw.object, 'list');
    assert.equal(raw.first_id, all[2].id);
    assert.equal(raw.last_id, all[1].id);
    // The first response's input is its own only (not its answer).
    const firstItems = await openai.responses.inputItems.list(first.id);
    assert.deepEqual(firstItems.data.map((i) => i.content[0].text), ['First question.']);
    // Bad paging: 400 in OpenAI's shape; an unknown or unstored id: 404; no DELETE on the list.
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'order=sideways', 'after=msg_nope']) {
      const r = await fetch(`${gw.base}/v1/responses/${second.id}/input_items?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal((await r.json()).error.code, 'invalid_request', q);
    }
    await assert.rejects(openai.responses.inputItems.list('resp_nope'),
      (e) => e.status === 404 && e.error?.code === 'response_not_found');
    const del = await fetch(`${gw.base}/v1/responses/${second.id}/input_items`, { method: 'DELETE' });
    assert.equal(del.status, 404);
    const other = await fetch(`${gw.base}/v1/responses/${second.id}/something`);
    assert.equal(other.status, 404);
  });
});

describe('previous_response_id without apis.responses.store', () => {
  let gw;
  before(async () => {
    const backend = await startReplay({ model: GPT4 });
    gw = await startGateway({ models: [model(GPT4, backend.url)] });
  });
  after(stopAll);

  test('refused with 400 unsupported_parameter; store: true is accepted and nothing is kept', async () => {
    const first = await postJson(gw.base, '/v1/responses', { model: GPT4, input: 'hi', store: true });
    assert.equal(first.status, 200);
    assert.equal(first.json.store, false, 'the answer says it was not stored');
    const r = await postJson(gw.base, '/v1/responses', { model: GPT4, input: 'x', previous_response_id: first.json.id });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'unsupported_parameter');
    assert.match(r.json.error.message, /apis.responses.store/);
    const get = await fetch(`${gw.base}/v1/responses/${first.json.id}`);
    assert.equal(get.status, 404);
    const body = await get.json();
    assert.equal(body.error.code, 'response_not_found');
    assert.match(body.error.message, /apis.responses.store is off/);
  });
});

describe('a Responses replica that reuses its response ids', () => {
  let gw;
  let up;
  before(async () => {
    // Every answer is `resp_1`, echoing what the replica was asked.
    up = await fakeUpstream((req, res, body) => {
      const said = JSON.stringify(JSON.parse(body).input);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'resp_1', object: 'response', status: 'completed', model: 'x',
        output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed',
          content: [{ type: 'output_text', text: `echo ${said}`, annotations: [] }] }],
        usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
      }));
    });
    gw = await startGateway({
      models: [model('reuser', [{ url: up.url, api: 'responses' }])],
      extraConfig: { apis: { responses: { store: true } } },
    });
  });
  after(stopAll);

  test('two stored conversations under one id: continuing or reading it is refused, never the other\'s', async () => {
    const alice = await postJson(gw.base, '/v1/responses', { model: 'reuser', input: 'Alice: my PIN is 4242', store: true });
    assert.equal(alice.json.id, 'resp_1');
    // Alice's conversation alone under the id: it continues.
    await eventually(async () => (await fetch(`${gw.base}/v1/responses/resp_1`)).status === 200, 5000, 'stored');
    const bob = await postJson(gw.base, '/v1/responses', { model: 'reuser', input: 'Bob: hello', store: true });
    assert.equal(bob.json.id, 'resp_1');
    const before = up.requests.length;
    const cont = await postJson(gw.base, '/v1/responses', { model: 'reuser', input: 'what did I say?', previous_response_id: 'resp_1' });
    assert.equal(cont.status, 400, cont.text);
    assert.equal(cont.json.error.code, 'response_id_ambiguous');
    assert.equal(up.requests.length, before, 'nothing reached the replica');
    const get = await fetch(`${gw.base}/v1/responses/resp_1`);
    assert.equal(get.status, 400);
    assert.equal((await get.json()).error.code, 'response_id_ambiguous');
    // Deleting removes both; the id is then unknown.
    const del = await fetch(`${gw.base}/v1/responses/resp_1`, { method: 'DELETE' });
    assert.equal(del.status, 200, await del.text());
    assert.equal((await fetch(`${gw.base}/v1/responses/resp_1`)).status, 404);
  });
});
