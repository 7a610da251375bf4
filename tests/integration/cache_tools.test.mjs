// The response cache with tools, through the real gateway and a tool-using fake upstream: a
// tool-call answer is stored and answers the same request again (plain, streamed to the OpenAI SDK,
// and translated for an Anthropic SDK client) with new call ids; an agent's next turn, which sends
// the tool result under whatever id its call got, matches across conversations; requests with
// tools match exactly only; `tools: false` bypasses them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, model, stopAll, postChat, getDecision } from './lib/harness.mjs';
import { toolUpstream, TOOL_MODEL } from './lib/tool_upstream.mjs';

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const ask = (route, content, extra = {}) => ({
  model: route, messages: [{ role: 'user', content }], tools: [WEATHER], ...extra,
});
// The agent's second turn: the model's call (under the id it was given) and the tool's result.
const nextTurn = (route, content, call) => ({
  model: route,
  tools: [WEATHER],
  messages: [
    { role: 'user', content },
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' },
  ],
});

describe('response cache with tools', () => {
  let gw;
  let upstream;
  // Posts and waits for the decision record (a miss is stored before it is recorded).
  const post = async (body) => {
    const r = await postChat(gw.base, body);
    assert.equal(r.status, 200, r.text);
    r.decision = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    return r;
  };
  before(async () => {
    upstream = await toolUpstream();
    gw = await startGateway({
      models: [model(TOOL_MODEL, upstream.url)],
      routes: [
        { name: 'agent', policy: { type: 'static', model: TOOL_MODEL }, cache: { ttl_s: 600 } },
        { name: 'no-tools', policy: { type: 'static', model: TOOL_MODEL }, cache: { tools: false } },
      ],
    });
  });
  after(stopAll);

  test('a tool-call answer is stored and answers the same request with new call ids', async () => {
    const q = 'What is the weather in Paris right now?';
    const first = await post(ask('agent', q));
    assert.equal(first.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(first.decision.cache.note, 'stored');
    const call = first.json.choices[0].message.tool_calls[0];
    assert.equal(call.id, 'call_1', 'a miss relays the upstream\'s ids');
    const n0 = upstream.requests.length;

    const hit = await post(ask('agent', q));
    assert.equal(hit.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, n0, 'no upstream call');
    const choice = hit.json.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const again = choice.message.tool_calls[0];
    assert.equal(again.type, 'function');
    assert.deepEqual(again.function, { name: 'get_weather', arguments: '{"city":"Paris"}' });
    assert.notEqual(again.id, call.id, 'a hit does not repeat another conversation\'s call id');
    assert.match(again.id, /^call_\w+_0$/);
    assert.equal(hit.decision.cache.match, 'exact');

    // Streamed to the official SDK: the call is assembled from the re-chunked deltas.
    const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = client.chat.completions.stream(ask('agent', q));
    const done = await stream.finalChatCompletion();
    const streamed = done.choices[0].message.tool_calls[0];
    assert.deepEqual(streamed.function, { name: 'get_weather', arguments: '{"city":"Paris"}' });
    assert.equal(done.choices[0].finish_reason, 'tool_calls');
    assert.notEqual(streamed.id, again.id);
    assert.equal(upstream.requests.length, n0, 'the streamed request was a hit too');
  });

  test('an Anthropic SDK client\'s tool call is stored and its repeat answered with a new tool_use id', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: gw.base, maxRetries: 0 });
    const request = {
      model: 'agent', max_tokens: 256, messages: [{ role: 'user', content: 'Is it raining in Paris?' }],
      tools: [{ name: 'get_weather', description: 'Weather of a city', input_schema: WEATHER.function.parameters }],
    };
    const first = await client.messages.create(request).withResponse();
    assert.equal(first.response.headers.get('x-switchboard-cache'), 'miss');
    await getDecision(gw.base, first.response.headers.get('x-switchboard-decision'));
    const n0 = upstream.requests.length;
    const { data: msg, response } = await client.messages.create(request).withResponse();
    assert.equal(response.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(upstream.requests.length, n0, 'no upstream call');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(msg.content));
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    assert.equal(msg.stop_reason, 'tool_use');
    assert.notEqual(use.id, first.data.content.find((b) => b.type === 'tool_use').id);
    assert.match(use.id, /^toolu_dec_/, 'an Anthropic tool_use id (it was call_dec_…)');
  });

  test('the agent\'s next turn matches across conversations whatever ids the calls got', async () => {
    const q = 'Should I take an umbrella in Paris today?';
    const a1 = await post(ask('agent', q));
    const t1 = await post(nextTurn('agent', q, a1.json.choices[0].message.tool_calls[0]));
    assert.equal(t1.headers.get('x-switchboard-cache'), 'miss');
    assert.match(t1.json.choices[0].message.content, /^answer to: /);
    const n0 = upstream.requests.length;
    // A second conversation: its first turn is a hit with a new id, and so is the next turn.
    const a2 = await post(ask('agent', q));
    assert.equal(a2.headers.get('x-switchboard-cache'), 'hit');
    const call2 = a2.json.choices[0].message.tool_calls[0];
    assert.notEqual(call2.id, a1.json.choices[0].message.tool_calls[0].id);
    const t2 = await post(nextTurn('agent', q, call2));
    assert.equal(t2.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(t2.json.choices[0].message.content, t1.json.choices[0].message.content);
    assert.equal(upstream.requests.length, n0, 'both turns answered from the cache');
    // A different tool result is another request.
    const other = nextTurn('agent', q, call2);
    other.messages[2].content = '{"temp_c":5,"rain":true}';
    assert.equal((await post(other)).headers.get('x-switchboard-cache'), 'miss');
  });

  test('with tools a near-duplicate is not a semantic hit; without tools it is', async () => {
    const original = 'How do I enable notifications on my phone?';
    const para = 'How can I enable notifications on my phone?';
    const plain = (content) => ({ model: 'agent', messages: [{ role: 'user', content }] });
    assert.equal((await post(plain(original))).headers.get('x-switchboard-cache'), 'miss');
    const near = await post(plain(para));
    assert.equal(near.headers.get('x-switchboard-cache'), 'hit', 'the pair is a semantic match without tools');
    assert.equal(near.decision.cache.match, 'semantic');
    assert.equal((await post(ask('agent', original))).headers.get('x-switchboard-cache'), 'miss');
    const withTools = await post(ask('agent', para));
    assert.equal(withTools.headers.get('x-switchboard-cache'), 'miss', 'exact matches only with tools');
  });

  test('cache.tools: false bypasses requests with tools', async () => {
    const r = await post(ask('no-tools', 'Weather in Lyon?'));
    assert.equal(r.headers.get('x-switchboard-cache'), 'bypass');
    assert.equal(r.decision.cache.note, 'tools (cache.tools: false)');
    const plain = await post({ model: 'no-tools', messages: [{ role: 'user', content: 'Hello there' }] });
    assert.equal(plain.headers.get('x-switchboard-cache'), 'miss');
  });
});
