// An Anthropic prefill (the last turn is the assistant's text) over chat replicas: a model with
// `prefill: continue` asks its replicas to continue that text (vLLM's continue_final_message), so
// the Messages answer is the continuation; other models, chat clients and requests ending with the
// user's turn send nothing of it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, model, stopAll, fakeUpstream, getDecision } from './lib/harness.mjs';
import { postJson } from './lib/post.mjs';

describe('prefill over chat replicas', () => {
  let gw;
  let upstream;
  let client;
  before(async () => {
    // Continues the last message when asked to (as vLLM does: only what comes after it), else
    // answers a turn of its own.
    upstream = await fakeUpstream((req, res, body) => {
      const j = JSON.parse(body);
      const text = j.continue_final_message ? '"city":"Paris"}' : '{"city":"Paris"}';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-p', object: 'chat.completion', created: 1, model: j.model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
        usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
      }));
    });
    gw = await startGateway({
      models: [
        model('vllm-served', upstream.url, { prefill: 'continue' }),
        model('openai-like', upstream.url),
      ],
    });
    client = new Anthropic({ apiKey: 'k', baseURL: gw.base, maxRetries: 0 });
  });
  after(stopAll);

  const prefilled = [{ role: 'user', content: 'Where is the Louvre? JSON please.' }, { role: 'assistant', content: '{' }];
  const sent = () => JSON.parse(upstream.requests.at(-1).body);

  test('prefill: continue — the replica continues the text, the answer is what comes after it', async () => {
    const msg = await client.messages.create({ model: 'vllm-served', max_tokens: 50, messages: prefilled });
    const body = sent();
    assert.equal(body.continue_final_message, true);
    assert.equal(body.add_generation_prompt, false);
    assert.deepEqual(body.messages.at(-1), { role: 'assistant', content: '{' });
    assert.equal(msg.content[0].text, '"city":"Paris"}');
    assert.deepEqual(JSON.parse('{' + msg.content[0].text), { city: 'Paris' });
    // Streamed too.
    const streamed = await client.messages.stream({ model: 'vllm-served', max_tokens: 50, messages: prefilled }).finalMessage();
    assert.equal(sent().continue_final_message, true);
    assert.equal(streamed.content[0].text, '"city":"Paris"}');
  });

  test('without it, and for what is no prefill, nothing is added', async () => {
    await client.messages.create({ model: 'openai-like', max_tokens: 50, messages: prefilled });
    assert.equal(sent().continue_final_message, undefined);
    // The last turn the user's.
    await client.messages.create({ model: 'vllm-served', max_tokens: 50, messages: prefilled.slice(0, 1) });
    assert.equal(sent().continue_final_message, undefined);
    // A chat client's trailing assistant turn is no prefill in OpenAI's API.
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'vllm-served', messages: prefilled });
    assert.equal(r.status, 200);
    assert.equal(sent().continue_final_message, undefined);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
  });
});
