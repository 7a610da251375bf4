// Chat-completions clients and replicas whose error bodies are not OpenAI's: an HTML page, vLLM's,
// FastAPI's, a bare string — each reaches the client as an OpenAI error object with the upstream's
// message (the openai SDK reads it), an OpenAI-shaped body passes unchanged, and the decision
// record keeps the upstream's status.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, model, stopAll, getDecision, fakeUpstream } from './lib/harness.mjs';
import { postJson } from './lib/post.mjs';
import { FOREIGN_ERRORS, FOREIGN_ERRORS_WRAPPED, assertWrapped } from './lib/foreign_errors.mjs';

const OPENAI_BODY = JSON.stringify({
  error: { message: 'This model does not exist', type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
});
// Each model is one error of the fake chat replica.
const ERRORS = {
  ...FOREIGN_ERRORS,
  'openai-404': [404, 'application/json', OPENAI_BODY],
  // OpenAI's shape with a key of its own beside `error`: still OpenAI's, unchanged.
  'openai-extra-400': [400, 'application/json', JSON.stringify({ error: { message: 'context too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' }, request_id: 'req_1' })],
  // An error object without a message: its type, code and param are kept.
  'nomessage-429': [429, 'application/json', JSON.stringify({ error: { type: 'tokens', code: 'rate_limit_exceeded', param: 'x' } })],
};

describe('chat clients and upstream error bodies', () => {
  let gw;
  let openai;
  before(async () => {
    const fake = await fakeUpstream((req, res, body) => {
      const [status, type, text] = ERRORS[JSON.parse(body).model];
      res.writeHead(status, { 'content-type': type });
      res.end(text);
    });
    // A chat replica that is down, and an Anthropic one (it takes no n > 1).
    const anthropic = await fakeUpstream((req, res) => { res.writeHead(500); res.end(); });
    gw = await startGateway({
      models: [
        ...Object.keys(ERRORS).map((m) => model(m, fake.url)),
        model('down', 'http://127.0.0.1:1', { retry: { max_attempts: 1 } }),
        model('claude-only', [{ url: anthropic.url, api: 'anthropic' }]),
      ],
      routes: [
        { name: 'down-then-claude', policy: { type: 'static', model: 'down', fallbacks: ['claude-only'] } },
      ],
    });
    openai = new OpenAI({ apiKey: 'x', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  test("bodies not in OpenAI's shape come as OpenAI errors, the message and status kept", async () => {
    const ask = (name, stream) => ({ model: name, messages: [{ role: 'user', content: 'hi' }], stream });
    for (const [name, [status, message, type]] of Object.entries(FOREIGN_ERRORS_WRAPPED)) {
      for (const stream of [false, true]) {
        const r = await postJson(gw.base, '/v1/chat/completions', ask(name, stream));
        assertWrapped(assert, r, name);
        const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
        assert.equal(d.status, status, name);
        assert.equal(d.error.code, `upstream_status_${status}`);
      }
      // The openai SDK reads it as an API error with that message.
      await assert.rejects(openai.chat.completions.create(ask(name, false)),
        (e) => e.status === status && message.test(e.error?.message ?? ''), name);
    }
  });

  test('an OpenAI error body passes unchanged, other top-level keys too; one without a message keeps its code', async () => {
    const ask = (name) => postJson(gw.base, '/v1/chat/completions', { model: name, messages: [{ role: 'user', content: 'hi' }] });
    let r = await ask('openai-404');
    assert.equal(r.status, 404);
    assert.equal(r.text, OPENAI_BODY);
    r = await ask('openai-extra-400');
    assert.equal(r.text, ERRORS['openai-extra-400'][2]);
    await assert.rejects(openai.chat.completions.create({ model: 'openai-extra-400', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e.status === 400 && e.code === 'context_length_exceeded' && e.param === 'messages');
    r = await ask('nomessage-429');
    assert.equal(r.status, 429);
    assert.deepEqual({ type: r.json.error.type, code: r.json.error.code, param: r.json.error.param },
      { type: 'tokens', code: 'rate_limit_exceeded', param: 'x' });
    assert.equal(typeof r.json.error.message, 'string');
  });

  test('no replica of the model takes the request: 400 api_mismatch, unless an earlier model was sent it and failed', async () => {
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'claude-only', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'api_mismatch');
    let d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'client_error');
    // The route's first model was down: its 502, not the fallback's refusal (which the SDKs would
    // not retry).
    const f = await postJson(gw.base, '/v1/chat/completions', { model: 'down-then-claude', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(f.status, 502, f.text);
    assert.equal(f.json.error.code, 'upstream_unreachable');
    d = await getDecision(gw.base, f.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => a.result), ['upstream_unreachable', 'api_mismatch']);
  });

  test('errors name a replica by its position (or name), never its address; the record keeps the address', async () => {
    const r = await postJson(gw.base, '/v1/chat/completions', { model: 'down', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error.message, /^connecting to replica #1 of down: /);
    assert.equal(r.headers.get('x-switchboard-replica'), '#1');  // the replica tried, on errors too
    const m = await postJson(gw.base, '/v1/chat/completions', { model: 'claude-only', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.match(m.json.error.message, /^replica #1 of claude-only \(anthropic API\): n other than 1/);
    for (const e of [r, m]) assert.doesNotMatch(e.text, /127\.0\.0\.1/);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => a.replica), ['127.0.0.1:1']);
  });
});
