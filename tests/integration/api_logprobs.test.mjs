// Token logprobs across the API translations, with the official openai client:
// - a Responses client (`include: ["message.output_text.logprobs"]`, `top_logprobs`) served by a
//   chat-completions replica gets them on its output_text, whole and on each text delta;
// - a chat client (`logprobs`, `top_logprobs`) served by an `api: responses` replica gets the
//   replica's output_text logprobs as choices[0].logprobs.content, whole and per chunk.
// The fake replicas return logprobs only when asked, one entry per word of a fixed answer.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, model, stopAll, fakeUpstream } from './lib/harness.mjs';

const WORDS = ['The ', 'answer ', 'is ', 'four.'];
const TEXT = WORDS.join('');
const entry = (token, i, top) => ({
  token, logprob: -0.1 * (i + 1), bytes: [...Buffer.from(token)],
  top_logprobs: Array.from({ length: top }, (_, k) => ({ token: k ? `alt${k}` : token, logprob: -0.1 * (i + 1) - k, bytes: null })),
});
const entries = (top) => WORDS.map((w, i) => entry(w, i, top));

// A chat-completions replica: logprobs when the body asks for them.
function chatAnswer(res, body) {
  const req = JSON.parse(body);
  const top = req.top_logprobs ?? 0;
  const lp = req.logprobs ? entries(top) : null;
  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-lp', object: 'chat.completion', created: 1, model: 'lp',
      choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop',
        logprobs: lp ? { content: lp, refusal: null } : null }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta, i, finish = null) => `data: ${JSON.stringify({ id: 'chatcmpl-lp', object: 'chat.completion.chunk',
    created: 1, model: 'lp', choices: [{ index: 0, delta, finish_reason: finish,
      logprobs: lp && i !== undefined ? { content: [lp[i]], refusal: null } : null }] })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }));
  WORDS.forEach((w, i) => res.write(chunk({ content: w }, i)));
  res.write(chunk({}, undefined, 'stop'));
  res.write(`data: ${JSON.stringify({ id: 'chatcmpl-lp', object: 'chat.completion.chunk', created: 1, model: 'lp',
    choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } })}\n\n`);
  res.end('data: [DONE]\n\n');
}

// A Responses replica: output_text logprobs when `include` asks for them.
function responsesAnswer(res, body) {
  const req = JSON.parse(body);
  const asked = (req.include ?? []).includes('message.output_text.logprobs');
  const lp = asked ? entries(req.top_logprobs ?? 0) : [];
  const usage = { input_tokens: 5, output_tokens: 4, total_tokens: 9 };
  const response = (status) => ({ id: 'resp_lp', object: 'response', created_at: 1, model: 'resp-lp', status,
    output: status === 'completed' ? [{ type: 'message', id: 'msg_lp', status: 'completed', role: 'assistant',
      content: [{ type: 'output_text', text: TEXT, annotations: [], logprobs: lp }] }] : [], usage });
  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(response('completed')));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let seq = 0;
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  ev('response.created', { response: response('in_progress') });
  WORDS.forEach((w, i) => ev('response.output_text.delta', { item_id: 'msg_lp', output_index: 0, content_index: 0,
    delta: w, logprobs: asked ? [lp[i]] : [] }));
  ev('response.completed', { response: response('completed') });
  res.end();
}

describe('token logprobs through the Responses translations', () => {
  let gw;
  let chatUp;
  let respUp;
  let openai;
  before(async () => {
    chatUp = await fakeUpstream((req, res, body) => chatAnswer(res, body));
    respUp = await fakeUpstream((req, res, body) => responsesAnswer(res, body));
    gw = await startGateway({
      models: [
        model('chat-lp', chatUp.url),
        model('resp-lp', [{ url: respUp.url, api: 'responses' }]),
      ],
      routes: [
        { name: 'chat', policy: { type: 'static', model: 'chat-lp' } },
        { name: 'resp', policy: { type: 'static', model: 'resp-lp' } },
      ],
    });
    openai = new OpenAI({ apiKey: 'test-key', baseURL: `${gw.base}/v1`, maxRetries: 0 });
  });
  after(stopAll);

  const lastBody = (up) => JSON.parse(up.requests.at(-1).body);

  test('a Responses client asking include logprobs gets them on output_text, whole', async () => {
    const r = await openai.responses.create({ model: 'chat', input: 'What is 2+2?',
      include: ['message.output_text.logprobs'], top_logprobs: 2 });
    assert.equal(r.output_text, TEXT);
    const sent = lastBody(chatUp);
    assert.equal(sent.logprobs, true);
    assert.equal(sent.top_logprobs, 2);
    const lp = r.output[0].content[0].logprobs;
    assert.deepEqual(lp.map((e) => e.token), WORDS);
    assert.equal(lp[1].top_logprobs.length, 2);
    assert.equal(lp[1].logprob, -0.2);

    const plain = await openai.responses.create({ model: 'chat', input: 'What is 2+2?' });
    assert.equal(lastBody(chatUp).logprobs, undefined, 'not asked upstream unless the client asked');
    assert.deepEqual(plain.output[0].content[0].logprobs, []);
  });

  test('a streaming Responses client gets each delta\'s logprobs and all of them at the end', async () => {
    const stream = await openai.responses.create({ model: 'chat', input: 'What is 2+2?', stream: true,
      include: ['message.output_text.logprobs'] });
    const deltas = [];
    let done;
    let completed;
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') deltas.push(ev);
      if (ev.type === 'response.output_text.done') done = ev;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert.equal(deltas.length, WORDS.length);
    for (const d of deltas) assert.equal(d.logprobs.map((e) => e.token).join(''), d.delta);
    assert.deepEqual(done.logprobs.map((e) => e.token), WORDS);
    assert.deepEqual(completed.output[0].content[0].logprobs.map((e) => e.token), WORDS);
  });

  test('a chat client asking logprobs of an api: responses replica gets its output_text logprobs', async () => {
    const c = await openai.chat.completions.create({ model: 'resp', logprobs: true, top_logprobs: 1,
      messages: [{ role: 'user', content: 'What is 2+2?' }] });
    const sent = lastBody(respUp);
    assert.deepEqual(sent.include, ['message.output_text.logprobs']);
    assert.equal(sent.top_logprobs, 1);
    assert.equal(c.choices[0].message.content, TEXT);
    assert.deepEqual(c.choices[0].logprobs.content.map((e) => e.token), WORDS);
    assert.equal(c.choices[0].logprobs.content[0].top_logprobs.length, 1);

    const stream = await openai.chat.completions.create({ model: 'resp', logprobs: true, stream: true,
      messages: [{ role: 'user', content: 'What is 2+2?' }] });
    const tokens = [];
    let text = '';
    for await (const ch of stream) {
      const choice = ch.choices[0];
      if (!choice) continue;
      text += choice.delta?.content ?? '';
      for (const e of choice.logprobs?.content ?? []) tokens.push(e.token);
    }
    assert.equal(text, TEXT);
    assert.deepEqual(tokens, WORDS);
  });
});
