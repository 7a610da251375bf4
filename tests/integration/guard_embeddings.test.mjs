// The guard's pii check on POST /v1/embeddings (docs/guard.md): the inputs go to a third party like
// a prompt does, so a route that redacts sends placeholders (and the vectors come back as the
// upstream made them, of the redacted text), a route that blocks refuses with 400 pii_blocked and
// the upstream never sees the request, clean inputs pass unchanged, and the record names kinds,
// never values. Before session 26 embeddings were not guarded at all.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, getDecision, fakeUpstream, expectErrorShape,
} from './lib/harness.mjs';
import { postJson } from './lib/post.mjs';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';

describe('guard on embeddings', () => {
  let gw;
  let embed;
  before(async () => {
    // Answers each input with a one-number vector (its length): what it saw is in `requests`.
    embed = await fakeUpstream((req, res, body) => {
      const j = JSON.parse(body);
      const inputs = Array.isArray(j.input) ? j.input : [j.input];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        object: 'list', model: j.model,
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: [t.length] })),
        usage: { prompt_tokens: 3, total_tokens: 3 },
      }));
    });
    gw = await startGateway({
      models: [model('embedder', embed.url)],
      routes: [
        { name: 'embed-redact', policy: { type: 'static', model: 'embedder' },
          guard: { pii: { default: 'redact', restore: true } } },
        { name: 'embed-block', policy: { type: 'static', model: 'embedder' },
          guard: { pii: { default: 'allow', card: 'block' } } },
        { name: 'embed-open', policy: { type: 'static', model: 'embedder' } },
        { name: 'embed-off', policy: { type: 'static', model: 'embedder' },
          guard: { pii: { default: 'block', embeddings: false } } },
      ],
    });
  });
  after(stopAll);

  const seen = () => JSON.parse(embed.requests.at(-1).body);

  test('a redacting route sends placeholders, never the values; the record names kinds only', async () => {
    const input = [`write to ${EMAIL} today`, 'nothing personal here', `again ${EMAIL}`];
    const r = await postJson(gw.base, '/v1/embeddings', { model: 'embed-redact', input });
    assert.equal(r.status, 200, r.text);
    const sent = seen();
    assert.equal(sent.model, 'embedder');
    assert.deepEqual(sent.input, ['write to [EMAIL_1] today', 'nothing personal here', 'again [EMAIL_1]']);
    assert.ok(!embed.requests.at(-1).body.includes(EMAIL));
    // The vectors are the upstream's, of what it was sent (restore does not apply to vectors).
    assert.deepEqual(r.json.data.map((d) => d.embedding[0]), sent.input.map((t) => t.length));
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    const pii = d.guard.find((c) => c.check === 'pii');
    assert.equal(pii.verdict, 'redact');
    assert.deepEqual(pii.kinds, { email: 2 });
    assert.ok(!JSON.stringify(d).includes(EMAIL), 'the record holds no value');
  });

  test('a blocking route refuses with 400 pii_blocked; the upstream never sees it', async () => {
    const before = embed.requests.length;
    const r = await postJson(gw.base, '/v1/embeddings', { model: 'embed-block', input: `card ${CARD}` });
    assert.equal(r.status, 400, r.text);
    const e = expectErrorShape(assert, r.json, 'pii_blocked');
    assert.match(e.message, /card/);
    assert.ok(!r.text.includes(CARD));
    assert.equal(embed.requests.length, before);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.status, 400);
    assert.equal(d.guard.find((c) => c.check === 'pii').verdict, 'block');
    assert.deepEqual(d.guard.find((c) => c.check === 'pii').kinds, { card: 1 });
    // A kind the route allows passes unchanged.
    const ok = await postJson(gw.base, '/v1/embeddings', { model: 'embed-block', input: `mail ${EMAIL}` });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(seen().input, `mail ${EMAIL}`);
  });

  test('an unguarded route, or one with pii.embeddings false, passes the inputs as sent', async () => {
    for (const route of ['embed-open', 'embed-off']) {
      const r = await postJson(gw.base, '/v1/embeddings', { model: route, input: [`card ${CARD}`] });
      assert.equal(r.status, 200, `${route}: ${r.text}`);
      assert.deepEqual(seen().input, [`card ${CARD}`]);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      assert.ok(!(d.guard ?? []).length, JSON.stringify(d.guard));
    }
  });
});
