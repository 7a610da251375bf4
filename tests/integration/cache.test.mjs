// The semantic cache through the real gateway: a repeated request is answered without an upstream
// call (counted at the backend) and recorded as a hit; a paraphrase hits, a negated or otherwise
// different question misses; a streamed hit is valid SSE the OpenAI SDK parses; streamed answers
// are stored too; non-deterministic requests bypass; every response of a cached route says which.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getDecision,
  GPT4, fakeUpstream, completionJson,
} from './lib/harness.mjs';
import { echoUpstream, FAKE } from './lib/echo_upstream.mjs';

describe('semantic cache', () => {
  let gw;
  let replay;
  let echo;
  let filtering;
  before(async () => {
    [replay, echo] = await Promise.all([startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }), echoUpstream()]);
    // Answers every request with a provider's content-filter stop.
    filtering = await fakeUpstream((req, res) => {
      const body = JSON.parse(completionJson('filtering', ''));
      body.choices[0].finish_reason = 'content_filter';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    gw = await startGateway({
      models: [model(GPT4, replay.url), model(FAKE, echo.url), model('filtering', filtering.url),
        model('beta-model', [{ url: replay.url, api: 'anthropic', pass_headers: ['anthropic-beta'] }])],
      routes: [
        { name: 'filtered', policy: { type: 'static', model: 'filtering' }, cache: { ttl_s: 600 } },
        { name: 'cached', policy: { type: 'static', model: GPT4 }, cache: { ttl_s: 600 } },
        { name: 'faq', policy: { type: 'static', model: FAKE }, cache: { name: 'faq' } },
        { name: 'plain', policy: { type: 'static', model: FAKE } },
        { name: 'beta', policy: { type: 'static', model: 'beta-model' }, cache: { name: 'beta' } },
      ],
    });
  });
  after(stopAll);

  test('a second identical request is a hit: no upstream call, entry and saving recorded', async () => {
    const p = demoPrompt(GPT4, 3);
    const before = (await replay.stats()).requests;
    const first = await postChat(gw.base, chatBody('cached', p.prompt));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-switchboard-cache'), 'miss');
    const d1 = await getDecision(gw.base, first.headers.get('x-switchboard-decision'));
    assert.deepEqual(d1.cache, { status: 'miss', note: 'stored' });
    assert.ok(d1.cost_usd > 0);

    // Whitespace and key order do not matter.
    const second = await postChat(gw.base, JSON.stringify({ messages: [{ content: `  ${p.prompt}\n`, role: 'user' }], model: 'cached' }));
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(second.json.choices[0].message.content, p.response);
    assert.equal(first.headers.get('x-switchboard-model'), GPT4);
    assert.equal(second.headers.get('x-switchboard-model'), GPT4, 'a hit names the model whose answer it is');
    assert.equal(second.headers.get('x-switchboard-replica'), null);
    assert.equal((await replay.stats()).requests - before, 1, 'only the first request reached the backend');
    const d2 = await getDecision(gw.base, second.headers.get('x-switchboard-decision'));
    assert.equal(d2.cache.status, 'hit');
    assert.equal(d2.cache.match, 'exact');
    assert.equal(d2.cache.similarity, 1);
    assert.match(d2.cache.entry, /^ce_[0-9a-f]{16}$/);
    assert.equal(d2.cache.saved_usd, d1.cost_usd);
    assert.equal(d2.attempts.length, 0);
    assert.equal(d2.stages.find((s) => s.name === 'cache').outcome, 'end');
    assert.equal(d2.stages.find((s) => s.name === 'execute'), undefined, 'execute did not run');

    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    const saved = metrics.split('\n').find((l) => l.startsWith('switchboard_cache_saved_usd_total{route="cached"}'));
    assert.ok(saved && Number(saved.split(' ').at(-1)) > 0, saved);
    assert.match(metrics, /switchboard_cache_requests_total\{route="cached",result="hit"\} [1-9]/);
  });

  test('a paraphrase is a semantic hit; negated, other-number and other-entity questions miss', async () => {
    const ask = async (q) => {
      const r = await postChat(gw.base, chatBody('faq', q));
      assert.equal(r.status, 200, r.text);
      await getDecision(gw.base, r.headers.get('x-switchboard-decision'));  // recorded: stored if a miss
      return r;
    };
    const n0 = echo.requests.length;
    const original = await ask('How do I enable notifications on my phone?');
    assert.equal(original.headers.get('x-switchboard-cache'), 'miss');
    const para = await ask('How can I enable notifications on my phone?');
    assert.equal(para.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(para.json.choices[0].message.content, 'answer to: How do I enable notifications on my phone?');
    const d = await getDecision(gw.base, para.headers.get('x-switchboard-decision'));
    assert.equal(d.cache.match, 'semantic');
    assert.ok(d.cache.similarity >= 0.85 && d.cache.similarity < 1, String(d.cache.similarity));
    assert.equal(echo.requests.length - n0, 1);

    for (const q of ['How do I not enable notifications on my phone?', 'How do I disable notifications on my phone?',
                     'How do I enable 2 notifications on my phone?', 'How do I enable notifications on my iPhone?']) {
      const r = await ask(q);
      assert.equal(r.headers.get('x-switchboard-cache'), 'miss', q);
      assert.equal(r.json.choices[0].message.content, `answer to: ${q}`);
    }
    assert.equal(echo.requests.length - n0, 5);
  });

  test('an anthropic-beta header partitions the cache of a route whose replicas take it (since session 30)', async () => {
    const ask = async (route, q, beta) => {
      const r = await postChat(gw.base, chatBody(route, q), { headers: beta ? { 'anthropic-beta': beta } : {} });
      assert.equal(r.status, 200, r.text);
      await getDecision(gw.base, r.headers.get('x-switchboard-decision'));  // recorded: stored if a miss
      return r.headers.get('x-switchboard-cache');
    };
    // Its replica is given the client's beta (pass_headers), which can change the answer.
    const q = 'Which beta features change the answer here?';
    assert.equal(await ask('beta', q, ''), 'miss');
    assert.equal(await ask('beta', q, 'beta-one'), 'miss');
    assert.equal(await ask('beta', q, 'beta-one'), 'hit');
    assert.equal(await ask('beta', q, 'beta-two'), 'miss');
    assert.equal(await ask('beta', q, ''), 'hit');
    // No replica of this route takes it: the header changes nothing, answers are shared.
    const p = 'Does a beta header matter on an OpenAI route?';
    assert.equal(await ask('faq', p, ''), 'miss');
    assert.equal(await ask('faq', p, 'beta-one'), 'hit');
  });

  test('a streamed hit is valid SSE that the OpenAI SDK parses', async () => {
    const q = 'What is the boiling point of water at sea level?';
    const first = await postChat(gw.base, chatBody('faq', q));
    assert.equal(first.headers.get('x-switchboard-cache'), 'miss');
    await getDecision(gw.base, first.headers.get('x-switchboard-decision'));
    const n0 = echo.requests.length;
    const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'faq', messages: [{ role: 'user', content: q }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(response.headers.get('x-switchboard-cache'), 'hit');
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, `answer to: ${q}`);
    assert.equal(finish, 'stop');
    assert.equal(usage.completion_tokens, 7);
    assert.equal(echo.requests.length, n0, 'no upstream call');
  });

  test('a streamed miss is assembled and stored; a plain repeat is answered from it', async () => {
    const q = 'Why do cats purr when they are happy?';
    const s = await streamChat(gw.base, chatBody('faq', q, { stream: true }));
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('x-switchboard-cache'), 'miss');
    assert.equal(s.events.at(-1).data, '[DONE]');
    const d = await getDecision(gw.base, s.headers.get('x-switchboard-decision'));
    assert.equal(d.cache.note, 'stored');
    const n0 = echo.requests.length;
    const r = await postChat(gw.base, chatBody('faq', q));
    assert.equal(r.headers.get('x-switchboard-cache'), 'hit');
    assert.equal(r.json.choices[0].message.content, `answer to: ${q}`);
    assert.equal(echo.requests.length, n0);
  });

  test('an answer the provider\'s content filter stopped is not stored', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await postChat(gw.base, chatBody('filtered', 'something filtered'));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-switchboard-cache'), 'miss');
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.match(d.cache.note, /not stored: the provider's content filter/);
    }
    assert.equal(filtering.requests.length, 2);
  });

  test('non-deterministic requests bypass; uncached routes carry no cache header', async () => {
    const q = 'Tell me a fun fact about the moon.';
    for (let i = 0; i < 2; i++) {
      const r = await postChat(gw.base, chatBody('faq', q, { temperature: 0.8 }));
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-switchboard-cache'), 'bypass');
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.equal(d.cache.status, 'bypass');
      assert.match(d.cache.note, /not deterministic \(temperature\)/);
    }
    const r = await postChat(gw.base, chatBody('plain', q));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-switchboard-cache'), null);
    // n > 1 is never cached, even when deterministic.
    const bad = await postChat(gw.base, { model: 'faq', messages: [{ role: 'user', content: 'x' }], n: 3 });
    assert.equal(bad.headers.get('x-switchboard-cache'), 'bypass');
    // Nor are logprobs asked for: a cached answer keeps none to give back.
    for (let i = 0; i < 2; i++) {
      const lp = await postChat(gw.base, chatBody('faq', 'logprobs please', { logprobs: true }));
      assert.equal(lp.headers.get('x-switchboard-cache'), 'bypass');
      const d = await getDecision(gw.base, lp.headers.get('x-switchboard-decision'));
      assert.match(d.cache.note, /logprobs/);
    }
  });
});
