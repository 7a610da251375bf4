// A model with `reasoning: auto` (the default) whose replica refuses a chat client's reasoning
// setting with a 400 naming it — an OpenAI model without reasoning refusing `reasoning_effort`, a
// Claude model without extended thinking refusing the `thinking` it was translated to — is asked
// again at once without it, and sent none from then on; the record says so. A 400 about anything
// else reaches the client as it is.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, postChat, streamChat, getDecision, fakeUpstream, completionJson,
  chunkEvent, chatBody,
} from './lib/harness.mjs';

const error400 = (res, body) => {
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

// A chat replica that refuses reasoning_effort, and max_tokens above 1000.
function chatWithoutReasoning(name) {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    if (j.reasoning_effort !== undefined) {
      return error400(res, { error: { message: `Unrecognized request argument supplied: reasoning_effort`, type: 'invalid_request_error', param: null, code: null } });
    }
    if (j.max_tokens > 1000) {
      return error400(res, { error: { message: 'max_tokens is too large: 5000', type: 'invalid_request_error', param: 'max_tokens', code: null } });
    }
    if (j.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkEvent(name, 'plain answer'));
      res.write(chunkEvent(name, null, 'stop'));
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(completionJson(name, 'plain answer'));
  });
}

// A chat replica of a model that reasons: it takes reasoning_effort, but not 'minimal', and
// refuses max_tokens above 1000.
function chatThatReasons(name) {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    if (j.reasoning_effort === 'minimal') {
      return error400(res, { error: { message: "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: 'low', 'medium', and 'high'.", type: 'invalid_request_error', param: 'reasoning_effort', code: 'unsupported_value' } });
    }
    if (j.max_tokens > 1000) {
      return error400(res, { error: { message: 'max_tokens is too large: 5000', type: 'invalid_request_error', param: 'max_tokens', code: null } });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(completionJson(name, `reasoned at ${j.reasoning_effort}`));
  });
}

// An Anthropic replica of a model without extended thinking.
function claudeWithoutThinking() {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    if (j.thinking) {
      return error400(res, { type: 'error', error: { type: 'invalid_request_error', message: 'thinking: extended thinking is not supported by this model' } });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'msg_1', type: 'message', role: 'assistant', model: j.model, content: [{ type: 'text', text: 'claude answer' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 2 },
    }));
  });
}

describe('a reasoning setting the model refuses', () => {
  let gw;
  let chat;
  let streamed;
  let claude;
  let burst;
  let reasons;
  before(async () => {
    [chat, streamed, claude, burst, reasons] = await Promise.all([
      chatWithoutReasoning('plain-chat'), chatWithoutReasoning('plain-stream'), claudeWithoutThinking(),
      chatWithoutReasoning('plain-burst'), chatThatReasons('reasoner')]);
    gw = await startGateway({
      models: [
        model('plain-chat', chat.url),
        model('plain-stream', streamed.url),
        model('old-claude', [{ url: claude.url, api: 'anthropic' }]),
        model('plain-burst', burst.url),
        model('reasoner', reasons.url),
      ],
      routes: [
        { name: 'chat', policy: { type: 'static', model: 'plain-chat' } },
        { name: 'stream', policy: { type: 'static', model: 'plain-stream' } },
        { name: 'claude', policy: { type: 'static', model: 'old-claude' } },
        { name: 'burst', policy: { type: 'static', model: 'plain-burst' } },
        { name: 'reasons', policy: { type: 'static', model: 'reasoner' } },
      ],
    });
  });
  after(stopAll);

  const sentBodies = (upstream, from) => upstream.requests.slice(from).map((r) => JSON.parse(r.body));

  test('is asked again without it, and never sent it again', async () => {
    const n0 = chat.requests.length;
    const r = await postChat(gw.base, chatBody('chat', 'think hard', { reasoning_effort: 'high' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'plain answer');
    const sent = sentBodies(chat, n0);
    assert.equal(sent.length, 2);
    assert.equal(sent[0].reasoning_effort, 'high');
    assert.equal(sent[1].reasoning_effort, undefined);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.attempts.map((a) => a.result), ['reasoning_refused', 'ok']);
    assert.match(d.reason, /plain-chat refused the reasoning setting: sent without it/);
    // Learned: the next request goes once, without it.
    const n1 = chat.requests.length;
    const again = await postChat(gw.base, chatBody('chat', 'think again', { reasoning_effort: 'low' }));
    assert.equal(again.status, 200);
    const next = sentBodies(chat, n1);
    assert.equal(next.length, 1);
    assert.equal(next[0].reasoning_effort, undefined);
    // Counted once, for the refused call only.
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    assert.match(metrics, /^switchboard_reasoning_refused_total\{model="plain-chat"\} 1$/m);
  });

  test('a streamed request: the refusal is read and the stream comes from the second call', async () => {
    const s = await streamChat(gw.base, chatBody('stream', 'stream it', { reasoning_effort: 'medium' }));
    assert.equal(s.status, 200);
    assert.equal(s.text, 'plain answer');
    assert.equal(streamed.requests.length, 2);
  });

  test('requests sent before the model learned it are asked again too', async () => {
    const all = await Promise.all([0, 1, 2, 3].map((i) =>
      postChat(gw.base, chatBody('burst', `at once ${i}`, { reasoning_effort: 'low' }))));
    for (const r of all) assert.equal(r.status, 200, r.text);
  });

  test('a 400 about something else, or about an effort value, reaches the client as it is; nothing is learned', async () => {
    const n0 = reasons.requests.length;
    const big = await postChat(gw.base, chatBody('reasons', 'long', { max_tokens: 5000, reasoning_effort: 'low' }));
    assert.equal(big.status, 400);
    assert.match(big.json.error.message, /max_tokens is too large/);
    const minimal = await postChat(gw.base, chatBody('reasons', 'tiny', { reasoning_effort: 'minimal' }));
    assert.equal(minimal.status, 400);
    assert.match(minimal.json.error.message, /does not support 'minimal'/);
    assert.equal(reasons.requests.length - n0, 2, 'neither was asked again');
    const ok = await postChat(gw.base, chatBody('reasons', 'fine', { reasoning_effort: 'high' }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.choices[0].message.content, 'reasoned at high', 'the model still gets its reasoning setting');
  });

  test('over Anthropic: the thinking reasoning_effort became is refused, then left out', async () => {
    const r = await postChat(gw.base, chatBody('claude', 'ponder', { reasoning_effort: 'low', max_tokens: 8000 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'claude answer');
    const sent = sentBodies(claude, 0);
    assert.equal(sent.length, 2);
    assert.ok(sent[0].thinking, 'thinking asked first');
    assert.equal(sent[1].thinking, undefined);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.attempts[0].result, 'reasoning_refused');
  });
});
