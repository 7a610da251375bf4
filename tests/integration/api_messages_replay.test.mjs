// The replay backend speaks the Anthropic Messages API natively (POST /v1/messages,
// src/replay/replay_native.cc), so a gateway replica with `api: anthropic` can be a replay backend
// answering recorded outcomes, as the demo's mistral-7b replica is: the official Anthropic SDK
// reads its answers and streams directly; through the gateway a Messages client is passed through
// and a chat-completions client is translated to Messages and back, and both get the recorded
// answer of their prompt (the translation keeps the prompt the replay backend looks up).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, GPT4, GPT4_PRICE,
} from './lib/harness.mjs';
import { readChatStream, received } from './lib/post.mjs';

const NATIVE = 'claude-replay';

describe('replay backend answering /v1/messages', () => {
  let replay;
  let gw;
  before(async () => {
    replay = await startReplay({ model: GPT4 });
    gw = await startGateway({
      models: [model(NATIVE, [{ url: replay.url, api: 'anthropic', upstream_model: GPT4 }],
        { price: GPT4_PRICE })],
      routes: [{ name: 'claude', policy: { type: 'static', model: NATIVE } }],
    });
  });
  after(stopAll);

  test('the Anthropic SDK reads a recorded answer from the backend, whole and streamed', async () => {
    const direct = new Anthropic({ apiKey: 'unused', baseURL: replay.url, maxRetries: 0 });
    const p = demoPrompt(GPT4, 0);
    const msg = await direct.messages.create({
      model: GPT4, max_tokens: 4096, messages: [{ role: 'user', content: p.prompt }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0].text, p.response);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0, JSON.stringify(msg.usage));

    const q = demoPrompt(GPT4, 1);
    const stream = direct.messages.stream({
      model: GPT4, max_tokens: 4096, messages: [{ role: 'user', content: q.prompt }],
    });
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, q.response);
    assert.equal(final.content[0].text, q.response);
    assert.ok(final.usage.output_tokens > 0);
  });

  test('errors come in the Messages API\'s shape', async () => {
    const res = await fetch(`${replay.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GPT4, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /max_tokens/);
  });

  test('through the gateway: a Messages client passed through, a chat client translated', async () => {
    const p = demoPrompt(GPT4, 2);
    const anthropic = new Anthropic({ apiKey: 'k', baseURL: gw.base, maxRetries: 0 });
    const msg = await anthropic.messages.create({
      model: 'claude', max_tokens: 4096, messages: [{ role: 'user', content: p.prompt }],
    });
    assert.equal(msg.content[0].text, p.response);
    let got = (await received(replay)).at(-1);
    assert.equal(got.path, '/v1/messages');
    assert.equal(got.body.model, GPT4);

    const openai = new OpenAI({ apiKey: 'k', baseURL: `${gw.base}/v1`, maxRetries: 0 });
    const q = demoPrompt(GPT4, 3);
    const { data: chat, response } = await openai.chat.completions
      .create({ model: 'claude', messages: [{ role: 'user', content: q.prompt }] }).withResponse();
    assert.equal(chat.choices[0].message.content, q.response);
    got = (await received(replay)).at(-1);
    assert.equal(got.path, '/v1/messages');  // translated: the replica only speaks Messages
    assert.ok(got.body.max_tokens > 0, 'Messages requires max_tokens: the translation sets one');
    assert.deepEqual(got.body.messages, [{ role: 'user', content: [{ type: 'text', text: q.prompt }] }]);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(d.usage.completion_tokens, chat.usage.completion_tokens);
    const price = (chat.usage.prompt_tokens * GPT4_PRICE.input_per_mtok +
      chat.usage.completion_tokens * GPT4_PRICE.output_per_mtok) / 1e6;
    assert.ok(Math.abs(d.cost_usd - price) < 1e-12, `${d.cost_usd} vs ${price}`);

    const r = demoPrompt(GPT4, 4);
    const stream = await openai.chat.completions.create({
      model: 'claude', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: r.prompt }],
    });
    const { text, usage, finish } = await readChatStream(stream);
    assert.equal(text, r.response);
    assert.equal(finish, 'stop');
    assert.ok(usage?.completion_tokens > 0, JSON.stringify(usage));
  });
});
