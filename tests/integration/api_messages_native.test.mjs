// Native pass-through of POST /v1/messages to a replica with `api: anthropic`: the client's body
// goes to the replica's /v1/messages unchanged (model renamed) with the key as x-api-key, the answer
// and the stream come back byte for byte, usage and cost are recorded from Anthropic's usage.
// Chat-completions (and Responses) clients of such a model are translated to Messages and back
// (api/chat_to_messages.h): plain, streamed, tool calls; what the translation cannot carry skips
// the replica (api_mismatch).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, getDecision, postChat, chatBody, GPT4, GPT4_PRICE,
  eventually, metricSum,
} from './lib/harness.mjs';
import { anthropicUpstream } from './lib/anthropic_upstream.mjs';
import { readChatStream, received } from './lib/post.mjs';

const KEY = 'sk-ant-test-123';
const CLAUDE = 'claude-native';

describe('Messages passed through to an Anthropic-compatible replica', () => {
  let gw;
  let client;
  let openai;
  let upstream;
  let chat;  // the replay backend behind GPT4
  before(async () => {
    upstream = await anthropicUpstream(KEY);
    chat = await startReplay({ model: GPT4 });
    gw = await startGateway({
      models: [
        model(CLAUDE, [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY', upstream_model: 'claude-upstream',
          pass_headers: ['anthropic-beta'] }]),
        model(GPT4, chat.url),
        // One chat replica and one Anthropic replica, one attempt per request: a request only the
        // Anthropic one takes must reach it whichever the balancer tries first.
        model('claude-mixed', [{ url: chat.url }, { url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }],
          { balancer: 'round_robin', retry: { max_attempts: 1 } }),
        model('claude-wrong-key', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_WRONG_KEY' }]),
        // Reasoning settings of every API reach it (models[].reasoning: on).
        model('claude-thinks', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }],
          { reasoning: 'on' }),
        model('claude-cached', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }],
          { price: { input_per_mtok: 10, output_per_mtok: 30, cached_input_per_mtok: 1, cache_write_input_per_mtok: 12.5 } }),
        model('claude-cached-2', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }],
          { price: { input_per_mtok: 10, output_per_mtok: 30, cached_input_per_mtok: 2 } }),
      ],
      routes: [
        { name: 'claude', policy: { type: 'static', model: CLAUDE } },
        { name: 'claude-cache', policy: { type: 'static', model: CLAUDE }, cache: { ttl_s: 600 } },
        { name: 'gpt4-cache', policy: { type: 'static', model: GPT4 }, cache: { ttl_s: 600 } },
        { name: 'claude-guarded', policy: { type: 'static', model: CLAUDE }, guard: { pii: 'redact' } },
        { name: 'cached-pair', policy: { type: 'ensemble', members: ['claude-cached', 'claude-cached-2'],
          judge: 'agreement', aggregator: 'vote' } },
      ],
      env: { SB_TEST_ANTHROPIC_KEY: KEY, SB_TEST_WRONG_KEY: 'not-the-key' },
    });
    openai = new OpenAI({ apiKey: 'client-key-not-forwarded', baseURL: `${gw.base}/v1`, maxRetries: 0 });
    client = new Anthropic({ apiKey: 'client-key-not-forwarded', baseURL: gw.base, maxRetries: 0 });
  });
  after(stopAll);

  test('plain: the replica gets the client body natively and its answer comes back unchanged', async () => {
    const { data: msg, response } = await client.messages.create({
      model: 'claude', max_tokens: 300, system: 'Be brief.', top_k: 5,
      messages: [{ role: 'user', content: 'hello there' }],
    }).withResponse();
    assert.equal(msg.id, 'msg_native_01');  // the upstream's own id: not translated
    assert.equal(msg.content[0].text, 'native answer to: hello there');
    assert.deepEqual(msg.usage, { input_tokens: 21, output_tokens: 8 });
    const got = upstream.requests.at(-1);
    assert.equal(got.url, '/v1/messages');
    assert.equal(got.headers['x-api-key'], KEY);
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.headers['anthropic-version'], '2023-06-01');
    const body = JSON.parse(got.body);
    assert.equal(body.model, 'claude-upstream');
    assert.equal(body.system, 'Be brief.');  // Anthropic fields kept as the client sent them
    assert.equal(body.top_k, 5);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'hello there' }]);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.model, CLAUDE);
    assert.equal(d.outcome, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: 21, completion_tokens: 8, source: 'upstream' });
    const price = (21 * GPT4_PRICE.input_per_mtok + 8 * GPT4_PRICE.output_per_mtok) / 1e6;
    assert.ok(Math.abs(d.cost_usd - price) < 1e-12, String(d.cost_usd));
  });

  test('streamed: the replica\'s events pass through (ping included), usage recorded', async () => {
    const res = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /event: ping/);  // a translation never emits ping
    assert.match(text, /msg_native_01/);
    const stream = client.messages.stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'stream me' }] });
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, 'native answer to: stream me');
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.stream, true);
    assert.deepEqual(d.usage, { prompt_tokens: 21, completion_tokens: 8, source: 'upstream' });
  });

  test('chat completions to that model are translated to Messages and back (openai SDK, whole)', async () => {
    const { data: c, response } = await openai.chat.completions.create({
      model: CLAUDE, temperature: 1.5, stop: ['END'], user: 'u-7',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi from chat' }],
    }).withResponse();
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.id, 'msg_native_01');
    assert.equal(c.choices[0].message.content, 'native answer to: hi from chat');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(c.usage, { prompt_tokens: 21, completion_tokens: 8, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0 } });
    const got = upstream.requests.at(-1);
    assert.equal(got.url, '/v1/messages');
    assert.equal(got.headers['x-api-key'], KEY);
    const body = JSON.parse(got.body);
    assert.deepEqual(body, {
      model: 'claude-upstream', max_tokens: 4096, system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi from chat' }] }],
      temperature: 1, stop_sequences: ['END'], metadata: { user_id: 'u-7' },
    });
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.model, CLAUDE);
    assert.equal(d.outcome, 'ok');
    assert.equal(d.attempts[0].result, 'ok');
    assert.deepEqual(d.usage, { prompt_tokens: 21, completion_tokens: 8, source: 'upstream' });
  });

  test('chat completions streamed over Messages: text deltas, finish reason, usage chunk, [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: CLAUDE, stream: true, stream_options: { include_usage: true }, max_tokens: 64,
      messages: [{ role: 'user', content: 'stream over messages' }],
    });
    const { text, finish, usage } = await readChatStream(stream);
    assert.equal(text, 'native answer to: stream over messages');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 21, completion_tokens: 8, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0 } });
    const body = JSON.parse(upstream.requests.at(-1).body);
    assert.equal(body.stream, true);
    assert.equal(body.max_tokens, 64);
  });

  test('a translated stream the replica closes before message_stop is reported broken, not complete', async () => {
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: CLAUDE, stream: true, messages: [{ role: 'user', content: 'please cut me short' }] }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /native answer/);  // what came before the cut was relayed
    assert.doesNotMatch(text, /"finish_reason":"stop"/);  // never presented as a finished answer
    assert.match(text, /upstream_stream_broken/);
    assert.match(text, /ended before its final event/);
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
  });

  test('a passed-through Messages stream the replica closes before message_stop ends with an error event', async () => {
    const res = await fetch(`${gw.base}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: CLAUDE, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'please cut me short' }] }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /native answer/);  // relayed as the replica sent it
    assert.doesNotMatch(text, /message_stop/);
    assert.match(text, /event: error\ndata: [^\n]*"type":"api_error"[^\n]*\n\n$/);
    assert.match(text, /ended before its final event/);
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'stream_broken');
  });

  test('reasoning_effort over Messages: extended thinking asked, the thinking back as reasoning_content (whole and streamed)', async () => {
    const messages = [{ role: 'user', content: 'Think first.' }];
    const c = await openai.chat.completions.create({ model: CLAUDE, reasoning_effort: 'low', temperature: 0.3, messages });
    assert.equal(c.choices[0].message.content, 'native answer to: Think first.');
    assert.equal(c.choices[0].message.reasoning_content, 'thought about: Think first.');
    const sent = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(sent.thinking, { type: 'enabled', budget_tokens: 2048 });
    assert.equal(sent.max_tokens, 2048 + 4096);
    assert.equal(sent.temperature, undefined, 'Anthropic takes no temperature with thinking');
    const stream = await openai.chat.completions.create({ model: CLAUDE, reasoning_effort: 'low', stream: true, messages });
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta ?? {};
      if (d.reasoning_content) {
        assert.equal(content, '', 'the thinking comes before the answer');
        reasoning += d.reasoning_content;
      }
      content += d.content ?? '';
    }
    assert.equal(reasoning, 'thought about: Think first.');
    assert.equal(content, 'native answer to: Think first.');
    // Without reasoning_effort: no thinking asked, none relayed.
    const plain = await openai.chat.completions.create({ model: CLAUDE, messages });
    assert.equal(plain.choices[0].message.reasoning_content, undefined);
    assert.equal(JSON.parse(upstream.requests.at(-1).body).thinking, undefined);
  });

  test('tool calls over Messages, whole and streamed, and the tool result sent back as tool_result', async () => {
    const tools = [{ type: 'function', function: { name: 'weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const messages = [{ role: 'user', content: 'weather in Paris?' }];
    const c = await openai.chat.completions.create({ model: CLAUDE, tools, tool_choice: 'required', messages });
    assert.equal(c.choices[0].finish_reason, 'tool_calls');
    assert.equal(c.choices[0].message.content, 'Let me check.');
    assert.deepEqual(c.choices[0].message.tool_calls, [{ id: 'toolu_01', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }]);
    const sent = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(sent.tools, [{ name: 'weather', description: 'Weather in a city', input_schema: tools[0].function.parameters }]);
    assert.deepEqual(sent.tool_choice, { type: 'any' });

    const stream = await openai.chat.completions.create({ model: CLAUDE, tools, stream: true, messages });
    const { calls, finish } = await readChatStream(stream);
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(calls, { 0: { id: 'toolu_01', name: 'weather', arguments: '{"city":"Paris"}' } });

    const next = await openai.chat.completions.create({
      model: CLAUDE, tools,
      messages: [...messages, c.choices[0].message, { role: 'tool', tool_call_id: 'toolu_01', content: 'sunny, 21 C' }],
    });
    assert.equal(next.choices[0].message.content, 'the tool said: sunny, 21 C');
    const turn = JSON.parse(upstream.requests.at(-1).body).messages;
    assert.deepEqual(turn.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.deepEqual(turn[1].content, [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'weather', input: { city: 'Paris' } }]);
    assert.deepEqual(turn[2].content, [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny, 21 C' }]);
  });

  test('structured output over Messages: a JSON response_format is a forced tool whose input is the answer (chat whole and streamed, Responses)', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    const response_format = { type: 'json_schema', json_schema: { name: 'place', schema, strict: true } };
    const messages = [{ role: 'user', content: 'where is the Louvre?' }];
    const { data: c, response } = await openai.chat.completions.create({ model: CLAUDE, response_format, messages }).withResponse();
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.choices[0].message.tool_calls, undefined);
    assert.deepEqual(JSON.parse(c.choices[0].message.content), { city: 'Paris' });
    const sent = JSON.parse(upstream.requests.at(-1).body);
    assert.equal(sent.tools.length, 1);
    assert.equal(sent.tools[0].name, 'place');
    assert.deepEqual(sent.tools[0].input_schema, schema);
    assert.deepEqual(sent.tool_choice, { type: 'tool', name: 'place' });
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');

    const stream = await openai.chat.completions.create({ model: CLAUDE, response_format: { type: 'json_object' }, stream: true, messages });
    const { text, finish, calls } = await readChatStream(stream);
    assert.equal(finish, 'stop');
    assert.deepEqual(calls, {});
    assert.deepEqual(JSON.parse(text), { city: 'Paris' });
    assert.equal(JSON.parse(upstream.requests.at(-1).body).tools[0].name, 'json_response');

    // A Responses client asking for a JSON schema, translated to chat and then to Messages.
    const r = await new OpenAI({ apiKey: 'k', baseURL: `${gw.base}/v1`, maxRetries: 0 }).responses.create({
      model: CLAUDE, input: 'where is the Louvre?', text: { format: { type: 'json_schema', name: 'place', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(r.output_text), { city: 'Paris' });
    // With tools too it cannot be carried.
    const both = await postChat(gw.base, chatBody(CLAUDE, 'x', { response_format: { type: 'json_object' },
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }));
    assert.equal(both.status, 400);
    assert.match(both.json.error.message, /JSON response_format together with tools/);
  });

  test('what the translation cannot carry skips the replica (400 api_mismatch: no replica takes it; not ejected); its errors come back in OpenAI\'s shape', async () => {
    const r = await postChat(gw.base, chatBody(CLAUDE, 'two please', { n: 2 }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'api_mismatch');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, /n other than 1/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts[0].result, 'api_mismatch');
    // Messages still reach it.
    const msg = await client.messages.create({ model: CLAUDE, max_tokens: 10, messages: [{ role: 'user', content: 'still there?' }] });
    assert.equal(msg.content[0].text, 'native answer to: still there?');
    // The replica refusing the gateway's own key is no client error: 502 upstream_auth in OpenAI's
    // shape, naming the replica, not the upstream's text (which may quote the operator's key).
    await assert.rejects(
      openai.chat.completions.create({ model: 'claude-wrong-key', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e.status === 502 && e.code === 'upstream_auth' && /credentials \(HTTP 401\)/.test(e.message) &&
        !/invalid x-api-key/.test(e.message));
  });

  test('the client\'s anthropic-beta reaches an Anthropic replica with pass_headers on pass-through and counting, not through a translation nor without it', async () => {
    const messages = [{ role: 'user', content: 'beta please' }];
    await client.beta.messages.create({ model: CLAUDE, max_tokens: 20, betas: ['beta-one', 'beta-two'], messages });
    assert.equal(upstream.requests.at(-1).headers['anthropic-beta'], 'beta-one,beta-two');
    await client.beta.messages.countTokens({ model: CLAUDE, betas: ['beta-three'], messages });
    assert.equal(upstream.requests.at(-1).url, '/v1/messages/count_tokens');
    assert.match(upstream.requests.at(-1).headers['anthropic-beta'], /^beta-three\b/);  // + the SDK's own
    const r = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-beta': 'beta-four' },
      body: JSON.stringify({ model: CLAUDE, messages }),
    });
    assert.equal(r.status, 200);
    assert.equal(upstream.requests.at(-1).headers['anthropic-beta'], undefined, 'a chat client is translated');
    // Without pass_headers on the replica (the default) nothing passes.
    await client.beta.messages.create({ model: 'claude-thinks', max_tokens: 20, betas: ['beta-five'], messages });
    assert.equal(upstream.requests.at(-1).headers['anthropic-beta'], undefined);
  });

  test('top_k (Messages only: not in the chat body) is part of the cache key', async () => {
    const ask = async (topK) => {
      const { response } = await client.messages.create({ model: 'claude-cache', max_tokens: 20, top_k: topK,
        messages: [{ role: 'user', content: 'name a fruit (top_k test)' }] }).withResponse();
      await getDecision(gw.base, response.headers.get('x-switchboard-decision'));  // stored if a miss
      return response.headers.get('x-switchboard-cache');
    };
    assert.equal(await ask(5), 'miss');
    assert.equal(await ask(5), 'hit');
    assert.equal(await ask(500), 'miss', 'another top_k is another answer');
    assert.equal(JSON.parse(upstream.requests.at(-1).body).top_k, 500);
  });

  test('what only Anthropic reads (a PDF by URL, a server tool) passes through to it; a chat model refuses it by name; the cache bypasses it', async () => {
    const byUrl = { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } };
    const asks = [
      { why: /messages\[0\]\.content\[0\]: a document that is neither plain text nor base64 data/,
        body: { messages: [{ role: 'user', content: [byUrl, { type: 'text', text: 'summarise the pdf' }] }] } },
      { why: /tools\[0\]: server tool of type "web_search_20250305"/,
        body: { tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'search it' }] } },
    ];
    for (const { why, body } of asks) {
      // Twice to a cached route: both reach the replica, unchanged.
      for (let i = 0; i < 2; ++i) {
        const before = upstream.requests.length;
        const { data: msg, response } = await client.messages.create({ model: 'claude-cache', max_tokens: 20, ...body }).withResponse();
        assert.match(msg.id, /^msg_native_/);  // the replica's own answer, unchanged
        assert.equal(response.headers.get('x-switchboard-cache'), 'bypass');
        assert.equal(upstream.requests.length, before + 1);
        const sent = JSON.parse(upstream.requests.at(-1).body);
        assert.deepEqual(sent.messages, body.messages);
        for (const k of ['thinking', 'tools']) assert.deepEqual(sent[k], body[k]);
        const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
        assert.match(d.cache.note, why);
      }
      // To a chat model: refused with the reason, in Anthropic's shape, the replica not ejected.
      const res = await fetch(`${gw.base}/v1/messages`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'gpt4-cache', max_tokens: 20, ...body }),
      });
      const err = await res.json();
      assert.equal(res.status, 400);
      assert.equal(err.error.type, 'invalid_request_error');
      assert.equal(err.type, 'error');
      assert.match(err.error.message, why);
      assert.match(err.error.message, /speaks chat completions; .*passed only to replicas with api: anthropic/);
      const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
      assert.equal(d.attempts[0].result, 'api_mismatch');
      assert.equal(d.outcome, 'client_error');
    }
    // A model with replicas of both APIs: the chat one is skipped without spending the attempt.
    const mismatches = [];
    for (let i = 0; i < 4; ++i) {
      const { data: msg, response } = await client.messages.create({ model: 'claude-mixed', max_tokens: 20, ...asks[0].body }).withResponse();
      assert.match(msg.id, /^msg_native_/);
      const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
      mismatches.push(d.attempts.filter((a) => a.result === 'api_mismatch').length);
      assert.equal(d.attempts.at(-1).result, 'ok');
    }
    assert.ok(mismatches.includes(1), `the chat replica was tried first at least once: ${mismatches}`);
    // A PDF given inline (base64) is a chat file part: a chat model gets it, Anthropic the
    // client's body unchanged.
    const pdf = { type: 'document', title: 'report.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' } };
    const pdfAsk = [{ role: 'user', content: [pdf, { type: 'text', text: 'summarise the pdf' }] }];
    await client.messages.create({ model: 'claude', max_tokens: 20, messages: pdfAsk });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).body).messages, pdfAsk);
    const toChat = await client.messages.create({ model: GPT4, max_tokens: 20, messages: pdfAsk });
    assert.equal(toChat.type, 'message');
    const chatGot = (await received(chat)).at(-1).body.messages[0].content;
    assert.deepEqual(chatGot, [{ type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQK' } },
      { type: 'text', text: 'summarise the pdf' }]);
    // And the other way: an openai SDK client's PDF reaches Claude as a document block.
    await openai.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: [
      { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQK' } },
      { type: 'text', text: 'summarise the pdf' }] }] });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).body).messages[0].content, pdfAsk[0].content);
    // A guarded route cannot check what it cannot read: refused, recorded, nothing sent upstream.
    for (const [messages, part] of [[asks[0].body.messages, /messages\[0\]\.content\[0\]: a document that is neither/], [pdfAsk, /a file part/]]) {
      const before = upstream.requests.length;
      await assert.rejects(client.messages.create({ model: 'claude-guarded', max_tokens: 20, messages }),
        (e) => e.status === 400 && e.type === 'invalid_request_error' &&
          /a part the guard cannot read/.test(e.message) && part.test(e.message));
      assert.equal(upstream.requests.length, before);
    }
    const ok = await client.messages.create({ model: 'claude-guarded', max_tokens: 20, messages: [{ role: 'user', content: 'plain text is checked' }] }).withResponse();
    const g = await getDecision(gw.base, ok.response.headers.get('x-switchboard-decision'));
    assert.deepEqual(g.guard.map((c) => c.check), ['pii']);
    // A tool result with a screenshot: only Anthropic reads it.
    const shot = [
      { role: 'user', content: 'take a screenshot' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'screenshot', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] },
    ];
    await client.messages.create({ model: 'claude', max_tokens: 20, messages: shot });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).body).messages, shot);
    await assert.rejects(client.messages.create({ model: GPT4, max_tokens: 20, messages: shot }),
      (e) => e.status === 400 && /messages\[2\]\.content\[0\]\.content\[0\]: blocks of type .{1,2}image.{1,2} in a tool_result/.test(e.message));
    // Extended thinking and thinking sent back in the conversation: passed through as they are;
    // to a chat model they are left out (chat completions have no thinking budget and take no
    // reasoning back) and the request is answered.
    const history = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'let me see', signature: 'sig' }, { type: 'text', text: 'one' }] },
      { role: 'user', content: 'second' },
    ];
    const thinking = { type: 'enabled', budget_tokens: 1024 };
    const native = await client.messages.create({ model: 'claude', max_tokens: 2000, thinking, messages: history });
    assert.deepEqual(native.content[0], { type: 'thinking', thinking: 'thought about: second', signature: 'sig-1' });
    assert.equal(native.content[1].text, 'native answer to: second');
    const sent = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(sent.messages, history);
    assert.deepEqual(sent.thinking, thinking);
    const { data: translated, response } = await client.messages.create({ model: GPT4, max_tokens: 2000, thinking, messages: history }).withResponse();
    assert.equal(translated.type, 'message');
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.model, GPT4);
    assert.equal(d.outcome, 'ok');
    // Thinking a chat replica gave (unsigned, as the gateway relays it) sent back to an Anthropic
    // replica: left out, since Anthropic refuses an empty signature; the signed one stays. The
    // count_tokens call gets the same body.
    const mixed = [
      ...history,
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'from a chat model', signature: '' }, { type: 'text', text: 'two' }] },
      { role: 'user', content: 'third' },
    ];
    await client.messages.create({ model: 'claude', max_tokens: 2000, thinking, messages: mixed });
    const cleaned = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(cleaned.messages.slice(0, 3), history);
    assert.deepEqual(cleaned.messages[3].content, [{ type: 'text', text: 'two' }]);
    assert.deepEqual(cleaned.thinking, thinking);
    await client.messages.countTokens({ model: 'claude', thinking, messages: mixed });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).body).messages[3].content, [{ type: 'text', text: 'two' }]);
  });

  test('count_tokens: an Anthropic replica counts (its answer and errors as they are); a chat model or a route is estimated; keys and bad input refused in Anthropic\'s shape', async () => {
    const body = { model: 'claude', messages: [{ role: 'user', content: 'how many tokens is this?' }], system: 'Be brief.' };
    // The SDK against a route: estimated (its model is chosen per request).
    const routed = await client.messages.countTokens(body).withResponse();
    assert.equal(routed.response.headers.get('x-switchboard-tokens-source'), 'estimated');
    const expected = Math.ceil('Be brief.\nhow many tokens is this?'.length / 4);
    assert.equal(routed.data.input_tokens, expected);
    // The model itself: its Anthropic replica is asked, with the client's body (model renamed,
    // the replica's key).
    const before = upstream.requests.length;
    const asked = await client.messages.countTokens({ ...body, model: CLAUDE }).withResponse();
    assert.equal(asked.response.headers.get('x-switchboard-tokens-source'), 'upstream');
    assert.equal(upstream.requests.length, before + 1);
    const got = upstream.requests.at(-1);
    assert.equal(got.url, '/v1/messages/count_tokens');
    assert.equal(got.headers['x-api-key'], KEY);
    const sent = JSON.parse(got.body);
    assert.equal(sent.model, 'claude-upstream');
    assert.deepEqual(sent.messages, body.messages);
    assert.equal(asked.data.input_tokens, 1000 + got.body.length);
    // The replica's own refusal comes back as it is.
    await assert.rejects(client.messages.countTokens({ ...body, model: CLAUDE, max_tokens: 5 }),
      (e) => e.status === 400 && /Extra inputs/.test(e.message));
    // A PDF: counted by the Anthropic replica; for a chat model it cannot be estimated.
    const pdf = { role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' } }] };
    assert.ok((await client.messages.countTokens({ model: CLAUDE, messages: [pdf] })).input_tokens > 1000);
    await assert.rejects(client.messages.countTokens({ model: GPT4, messages: [pdf] }),
      (e) => e.status === 400 && e.type === 'invalid_request_error' && /cannot count this request here: a file/.test(e.message));
    // A chat model with tools: the estimate counts the tools too.
    const tools = [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const plain = await client.messages.countTokens({ model: GPT4, messages: body.messages });
    const withTools = await client.messages.countTokens({ model: GPT4, messages: body.messages, tools });
    assert.ok(withTools.input_tokens > plain.input_tokens + 10, `${withTools.input_tokens} vs ${plain.input_tokens}`);
    // Unknown names, malformed bodies: Anthropic-shaped errors.
    await assert.rejects(client.messages.countTokens({ ...body, model: 'nope' }),
      (e) => e.status === 404 && e.type === 'not_found_error' && /unknown model or route 'nope'/.test(e.message));
    const res = await fetch(`${gw.base}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"claude","messages":[]}' });
    assert.equal(res.status, 400);
    const err = await res.json();
    assert.equal(err.type, 'error');
    assert.match(err.error.message, /messages is required/);
    const get = await fetch(`${gw.base}/v1/messages/count_tokens`);
    assert.equal(get.status, 405);
  });

  test('prompt-cache reads are prompt tokens priced at the cached price, passed through or translated', async () => {
    const price = (21 * 10 + 1000 * 1 + 8 * 30) / 1e6;
    const { response: native } = await client.messages.create({
      model: 'claude-cached', max_tokens: 10, messages: [{ role: 'user', content: 'answer from the cache' }],
    }).withResponse();
    const { data: c, response: translated } = await openai.chat.completions.create({
      model: 'claude-cached', messages: [{ role: 'user', content: 'answer from the cache' }],
    }).withResponse();
    assert.equal(c.usage.prompt_tokens, 1021);
    assert.deepEqual(c.usage.prompt_tokens_details, { cached_tokens: 1000 });
    for (const res of [native, translated]) {
      const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
      assert.deepEqual(d.usage, { prompt_tokens: 1021, completion_tokens: 8, source: 'upstream' });
      assert.ok(Math.abs(d.cost_usd - price) < 1e-12, `${d.cost_usd} vs ${price}`);
    }
  });

  test('prompt-cache writes are priced at the cache-write price: passed through, translated, streamed', async () => {
    const price = (21 * 10 + 300 * 12.5 + 8 * 30) / 1e6;
    const question = [{ role: 'user', content: 'write this into the cache' }];
    const { response: native } = await client.messages.create({
      model: 'claude-cached', max_tokens: 10, messages: question,
    }).withResponse();
    const { data: events, response: nativeStream } = await client.messages.create({
      model: 'claude-cached', max_tokens: 10, stream: true, messages: question,
    }).withResponse();
    let started;
    for await (const ev of events) if (ev.type === 'message_start') started = ev.message;
    assert.equal(started?.usage.cache_creation_input_tokens, 300, 'the stream passed through');
    const { data: c, response: translated } = await openai.chat.completions.create({
      model: 'claude-cached', messages: question,
    }).withResponse();
    assert.equal(c.usage.prompt_tokens, 321);
    assert.equal(c.usage.cache_creation_input_tokens, 300);
    const { data: stream, response: translatedStream } = await openai.chat.completions.create({
      model: 'claude-cached', messages: question, stream: true, stream_options: { include_usage: true },
    }).withResponse();
    const { usage } = await readChatStream(stream);
    assert.equal(usage.cache_creation_input_tokens, 300);
    for (const res of [native, nativeStream, translated, translatedStream]) {
      const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
      assert.deepEqual(d.usage, { prompt_tokens: 321, completion_tokens: 8, source: 'upstream' });
      assert.ok(Math.abs(d.cost_usd - price) < 1e-12, `${d.cost_usd} vs ${price}`);
    }
  });

  test('each call of a multi-call plan is priced with its cached prompt tokens', async () => {
    const { response } = await openai.chat.completions.create({
      model: 'cached-pair', messages: [{ role: 'user', content: 'answer from the cache' }],
    }).withResponse();
    assert.equal(response.headers.get('x-switchboard-calls'), '2');
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    const byModel = Object.fromEntries(d.calls.map((c) => [c.model, c.cost_usd]));
    const one = (21 * 10 + 1000 * 1 + 8 * 30) / 1e6;
    const two = (21 * 10 + 1000 * 2 + 8 * 30) / 1e6;
    assert.ok(Math.abs(byModel['claude-cached'] - one) < 1e-12, `${byModel['claude-cached']} vs ${one}`);
    assert.ok(Math.abs(byModel['claude-cached-2'] - two) < 1e-12, `${byModel['claude-cached-2']} vs ${two}`);
    assert.ok(Math.abs(d.cost_usd - (one + two)) < 1e-12, `${d.cost_usd}`);
  });

  test('a Responses client over the Messages replica (translated twice)', async () => {
    const r = await openai.responses.create({ model: CLAUDE, input: 'hello responses' });
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'native answer to: hello responses');
    assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [21, 8]);
  });

  test('a Responses client\'s reasoning.effort over the Messages replica of a model with reasoning: on: thinking asked, its thinking a reasoning item', async () => {
    const r = await openai.responses.create({ model: 'claude-thinks', input: 'ponder this', reasoning: { effort: 'medium' } });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).body).thinking, { type: 'enabled', budget_tokens: 8192 });
    assert.equal(r.output[0].type, 'reasoning');
    assert.deepEqual(r.output[0].content, [{ type: 'reasoning_text', text: 'thought about: ponder this' }]);
    assert.equal(r.output_text, 'native answer to: ponder this');
    // The same request to the auto model: no thinking asked.
    const plain = await openai.responses.create({ model: CLAUDE, input: 'ponder this', reasoning: { effort: 'medium' } });
    assert.equal(JSON.parse(upstream.requests.at(-1).body).thinking, undefined);
    assert.deepEqual(plain.output.map((o) => o.type), ['message']);
  });

  test('the same SDK to a chat model is translated as before', async () => {
    const msg = await client.messages.create({ model: GPT4, max_tokens: 2048, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.type, 'message');
    assert.match(msg.id, /^msg_/);
    assert.notEqual(msg.id, 'msg_native_01');
  });
});

describe('active health checks of an Anthropic replica', () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await anthropicUpstream(KEY);
    const check = { health_check: { path: '/v1/models', interval_ms: 100, timeout_ms: 500, unhealthy_after: 1, healthy_after: 1 } };
    gw = await startGateway({
      models: [
        model('claude-checked', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }], check),
        model('claude-checked-bad-key', [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_WRONG_KEY' }], check),
      ],
      env: { SB_TEST_ANTHROPIC_KEY: KEY, SB_TEST_WRONG_KEY: 'not-the-key' },
    });
  });
  after(stopAll);

  test('the check sends the replica\'s x-api-key and anthropic-version: a good key stays up, a bad one goes down', async () => {
    const available = async (m) => metricSum(gw.base, 'switchboard_replica_available', { model: m });
    await eventually(async () => (await available('claude-checked-bad-key')) === 0, 10000, 'the bad key marked down');
    const checks = upstream.requests.filter((r) => r.method === 'GET' && r.url === '/v1/models');
    const good = checks.filter((r) => r.headers['x-api-key'] === KEY);
    assert.ok(good.length >= 1, `${checks.length} checks`);
    assert.equal(good[0].headers['anthropic-version'], '2023-06-01');
    assert.equal(good[0].headers.authorization, undefined);
    assert.equal(await available('claude-checked'), 1, 'the replica with the right key passes its checks');
  });
});
