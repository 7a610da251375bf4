// Answers a replica sends natively to a client of its own API (`api: anthropic` to a Messages
// client, `api: responses` to a Responses client: passed through, never translated) are read by
// the cache and the sessions as well as chat answers are: a cached route stores them (plain and
// streamed) and answers the repeat without calling the replica; a session finds the next
// header-less turn of such a conversation by its prefix.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, sleep, GPT4,
} from './lib/harness.mjs';
import { anthropicUpstream } from './lib/anthropic_upstream.mjs';

const KEY = 'sk-ant-test-native-answers';
const CLAUDE = 'claude-native';
const RESP = 'resp-native';

describe('natively passed-through answers in the cache and the sessions', () => {
  let gw;
  let anthropic;
  let openai;
  let upstream;
  let replay;
  before(async () => {
    [upstream, replay] = await Promise.all([anthropicUpstream(KEY), startReplay({ model: GPT4 })]);
    gw = await startGateway({
      models: [
        model(CLAUDE, [{ url: upstream.url, api: 'anthropic', api_key_env: 'SB_TEST_ANTHROPIC_KEY' }]),
        model(RESP, [{ url: replay.url, api: 'responses', upstream_model: GPT4 }]),
      ],
      routes: [
        { name: 'claude-cached', policy: { type: 'static', model: CLAUDE }, cache: { ttl_s: 600 } },
        { name: 'resp-cached', policy: { type: 'static', model: RESP }, cache: { ttl_s: 600 } },
        { name: 'claude-session', policy: { type: 'static', model: CLAUDE }, session: { sticky: true } },
      ],
      env: { SB_TEST_ANTHROPIC_KEY: KEY },
    });
    anthropic = new Anthropic({ apiKey: 'client-key', baseURL: gw.base, maxRetries: 0 });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  const messages = (text) => ({ model: 'claude-cached', max_tokens: 100, messages: [{ role: 'user', content: text }] });

  test('Messages: a native answer is stored; the repeat is a hit the replica never sees', async () => {
    const { data: first, response: r1 } = await anthropic.messages.create(messages('cache this one')).withResponse();
    assert.equal(first.id, 'msg_native_01', 'the first answer came natively');
    assert.equal(r1.headers.get('x-switchboard-cache'), 'miss');
    const d1 = await getDecision(gw.base, r1.headers.get('x-switchboard-decision'));
    assert.deepEqual(d1.cache, { status: 'miss', note: 'stored' });
    const calls = upstream.requests.length;
    const { data: again, response: r2 } = await anthropic.messages.create(messages('cache this one')).withResponse();
    assert.equal(r2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, calls, 'the replica was not called again');
    assert.equal(again.type, 'message');
    assert.equal(again.content[0].text, 'native answer to: cache this one');
    assert.equal(again.stop_reason, 'end_turn');
    const d2 = await getDecision(gw.base, r2.headers.get('x-switchboard-decision'));
    assert.equal(d2.cache.status, 'hit');
    assert.equal(d2.cache.saved_usd, d1.cost_usd);
  });

  test('Messages: a native answer that ended on a stop sequence is replayed so, whole and streamed', async () => {
    const ask = () => ({ ...messages('count with a stop sequence'), stop_sequences: ['###', 'END'] });
    const { data: first, response: r1 } = await anthropic.messages.create(ask()).withResponse();
    assert.equal(first.id, 'msg_native_01', 'the first answer came natively');
    assert.equal(first.stop_reason, 'stop_sequence');
    assert.deepEqual((await getDecision(gw.base, r1.headers.get('x-switchboard-decision'))).cache, { status: 'miss', note: 'stored' });
    const calls = upstream.requests.length;
    const { data: hit, response: r2 } = await anthropic.messages.create(ask()).withResponse();
    assert.equal(r2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(hit.stop_reason, 'stop_sequence', 'it said end_turn');
    assert.equal(hit.stop_sequence, 'END');
    const streamed = await anthropic.messages.stream(ask()).finalMessage();
    assert.equal(streamed.stop_reason, 'stop_sequence');
    assert.equal(streamed.stop_sequence, 'END');
    assert.equal(upstream.requests.length, calls, 'both were hits');
    // Stored from a stream too.
    const again = { ...ask(), messages: [{ role: 'user', content: 'count with a stop sequence, streamed' }] };
    const live = await anthropic.messages.stream(again).finalMessage();
    assert.equal(live.stop_sequence, 'END');
    const { data: hit2, response: r3 } = await anthropic.messages.create(again).withResponse();
    assert.equal(r3.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(hit2.stop_sequence, 'END');
  });

  test('Messages: a streamed native answer is stored too', async () => {
    const stream = anthropic.messages.stream(messages('stream then cache'));
    assert.equal((await stream.finalMessage()).content[0].text, 'native answer to: stream then cache');
    const calls = upstream.requests.length;
    const { data, response } = await anthropic.messages.create(messages('stream then cache')).withResponse();
    assert.equal(response.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, calls);
    assert.equal(data.content[0].text, 'native answer to: stream then cache');
  });

  test('Responses: plain and streamed native answers are stored', async () => {
    const p = demoPrompt(GPT4, 4);
    const before = (await replay.stats()).requests;
    const { data: r1, response: h1 } = await openai.responses.create({ model: 'resp-cached', input: p.prompt }).withResponse();
    assert.equal(h1.headers.get('x-switchboard-cache'), 'miss');
    await getDecision(gw.base, h1.headers.get('x-switchboard-decision'));  // stored by then
    const { data: r2, response: h2 } = await openai.responses.create({ model: 'resp-cached', input: p.prompt }).withResponse();
    assert.equal(h2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(r2.output_text, r1.output_text);
    assert.equal(r2.output_text, p.response);

    const q = demoPrompt(GPT4, 5);
    const stream = await openai.responses.create({ model: 'resp-cached', input: q.prompt, stream: true });
    let text = '';
    for await (const e of stream) if (e.type === 'response.output_text.delta') text += e.delta;
    assert.equal(text, q.response);
    const { data: r3, response: h3 } = await openai.responses.create({ model: 'resp-cached', input: q.prompt }).withResponse();
    assert.equal(h3.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(r3.output_text, q.response);
    assert.equal((await replay.stats()).requests - before, 2, 'one replica call per distinct prompt');
  });

  test('Messages: a native answer with extended thinking is stored with its signature; hits give it back, whole and streamed', async () => {
    const ask = { model: 'claude-cached', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 },
      messages: [{ role: 'user', content: 'think, then cache' }] };
    const { data: first, response: r1 } = await anthropic.messages.create(ask).withResponse();
    assert.deepEqual(first.content[0], { type: 'thinking', thinking: 'thought about: think, then cache', signature: 'sig-1' });
    assert.equal(r1.headers.get('x-switchboard-cache'), 'miss');
    assert.deepEqual((await getDecision(gw.base, r1.headers.get('x-switchboard-decision'))).cache, { status: 'miss', note: 'stored' });
    const calls = upstream.requests.length;
    const { data: hit, response: r2 } = await anthropic.messages.create(ask).withResponse();
    assert.equal(r2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, calls);
    assert.deepEqual(hit.content[0], first.content[0], 'the signed thinking block, as Anthropic sent it');
    assert.equal(hit.content[1].text, first.content[1].text);
    const streamed = await anthropic.messages.stream(ask).finalMessage();
    assert.deepEqual(streamed.content[0], first.content[0]);
    assert.equal(upstream.requests.length, calls, 'the stream was a hit too');
    // Without thinking the same question is another entry (the reasoning setting is keyed).
    const { response: r3 } = await anthropic.messages.create({ ...ask, thinking: undefined }).withResponse();
    assert.equal(r3.headers.get('x-switchboard-cache'), 'miss');
  });

  test('Messages: a native tool_use answer is stored, whole and streamed; the agent\'s next turn matches across conversations', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const ask = (text) => ({ model: 'claude-cached', max_tokens: 100, tools, messages: [{ role: 'user', content: text }] });
    const { data: first, response: r1 } = await anthropic.messages.create(ask('Weather in Paris?')).withResponse();
    assert.equal(first.id, 'msg_native_tool');
    assert.equal(r1.headers.get('x-switchboard-cache'), 'miss');
    assert.deepEqual((await getDecision(gw.base, r1.headers.get('x-switchboard-decision'))).cache, { status: 'miss', note: 'stored' });
    const calls = upstream.requests.length;
    const { data: hit, response: r2 } = await anthropic.messages.create(ask('Weather in Paris?')).withResponse();
    assert.equal(r2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, calls, 'the replica was not called again');
    assert.equal(hit.stop_reason, 'tool_use');
    assert.equal(hit.content[0].text, 'Let me check.');
    const use = hit.content.find((b) => b.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    assert.notEqual(use.id, 'toolu_01', 'a hit gets its own call id');
    assert.match(use.id, /^toolu_dec_/, 'in Anthropic\'s form (it was call_…)');

    // The next turn: the call sent back with the tool's result, under the id the answer gave it.
    const next = (answer) => ({
      model: 'claude-cached', max_tokens: 100, tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: answer.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: answer.content.find((b) => b.type === 'tool_use').id, content: '21C and sunny' }] },
      ],
    });
    const { data: t1, response: n1 } = await anthropic.messages.create(next(first)).withResponse();
    assert.equal(n1.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(t1.content[0].text, 'the tool said: 21C and sunny');
    await getDecision(gw.base, n1.headers.get('x-switchboard-decision'));
    const before = upstream.requests.length;
    const { data: t2, response: n2 } = await anthropic.messages.create(next(hit)).withResponse();
    assert.equal(n2.headers.get('x-switchboard-cache'), 'hit', 'another conversation\'s next turn, another call id');
    assert.equal(t2.content[0].text, 'the tool said: 21C and sunny');
    assert.equal(upstream.requests.length, before);

    // Streamed natively, stored, answered again from the cache.
    const stream = anthropic.messages.stream(ask('Weather in Lyon?'));
    const streamed = await stream.finalMessage();
    assert.deepEqual(streamed.content.find((b) => b.type === 'tool_use').input, { city: 'Paris' });
    const { data: again, response: r3 } = await anthropic.messages.create(ask('Weather in Lyon?')).withResponse();
    assert.equal(r3.headers.get('x-switchboard-cache'), 'hit');
    assert.deepEqual(again.content.find((b) => b.type === 'tool_use').input, { city: 'Paris' });
  });

  test('a header-less Messages conversation answered natively is found by its prefix', async () => {
    const first = [{ role: 'user', content: 'hello, natively' }];
    const { data: a1, response: r1 } = await anthropic.messages
      .create({ model: 'claude-session', max_tokens: 100, messages: first }).withResponse();
    assert.equal(a1.id, 'msg_native_01');
    await sleep(100);
    const { response: r2 } = await anthropic.messages.create({
      model: 'claude-session', max_tokens: 100,
      messages: [...first, { role: 'assistant', content: a1.content[0].text }, { role: 'user', content: 'and again' }],
    }).withResponse();
    const [d1, d2] = await Promise.all([r1, r2].map((r) => getDecision(gw.base, r.headers.get('x-switchboard-decision'))));
    assert.equal(d1.session.kind, 'prefix');
    assert.equal(d2.session.id, d1.session.id, 'the second turn continues the first one\'s session');
    assert.equal(d2.session.turn, 2);
  });

  test('an agent\'s tool loop stays in its session: the turn after a tool call is found by the same prefix', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' } }];
    const first = [{ role: 'user', content: 'hello, agent' }];
    const { data: a1, response: r1 } = await anthropic.messages
      .create({ model: 'claude-session', max_tokens: 100, messages: first }).withResponse();
    await sleep(100);
    const second = [...first, { role: 'assistant', content: a1.content[0].text }, { role: 'user', content: 'weather in Paris?' }];
    const { data: a2, response: r2 } = await anthropic.messages
      .create({ model: 'claude-session', max_tokens: 100, tools, messages: second }).withResponse();
    assert.equal(a2.stop_reason, 'tool_use');
    await sleep(100);
    const use = a2.content.find((b) => b.type === 'tool_use');
    const { data: a3, response: r3 } = await anthropic.messages.create({
      model: 'claude-session', max_tokens: 100, tools,
      messages: [...second, { role: 'assistant', content: a2.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    }).withResponse();
    assert.equal(a3.content[0].text, 'the tool said: sunny');
    const [d1, d2, d3] = await Promise.all([r1, r2, r3].map((r) => getDecision(gw.base, r.headers.get('x-switchboard-decision'))));
    assert.equal(d2.session.id, d1.session.id);
    assert.equal(d3.session.id, d1.session.id, 'the tool result\'s turn continues the session');
    assert.equal(d3.session.turn, 3);

    // An agent whose first turn is a tool call: its tool-result turn continues it, and another
    // conversation with the same system prompt does not join it.
    const system = 'You are a weather agent.';
    const ask = [{ role: 'user', content: 'weather in Rome?' }];
    const { data: b1, response: s1 } = await anthropic.messages
      .create({ model: 'claude-session', max_tokens: 100, system, tools, messages: ask }).withResponse();
    assert.equal(b1.stop_reason, 'tool_use');
    await sleep(100);
    const { response: other } = await anthropic.messages
      .create({ model: 'claude-session', max_tokens: 100, system, messages: [{ role: 'user', content: 'something else' }] }).withResponse();
    const { response: s2 } = await anthropic.messages.create({
      model: 'claude-session', max_tokens: 100, system, tools,
      messages: [...ask, { role: 'assistant', content: b1.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: b1.content.find((b) => b.type === 'tool_use').id, content: 'rainy' }] }],
    }).withResponse();
    const [e1, eo, e2] = await Promise.all([s1, other, s2].map((r) => getDecision(gw.base, r.headers.get('x-switchboard-decision'))));
    assert.notEqual(eo.session.id, e1.session.id, 'the same system prompt alone is not the same conversation');
    assert.equal(e2.session.id, e1.session.id, 'the tool-result turn continues the agent\'s session');
    assert.equal(e2.session.turn, 2);
  });
});
