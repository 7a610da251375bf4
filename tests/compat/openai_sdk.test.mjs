// The official OpenAI Node SDK against the gateway: plain and streaming chat completions with the
// recorded demo answers, models.list(), and an unknown model surfacing as the SDK's NotFoundError.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, GPT4, MIXTRAL,
} from '../integration/lib/harness.mjs';

describe('OpenAI SDK compatibility', () => {
  let gw;
  let client;
  before(async () => {
    const [gpt4, mixtral] = await Promise.all([
      startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }),
      startReplay({ model: MIXTRAL, inputPrice: 0.6, outputPrice: 0.6 }),
    ]);
    gw = await startGateway({
      models: [model(GPT4, gpt4.url), model(MIXTRAL, mixtral.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } }],
    });
    client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20000 });
  });
  after(stopAll);

  test('chat.completions.create returns the recorded answer', async () => {
    const p = demoPrompt(GPT4, 0);
    const completion = await client.chat.completions.create({
      model: GPT4,
      messages: [{ role: 'user', content: p.prompt }],
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0].message.role, 'assistant');
    assert.equal(completion.choices[0].message.content, p.response);
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.ok(completion.usage.prompt_tokens > 0 && completion.usage.completion_tokens > 0);
  });

  test('withResponse exposes the gateway headers, and the decision can be fetched', async () => {
    const p = demoPrompt(MIXTRAL, 1);
    const { data, response } = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: p.prompt }] })
      .withResponse();
    assert.equal(data.choices[0].message.content, p.response);
    assert.equal(response.headers.get('x-switchboard-model'), MIXTRAL);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.route, 'auto');
    assert.equal(d.outcome, 'ok');
  });

  test('stream: true yields chunks that assemble to the recorded answer', async () => {
    const p = demoPrompt(GPT4, 2);
    const stream = await client.chat.completions.create({
      model: GPT4,
      messages: [{ role: 'user', content: p.prompt }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      chunks += 1;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta?.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, p.response);
    assert.ok(chunks > 2, `${chunks} chunks`);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0, 'usage chunk with include_usage');
  });

  test('models.list() lists the models and routes', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(new Set(ids), new Set([GPT4, MIXTRAL, 'auto']));
  });

  test('unknown model → the SDK throws NotFoundError with status 404', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        assert.equal(err.type, 'invalid_request_error');
        assert.match(err.message, /no-such-model/);
        assert.match(err.headers?.get?.('x-switchboard-decision') ?? '', /^dec_/);
        return true;
      });
  });

  test('a streaming request for an unknown model also throws NotFoundError', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }],
                                       stream: true }),
      (err) => err instanceof OpenAI.NotFoundError && err.status === 404);
  });

  test('a malformed request → BadRequestError 400', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: GPT4, messages: [] }),
      (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && err.code === 'invalid_request');
  });
});
