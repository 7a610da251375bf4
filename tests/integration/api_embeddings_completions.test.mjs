// POST /v1/embeddings routed among two replayed embedding models (rules on signals: code → the
// code model), with the openai SDK's embeddings.create: vectors passed through unchanged, usage and
// cost recorded. POST /v1/completions (legacy) with completions.create, plain and streamed.
// Malformed input on both: a precise 400 and a recorded decision.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, getDecision, getJson, GPT4, fakeUpstream,
} from './lib/harness.mjs';
import { postJson } from './lib/post.mjs';

const CODE = 'embed-code';
const TEXT = 'embed-text';
const DIM = 16;
const EMBED_PRICE = { input_per_mtok: 0.1, output_per_mtok: 0 };

describe('embeddings routed among embedding models; legacy completions', () => {
  let gw;
  let openai;
  let code;
  let text;
  before(async () => {
    const chat = await startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 });
    code = await startReplay({ model: CODE, extraArgs: ['--embedding-dim', String(DIM)] });
    text = await startReplay({ model: TEXT, extraArgs: ['--embedding-dim', String(DIM)] });
    // An embeddings server that reports no usage.
    const quiet = await fakeUpstream((req, res, body) => {
      const j = JSON.parse(body);
      const inputs = Array.isArray(j.input) ? j.input : [j.input];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model: j.model,
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: new Array(1536).fill(0.125) })) }));
    });
    gw = await startGateway({
      models: [model(GPT4, chat.url), model(CODE, code.url, { price: EMBED_PRICE }),
        model(TEXT, text.url, { price: EMBED_PRICE }), model('quiet-embed', quiet.url, { price: EMBED_PRICE })],
      routes: [
        { name: 'auto', policy: { type: 'static', model: GPT4 } },
        { name: 'embed', policy: { type: 'rules', default: TEXT, rules: [
          { name: 'code', when: { any: [{ has_code: true }, { keywords: ['python', 'sql'] }] }, model: CODE }] } },
      ],
    });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  // What the replay backend serving `modelName` answers for `input`, straight from it.
  async function direct(url, modelName, input) {
    const r = await postJson(url, '/v1/embeddings', { model: modelName, input, encoding_format: 'float' });
    assert.equal(r.status, 200, r.text);
    return r.json;
  }

  test('embeddings.create through the route: the rule picks the model, vectors unchanged', async () => {
    const prose = 'The weather in Paris is mild in spring.';
    const codeText = 'How do I write a python function that reverses a list?';
    const before = { code: (await code.stats()).requests, text: (await text.stats()).requests };

    const { data: a, response: ra } = await openai.embeddings.create({ model: 'embed', input: prose }).withResponse();
    assert.equal(ra.headers.get('x-switchboard-model'), TEXT);
    assert.equal(a.data.length, 1);
    assert.equal(a.data[0].embedding.length, DIM);
    // The SDK asked for base64 and decoded it: the same floats the backend gives directly.
    const want = await direct(text.url, TEXT, prose);
    assert.deepEqual(a.data[0].embedding, want.data[0].embedding);

    const { data: b, response: rb } = await openai.embeddings
      .create({ model: 'embed', input: [codeText, prose], encoding_format: 'float' }).withResponse();
    assert.equal(rb.headers.get('x-switchboard-model'), CODE);
    assert.equal(b.data.length, 2);
    const wantB = await direct(code.url, CODE, [codeText, prose]);
    assert.deepEqual(b.data.map((d) => d.embedding), wantB.data.map((d) => d.embedding));
    assert.notDeepEqual(b.data[1].embedding, a.data[0].embedding);  // another model, another vector

    assert.equal((await code.stats()).requests, before.code + 2);  // one routed, one direct
    assert.equal((await text.stats()).requests, before.text + 2);

    const d = await getDecision(gw.base, rb.headers.get('x-switchboard-decision'));
    assert.equal(d.route, 'embed');
    assert.equal(d.model, CODE);
    assert.equal(d.outcome, 'ok');
    assert.match(d.reason, /code/);
    assert.equal(d.usage.prompt_tokens, b.usage.prompt_tokens);
    assert.equal(d.usage.source, 'upstream');
    assert.ok(Math.abs(d.cost_usd - b.usage.prompt_tokens * EMBED_PRICE.input_per_mtok / 1e6) < 1e-15, String(d.cost_usd));
    assert.ok(d.cost_usd > 0);
  });

  test('embeddings without usage from the upstream: the input is estimated, no completion tokens', async () => {
    const input = Array.from({ length: 50 }, (_, i) => `sentence number ${i} to embed`);
    const { response } = await openai.embeddings.create({ model: 'quiet-embed', input }).withResponse();
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.usage.completion_tokens, 0, 'the vectors are no tokens');
    assert.ok(d.usage.prompt_tokens > 0 && d.usage.prompt_tokens < 2000, JSON.stringify(d.usage));
  });

  test('embeddings to a model by name, and the route is listed in /v1/models', async () => {
    const r = await openai.embeddings.create({ model: CODE, input: 'hello' });
    assert.equal(r.data[0].embedding.length, DIM);
    const models = await getJson(gw.base, '/v1/models');
    assert.ok(models.json.data.some((m) => m.id === 'embed'));
  });

  test('embeddings: malformed input is a precise 400 and a recorded decision', async () => {
    const cases = [
      ['{', 'invalid_json', /not valid JSON/],
      [{ model: 'embed' }, 'invalid_request', /input is required/],
      [{ model: 'embed', input: [] }, 'invalid_request', /empty array/],
      [{ model: 'embed', input: [[1, 2, 3]] }, 'invalid_request', /token arrays/],
      [{ model: 'embed', input: 'x', encoding_format: 'int8' }, 'invalid_request', /encoding_format/],
    ];
    for (const [body, codeName, says] of cases) {
      const r = await postJson(gw.base, '/v1/embeddings', body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, codeName);
      assert.match(r.json.error.message, says);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.status, 400);
      assert.equal(d.error.code, codeName);
    }
  });

  test('completions.create: the recorded answer as a text_completion; decision recorded', async () => {
    const p = demoPrompt(GPT4, 0);
    const { data: c, response } = await openai.completions
      .create({ model: 'auto', prompt: p.prompt, max_tokens: 2048 }).withResponse();
    assert.equal(c.object, 'text_completion');
    assert.equal(c.choices[0].text, p.response);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
    const d = await getDecision(gw.base, response.headers.get('x-switchboard-decision'));
    assert.equal(d.model, GPT4);
    assert.equal(d.usage.completion_tokens, c.usage.completion_tokens);
  });

  test('completions.create stream: text chunks then [DONE], usage when asked', async () => {
    const p = demoPrompt(GPT4, 1);
    const stream = await openai.completions.create({
      model: 'auto', prompt: p.prompt, max_tokens: 2048, stream: true, stream_options: { include_usage: true },
    });
    let out = '';
    let chunks = 0;
    let usage;
    for await (const ch of stream) {
      assert.equal(ch.object, 'text_completion');
      if (ch.choices.length) out += ch.choices[0].text;
      if (ch.usage) usage = ch.usage;
      chunks += 1;
    }
    assert.equal(out, p.response);
    assert.ok(chunks >= 3);
    assert.ok(usage && usage.completion_tokens > 0);
  });

  test('completions: malformed input is a precise 400 and a recorded decision', async () => {
    const cases = [
      [{ model: 'auto' }, /prompt is required/],
      [{ model: 'auto', prompt: [1, 2] }, /token arrays/],
      [{ model: 'auto', prompt: 'x', n: 3 }, /n: only 1/],
      [{ model: 'auto', prompt: 'x', echo: true }, /echo/],
    ];
    for (const [body, says] of cases) {
      const r = await postJson(gw.base, '/v1/completions', body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.error.message, says);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.outcome, 'client_error');
    }
  });
});
