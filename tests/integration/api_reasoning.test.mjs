// A reasoning model behind a chat-completions server (vLLM's reasoning parser, DeepSeek: the
// reasoning in `reasoning_content`) reached through the other APIs, with the official SDKs: an
// Anthropic client that turned thinking on gets it as a thinking block (whole and streamed) and one
// that did not gets none; a Responses client gets a reasoning item with reasoning_text (whole and
// streamed), the token details in its usage, and a stored conversation continues without sending
// the reasoning back to the chat replica; a streaming chat client of a cascade (its answer buffered,
// then re-streamed) still gets the reasoning.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startGateway, model, stopAll, getDecision } from './lib/harness.mjs';
import { reasoningUpstream, REASONING_MODEL, REASONING } from './lib/reasoning_upstream.mjs';

describe('a chat replica\'s reasoning through the Messages and Responses APIs', () => {
  let gw;
  let upstream;
  let anthropic;
  let openai;
  before(async () => {
    upstream = await reasoningUpstream();
    gw = await startGateway({
      models: [model(REASONING_MODEL, upstream.url), model('escalation-model', upstream.url),
        model('thinker', upstream.url, { reasoning: 'on' }), model('plain-model', upstream.url, { reasoning: 'off' })],
      routes: [{ name: 'verified', policy: { type: 'cascade', tiers: [
        { model: REASONING_MODEL, judge: { type: 'rules', min_chars: 1 }, threshold: 0.5 },
        { model: 'escalation-model' },
      ] } }, { name: 'thinker-cached', policy: { type: 'static', model: 'thinker' }, cache: { ttl_s: 600 } }],
      extraConfig: { apis: { responses: { store: true } } },
    });
    anthropic = new Anthropic({ apiKey: 'test-key', baseURL: gw.base, maxRetries: 0 });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  const thinking = { type: 'enabled', budget_tokens: 1024 };
  const ask = { model: REASONING_MODEL, max_tokens: 2048, messages: [{ role: 'user', content: 'Why?' }] };

  test('Messages with thinking on: a thinking block before the text; cached tokens apart', async () => {
    const msg = await anthropic.messages.create({ ...ask, thinking });
    assert.deepEqual(msg.content, [
      { type: 'thinking', thinking: REASONING, signature: '' },
      { type: 'text', text: 'answer to: Why?' },
    ]);
    assert.deepEqual(msg.usage, { input_tokens: 12, cache_read_input_tokens: 8, output_tokens: 15 });
    // The thinking setting is not sent to the chat replica (chat has no thinking budget).
    assert.equal(JSON.parse(upstream.requests.at(-1).body).thinking, undefined);
  });

  test('Messages stream with thinking on: thinking deltas, then the text; the SDK assembles both', async () => {
    const stream = anthropic.messages.stream({ ...ask, thinking });
    let thought = '';
    stream.on('thinking', (delta) => { thought += delta; });
    const final = await stream.finalMessage();
    assert.equal(thought, REASONING);
    assert.equal(final.content.length, 2);
    assert.equal(final.content[0].type, 'thinking');
    assert.equal(final.content[0].thinking, REASONING);
    assert.equal(final.content[1].type, 'text');
    assert.equal(final.content[1].text, 'answer to: Why?');
    assert.equal(final.usage.cache_read_input_tokens, 8);
  });

  test('Messages without thinking (or disabled): no thinking block, whole or streamed', async () => {
    for (const extra of [{}, { thinking: { type: 'disabled' } }]) {
      const msg = await anthropic.messages.create({ ...ask, ...extra });
      assert.deepEqual(msg.content, [{ type: 'text', text: 'answer to: Why?' }], JSON.stringify(extra));
      const final = await anthropic.messages.stream({ ...ask, ...extra }).finalMessage();
      assert.deepEqual(final.content.map((b) => b.type), ['text'], JSON.stringify(extra));
    }
  });

  test('Responses: a reasoning item with reasoning_text, then the message; usage details', async () => {
    const r = await openai.responses.create({ model: REASONING_MODEL, input: 'Why?' });
    assert.equal(r.output.length, 2);
    assert.equal(r.output[0].type, 'reasoning');
    assert.match(r.output[0].id, /^rs_[0-9a-f]{32}$/);
    assert.deepEqual(r.output[0].content, [{ type: 'reasoning_text', text: REASONING }]);
    assert.deepEqual(r.output[0].summary, []);
    assert.equal(r.output_text, 'answer to: Why?');
    assert.equal(r.usage.output_tokens_details.reasoning_tokens, 9);
    assert.equal(r.usage.input_tokens_details.cached_tokens, 8);
  });

  test('Responses stream: reasoning_text deltas; the SDK\'s final response holds the reasoning', async () => {
    const stream = openai.responses.stream({ model: REASONING_MODEL, input: 'Why?' });
    let thought = '';
    stream.on('response.reasoning_text.delta', (e) => { thought += e.delta; });
    const final = await stream.finalResponse();
    assert.equal(thought, REASONING);
    assert.equal(final.output[0].type, 'reasoning');
    assert.equal(final.output[0].content[0].text, REASONING);
    assert.equal(final.output_text, 'answer to: Why?');
    assert.equal(final.usage.output_tokens_details.reasoning_tokens, 9);
  });

  test('a stored conversation with reasoning continues; the reasoning is not sent back to chat', async () => {
    const first = await openai.responses.create({ model: REASONING_MODEL, input: 'Why?', store: true });
    assert.equal(first.output[0].type, 'reasoning');
    const next = await openai.responses.create({
      model: REASONING_MODEL, input: 'And then?', previous_response_id: first.id,
    });
    assert.equal(next.output_text, 'answer to: And then?');
    const sent = JSON.parse(upstream.requests.at(-1).body);
    assert.deepEqual(sent.messages, [
      { role: 'user', content: 'Why?' },
      { role: 'assistant', content: 'answer to: Why?' },
      { role: 'user', content: 'And then?' },
    ]);
  });

  test('chat client of a cascade: the buffered answer is re-streamed with its reasoning first', async () => {
    const { data: stream, response } = await openai.chat.completions.create({
      model: 'verified', stream: true, messages: [{ role: 'user', content: 'Why?' }],
    }).withResponse();
    assert.equal(response.headers.get('x-switchboard-calls'), '1', 'the first tier was accepted');
    let reasoning = '';
    let content = '';
    for await (const c of stream) {
      const d = c.choices[0]?.delta ?? {};
      if (d.reasoning_content) {
        assert.equal(content, '', 'the reasoning comes before the answer');
        reasoning += d.reasoning_content;
      }
      content += d.content ?? '';
    }
    assert.equal(reasoning, REASONING);
    assert.equal(content, 'answer to: Why?');
    // The cascade's call was buffered: the replica was asked without streaming.
    assert.equal(JSON.parse(upstream.requests.at(-1).body).stream, false);
  });

  test('reasoning settings per model: on sends the other APIs\' settings as reasoning_effort, auto does not, off removes a chat client\'s', async () => {
    const sent = () => JSON.parse(upstream.requests.at(-1).body);
    await openai.responses.create({ model: 'thinker', input: 'Why?', reasoning: { effort: 'high' } });
    assert.equal(sent().reasoning_effort, 'high');
    await anthropic.messages.create({ ...ask, model: 'thinker', thinking: { type: 'enabled', budget_tokens: 2000 } });
    assert.equal(sent().reasoning_effort, 'low');
    await anthropic.messages.create({ ...ask, model: 'thinker' });
    assert.equal(sent().reasoning_effort, undefined, 'no thinking asked, no effort');
    await openai.responses.create({ model: REASONING_MODEL, input: 'Why?', reasoning: { effort: 'high' } });
    assert.equal(sent().reasoning_effort, undefined, 'auto: a route may pick a model without reasoning');
    await openai.chat.completions.create({ model: REASONING_MODEL, reasoning_effort: 'low', messages: [{ role: 'user', content: 'Why?' }] });
    assert.equal(sent().reasoning_effort, 'low', 'auto: a chat client\'s own as sent');
    const { data: c } = await openai.chat.completions.create({
      model: 'plain-model', reasoning_effort: 'low', messages: [{ role: 'user', content: 'Why?' }],
    }).withResponse();
    assert.equal(c.choices[0].message.content, 'answer to: Why?');
    assert.equal(sent().reasoning_effort, undefined, 'off: removed');
    assert.equal(sent().model, 'plain-model');
  });

  test('the cache keys a Responses client\'s reasoning effort: with and without it are not mixed up', async () => {
    // Each answer's decision read back before the next request: a miss is stored by then.
    const ask = async (extra) => {
      const r = await openai.responses.create({ model: 'thinker-cached', input: 'Cache me?', ...extra }).withResponse();
      await getDecision(gw.base, r.response.headers.get('x-switchboard-decision'));
      return r;
    };
    const cache = (r) => r.response.headers.get('x-switchboard-cache');
    assert.equal(cache(await ask({ reasoning: { effort: 'high' } })), 'miss');
    assert.equal(cache(await ask({ reasoning: { effort: 'high' } })), 'hit');
    assert.equal(cache(await ask({})), 'miss', 'no effort: another key');
    assert.equal(cache(await ask({ reasoning: { effort: 'low' } })), 'miss', 'another effort: another key');
    const again = await ask({});
    assert.equal(cache(again), 'hit');
    assert.equal(again.data.output_text, 'answer to: Cache me?');
  });
});
