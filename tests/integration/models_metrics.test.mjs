// GET /v1/models lists the configured models and routes, GET /v1/models/{id} reads one (both
// in OpenAI's shape, or Anthropic's for the Anthropic SDK); GET /metrics exposes request counters
// and the latency histogram labelled with the model after traffic.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, postChat, streamChat, getJson,
  parseMetrics, metricSum, eventually, SLOWDOWN, GPT4, MIXTRAL,
} from './lib/harness.mjs';

describe('models and metrics', () => {
  let gpt4;
  let mixtral;
  let gw;
  before(async () => {
    [gpt4, mixtral] = await Promise.all([
      startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }),
      startReplay({ model: MIXTRAL, inputPrice: 0.6, outputPrice: 0.6 }),
    ]);
    gw = await startGateway({
      models: [
        model(GPT4, gpt4.url),
        model(MIXTRAL, mixtral.url, { price: { input_per_mtok: 0.6, output_per_mtok: 0.6 } }),
      ],
      routes: [
        { name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } },
        { name: 'best', policy: { type: 'static', model: GPT4 } },
      ],
    });
  });
  after(stopAll);

  test('GET /v1/models lists every model and route in the OpenAI list shape', async () => {
    const r = await getJson(gw.base, '/v1/models');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(r.json.object, 'list');
    const ids = r.json.data.map((m) => m.id);
    assert.deepEqual(new Set(ids), new Set([GPT4, MIXTRAL, 'auto', 'best']));
    assert.equal(ids.length, 4, 'no duplicates');
    const now = Date.now() / 1000;
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      // When the configuration was loaded: this gateway's start, not 1970.
      assert.ok(m.created > now - 600 && m.created <= now + 1, String(m.created));
      assert.equal(typeof m.owned_by, 'string');
    }
    const auto = r.json.data.find((m) => m.id === 'auto');
    const direct = r.json.data.find((m) => m.id === GPT4);
    assert.notEqual(auto.owned_by, direct.owned_by, 'routes are distinguishable from models');
    // A route lists the models its plans may call (its policy's models: chosen and fallbacks).
    assert.deepEqual(auto.models, [MIXTRAL, GPT4]);
    assert.deepEqual(r.json.data.find((m) => m.id === 'best').models, [GPT4]);
    assert.equal(direct.models, undefined);
  });

  test('GET /v1/models/{id}: one model or route (a "/" in the name percent-encoded), else 404', async () => {
    const openai = new OpenAI({ apiKey: 'k', baseURL: `${gw.base}/v1`, maxRetries: 0 });
    const m = await openai.models.retrieve(MIXTRAL);  // the SDK sends mistralai%2Fmixtral-8x7b-chat
    assert.equal(m.id, MIXTRAL);
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'switchboard');
    const route = await openai.models.retrieve('auto');
    assert.equal(route.owned_by, 'switchboard-route');
    const plain = await getJson(gw.base, `/v1/models/${MIXTRAL}`);  // unencoded works too
    assert.equal(plain.json.id, MIXTRAL);
    await assert.rejects(openai.models.retrieve('nope'),
      (e) => e.status === 404 && e.error?.code === 'model_not_found' && /nope/.test(e.message));
  });

  test('the Anthropic SDK lists and reads models in its own shape', async () => {
    const anthropic = new Anthropic({ apiKey: 'k', baseURL: gw.base, maxRetries: 0 });
    const listed = [];
    for await (const m of anthropic.models.list()) listed.push(m);
    assert.deepEqual(new Set(listed.map((m) => m.id)), new Set([GPT4, MIXTRAL, 'auto', 'best']));
    for (const m of listed) {
      assert.equal(m.type, 'model');
      assert.equal(typeof m.display_name, 'string');
      assert.ok(Math.abs(Date.parse(m.created_at) - Date.now()) < 600_000, m.created_at);
    }
    // Paged as Anthropic pages: one a page, the SDK follows after_id to the end; before_id back.
    const paged = [];
    for await (const m of anthropic.models.list({ limit: 1 })) paged.push(m.id);
    assert.deepEqual(paged, listed.map((m) => m.id));
    const back = await anthropic.models.list({ limit: 2, before_id: paged[3] });
    assert.deepEqual(back.data.map((m) => m.id), [paged[1], paged[2]]);
    assert.equal(back.has_more, true);
    for (const q of ['limit=0', 'limit=1001', 'limit=x', 'after_id=nope']) {
      const r = await fetch(`${gw.base}/v1/models?${q}`, { headers: { 'anthropic-version': '2023-06-01' } });
      assert.equal(r.status, 400, q);
      assert.equal((await r.json()).error.type, 'invalid_request_error', q);
    }
    const one = await anthropic.models.retrieve(GPT4);
    assert.deepEqual([one.type, one.id], ['model', GPT4]);
    await assert.rejects(anthropic.models.retrieve('nope'),
      (e) => e.status === 404 && e.error?.error?.type === 'not_found_error');
  });

  test('GET /metrics: requests_total and the latency histogram carry the model label', async () => {
    const p = demoPrompt(MIXTRAL, 0);
    const a = await postChat(gw.base, chatBody(MIXTRAL, p.prompt));
    assert.equal(a.status, 200, a.text);
    const b = await streamChat(gw.base, chatBody('auto', p.prompt));
    assert.equal(b.status, 200);
    const c = await postChat(gw.base, chatBody(GPT4, demoPrompt(GPT4, 0).prompt));
    assert.equal(c.status, 200, c.text);
    const e = await postChat(gw.base, chatBody('nope', 'x'));
    assert.equal(e.status, 404);

    // A request is counted once its answer is out: wait until all four are (a loaded run read the
    // metrics first).
    await eventually(async () => await metricSum(gw.base, 'switchboard_requests_total') === 4 &&
                     await metricSum(gw.base, 'switchboard_request_duration_seconds_count') === 4,
                     5000 * SLOWDOWN, 'the four requests counted');
    const res = await fetch(`${gw.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# TYPE switchboard_requests_total counter$/m);
    assert.match(text, /^# TYPE switchboard_request_duration_seconds histogram$/m);
    const samples = parseMetrics(text);

    const requests = samples.filter((s) => s.name === 'switchboard_requests_total');
    const sumFor = (pred) => requests.filter(pred).reduce((n, s) => n + s.value, 0);
    assert.equal(sumFor((s) => s.labels.model === MIXTRAL && s.labels.status === '200'), 2, text);
    assert.equal(sumFor((s) => s.labels.model === GPT4 && s.labels.status === '200'), 1);
    assert.equal(sumFor((s) => s.labels.route === 'auto'), 1);
    assert.equal(sumFor((s) => s.labels.status === '404'), 1);
    assert.equal(sumFor(() => true), 4, 'one count per chat request');
    for (const s of requests) {
      for (const k of ['route', 'model', 'replica', 'status', 'api']) assert.ok(k in s.labels, `${k} label: ${JSON.stringify(s)}`);
    }
    assert.equal(sumFor((s) => s.labels.api === 'chat'), 4, 'chat completions are api="chat"');
    // An unknown model name must not become a label value (bounded cardinality).
    assert.ok(!text.includes('"nope"'), 'client-supplied unknown model name is not a label');

    const hist = samples.filter((s) => s.name.startsWith('switchboard_request_duration_seconds'));
    const mixCount = hist.filter((s) => s.name === 'switchboard_request_duration_seconds_count' &&
                                        s.labels.model === MIXTRAL).reduce((n, s) => n + s.value, 0);
    assert.equal(mixCount, 2);
    const inf = hist.filter((s) => s.name === 'switchboard_request_duration_seconds_bucket' &&
                                   s.labels.model === MIXTRAL && s.labels.le === '+Inf');
    assert.ok(inf.length >= 1, 'a +Inf bucket for the model');
    assert.equal(inf.reduce((n, s) => n + s.value, 0), 2);
    const sum = hist.filter((s) => s.name === 'switchboard_request_duration_seconds_sum' && s.labels.model === MIXTRAL);
    assert.ok(sum.every((s) => s.value > 0));
    // Buckets are cumulative: non-decreasing in le within one series.
    const series = hist.filter((s) => s.name === 'switchboard_request_duration_seconds_bucket' &&
                                      s.labels.model === GPT4);
    const values = series.map((s) => s.value);
    assert.deepEqual([...values].sort((x, y) => x - y), values, 'cumulative buckets');

    const cost = samples.filter((s) => s.name === 'switchboard_cost_usd_total' && s.labels.model === GPT4);
    assert.ok(cost.length === 1 && cost[0].value > 0, 'cost counter for the model');
    const tokens = samples.filter((s) => s.name === 'switchboard_tokens_total' && s.labels.model === MIXTRAL);
    assert.ok(tokens.some((s) => s.labels.kind === 'completion' && s.value > 0));
  });

  test('GET /metrics: requests and errors are counted per client API', async () => {
    const p = demoPrompt(MIXTRAL, 1);
    const post = (path, body) => fetch(`${gw.base}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const responses = await post('/v1/responses', { model: 'auto', input: p.prompt });
    assert.equal(responses.status, 200, await responses.text());
    const messages = await post('/v1/messages', {
      model: 'auto', max_tokens: 64, messages: [{ role: 'user', content: p.prompt }],
    });
    assert.equal(messages.status, 200, await messages.text());
    const bad = await post('/v1/messages', { model: 'auto', messages: 'not a list' });
    assert.equal(bad.status, 400, await bad.text());

    // A request is counted once its answer is out: a scrape right after it may come first (a slow
    // ASan run did), so the counts are read until they are all there.
    const check = async () => {
      const samples = parseMetrics(await (await fetch(`${gw.base}/metrics`)).text());
      const count = (name, pred) => samples.filter((s) => s.name === name && pred(s.labels))
        .reduce((n, s) => n + s.value, 0);
      const requests = (pred) => count('switchboard_requests_total', pred);
      assert.equal(requests((l) => l.api === 'responses' && l.route === 'auto' && l.status === '200'), 1);
      assert.equal(requests((l) => l.api === 'messages' && l.route === 'auto' && l.status === '200'), 1);
      assert.equal(requests((l) => l.api === 'messages' && l.status === '400'), 1);
      assert.equal(requests((l) => l.api === 'chat'), 4, 'the chat requests of the test before');
      assert.equal(count('switchboard_request_errors_total', (l) => l.api === 'messages'), 1);
      assert.equal(count('switchboard_request_errors_total', (l) => l.api === 'responses'), 0);
      return true;
    };
    await eventually(check, 5000 * SLOWDOWN, 'the counts of the three requests');
  });
});
