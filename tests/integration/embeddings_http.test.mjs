// The `http` embedding provider (signals.embedding.provider: http, docs/signals.md) through the real
// gateway: a route that needs the embedding (here through the route's own `signals: [embedding]`)
// gets it from a fake OpenAI-compatible /v1/embeddings endpoint, L2-normalised, on both POST
// /v1/route and the chat path; routes that do not need it never call the endpoint; an endpoint that
// is down or too slow leaves the embedding empty, the request is still answered, and
// switchboard_embedding_requests_total counts the failure.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, getDecision, fakeUpstream, completionJson,
  closedPort, parseMetrics,
} from './lib/harness.mjs';

const DIM = 8;
// Deterministic: depends only on the input text.
const vectorFor = (text) => Array.from({ length: DIM }, (_, i) => ((text.length + i) % 5) + 1);

async function postRoute(base, body) {
  const res = await fetch(`${base}/v1/route`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function embeddingCount(base, result) {
  const res = await fetch(`${base}/metrics`);
  const rows = parseMetrics(await res.text())
    .filter((m) => m.name === 'switchboard_embedding_requests_total' && m.labels.result === result);
  return rows.reduce((s, m) => s + m.value, 0);
}

const ROUTES = [
  { name: 'emb', signals: ['embedding'], policy: { type: 'static', model: 'general' } },
  { name: 'plain', policy: { type: 'static', model: 'general' } },
];

async function startWith(upstreamUrl, embUrl, extra = {}) {
  return startGateway({
    models: [model('general', upstreamUrl)],
    routes: ROUTES,
    env: { SB_TEST_EMB_KEY: 'sekret' },
    extraConfig: {
      signals: {
        embedding: { provider: 'http', url: embUrl, model: 'fake-embed', api_key_env: 'SB_TEST_EMB_KEY', timeout_ms: 2000, ...extra },
      },
    },
  });
}

describe('http embedding provider', () => {
  let upstream;
  let emb;
  let gw;
  before(async () => {
    upstream = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson('general', 'hi'));
    });
    emb = await fakeUpstream((req, res, body) => {
      const j = JSON.parse(body);
      const inputs = Array.isArray(j.input) ? j.input : [j.input];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        object: 'list', model: j.model,
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: vectorFor(t) })),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }));
    });
    gw = await startWith(upstream.url, emb.url);
  });
  after(stopAll);

  test('POST /v1/route: the embedding reaches the signals', async () => {
    const r = await postRoute(gw.base, chatBody('emb', 'What is the capital of France?'));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.signals.embedding_dim, DIM);
    assert.doesNotMatch(r.json.reason, /no embedding/);
    const call = emb.requests.at(-1);
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/v1/embeddings');
    assert.equal(call.headers.authorization, 'Bearer sekret');
    const sent = JSON.parse(call.body);
    assert.equal(sent.model, 'fake-embed');
    assert.equal(typeof sent.input, 'string');
    assert.match(sent.input, /capital of France/);
    assert.ok(await embeddingCount(gw.base, 'ok') >= 1);
  });

  test('the chat path calls the endpoint once per request and answers', async () => {
    const before = emb.requests.length;
    const r = await postChat(gw.base, chatBody('emb', 'Tell me a joke about embeddings'));
    assert.equal(r.status, 200, r.text);
    assert.equal(emb.requests.length, before + 1);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.model, 'general');
    assert.doesNotMatch(d.reason, /no embedding/);
  });

  test('a route that does not need the embedding never calls the endpoint', async () => {
    const before = emb.requests.length;
    const r = await postChat(gw.base, chatBody('plain', 'hello'));
    assert.equal(r.status, 200, r.text);
    const route = await postRoute(gw.base, chatBody('general', 'hello'));
    assert.equal(route.status, 200);
    assert.equal(route.json.signals.embedding_dim, undefined);
    assert.equal(emb.requests.length, before);
  });
});

describe('http embedding provider down', () => {
  after(stopAll);

  test('unreachable: still answered, counted, noted in the reason', async () => {
    const upstream = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson('general', 'still here'));
    });
    const gw = await startWith(upstream.url, `http://127.0.0.1:${await closedPort()}`);
    const r = await postChat(gw.base, chatBody('emb', 'Is anyone there?'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'still here');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.match(d.reason, /no embedding \(upstream_unreachable\)/);
    const route = await postRoute(gw.base, chatBody('emb', 'Is anyone there?'));
    assert.equal(route.status, 200);
    assert.equal(route.json.signals.embedding_dim, undefined);
    assert.match(route.json.reason, /no embedding/);
    assert.equal(await embeddingCount(gw.base, 'upstream_unreachable'), 2);
  });

  test('too slow: timeout_ms bounds the wait', async () => {
    const upstream = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson('general', 'fast answer'));
    });
    const slow = await fakeUpstream(() => { /* never answers */ });
    const gw = await startWith(upstream.url, slow.url, { timeout_ms: 300 });
    const t0 = Date.now();
    const r = await postChat(gw.base, chatBody('emb', 'Quick!'));
    assert.equal(r.status, 200, r.text);
    assert.ok(Date.now() - t0 < 3000, 'answered soon after the embedding timeout');
    assert.equal(await embeddingCount(gw.base, 'upstream_timeout'), 1);
  });
});
