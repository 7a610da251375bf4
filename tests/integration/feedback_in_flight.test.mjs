// Feedback and record lookups for a decision whose record is not written yet (docs/online.md): the
// client has the decision id from the first byte of the answer, so `POST /v1/feedback` and
// `GET /v1/decisions/{id}` may arrive while the answer still streams, or the moment its last byte
// did. The gateway waits for the record instead of answering 404 — but with API keys only for
// the key that made the request: another key's in-flight id is a 404 at once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, fakeUpstream, chunkEvent, completionJson,
  sleep, SseParser, eventually,
} from './lib/harness.mjs';
import { createKey, bearer } from './lib/keys.mjs';

const SLOW = 'slow-model';

// A fake upstream that answers a whole completion at once, and a stream with what `pieces(res)`
// writes, then its end.
function streamingUpstream(pieces) {
  return fakeUpstream(async (req, res, body) => {
    if (!JSON.parse(body).stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(SLOW, 'at once'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    await pieces(res);
    res.write(chunkEvent(SLOW, null, 'stop'));
    res.end('data: [DONE]\n\n');
  });
}

async function postFeedback(base, body) {
  const res = await fetch(`${base}/v1/feedback`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('feedback for a decision still being answered', () => {
  let gw;
  before(async () => {
    // Streams four chunks 200 ms apart.
    const upstream = await streamingUpstream(async (res) => {
      for (const piece of ['one ', 'two ', 'three ', 'four']) {
        res.write(chunkEvent(SLOW, piece));
        await sleep(200);
      }
    });
    gw = await startGateway({
      models: [model(SLOW, upstream.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: SLOW } }],
    });
  });
  after(stopAll);

  test('feedback and the record asked for mid-stream are answered once the stream ended', async () => {
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('auto', 'count to four', { stream: true })),
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-switchboard-decision');
    // Sent before reading any of the stream: the answer has ~800 ms to go.
    const rated = postFeedback(gw.base, { decision_id: id, score: 1 });
    const record = fetch(`${gw.base}/v1/decisions/${id}`).then(async (r) => ({ status: r.status, json: await r.json() }));
    let text = '';
    const parser = new SseParser((data) => {
      if (data !== '[DONE]') text += JSON.parse(data).choices[0]?.delta?.content ?? '';
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
    assert.equal(text, 'one two three four');
    const fb = await rated;
    assert.equal(fb.status, 200, JSON.stringify(fb.json));
    assert.equal(fb.json.model, SLOW);
    const rec = await record;
    assert.equal(rec.status, 200, JSON.stringify(rec.json));
    assert.equal(rec.json.id, id);
    assert.equal(rec.json.outcome, 'ok');
  });

  test('feedback sent the moment an answer arrived is never a 404', async () => {
    for (let i = 0; i < 20; ++i) {
      const r = await postChat(gw.base, chatBody('auto', `question ${i}`));
      assert.equal(r.status, 200, r.text);
      const fb = await postFeedback(gw.base, { decision_id: r.headers.get('x-switchboard-decision'), score: 0.5 });
      assert.equal(fb.status, 200, `request ${i}: ${JSON.stringify(fb.json)}`);
    }
  });

  test('an unknown id is still a prompt 404', async () => {
    const t0 = Date.now();
    const r = await postFeedback(gw.base, { decision_id: 'dec_000000000000000000000000', score: 1 });
    assert.equal(r.status, 404);
    assert.ok(Date.now() - t0 < 2000, 'no wait for a decision that is not in flight');
  });
});

describe('another key\'s decision in flight', () => {
  let gw;
  let alice;
  let bob;
  let streamEnded = false;
  before(async () => {
    // Streams one chunk, holds the stream 3 s, then ends it.
    const upstream = await streamingUpstream(async (res) => {
      res.write(chunkEvent(SLOW, 'held '));
      await sleep(3000);
      streamEnded = true;
    });
    gw = await startGateway({
      models: [model(SLOW, upstream.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: SLOW } }],
      extraConfig: { auth: { required: true, reload_ms: 100 } },
    });
    alice = createKey(gw.sqlite, 'alice').secret;
    bob = createKey(gw.sqlite, 'bob').secret;
    await eventually(async () => (await postChat(gw.base, chatBody('auto', 'hi'), { headers: bearer(bob) })).status === 200);
  });
  after(stopAll);

  test('is 404 at once to another key, not after the stream; its owner gets it once recorded', async () => {
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(alice) },
      body: JSON.stringify(chatBody('auto', 'hold on', { stream: true })),
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-switchboard-decision');
    const owners = fetch(`${gw.base}/v1/decisions/${id}`, { headers: bearer(alice) })
      .then(async (r) => ({ status: r.status, json: await r.json(), ended: streamEnded }));
    const record = await fetch(`${gw.base}/v1/decisions/${id}`, { headers: bearer(bob) });
    assert.equal(record.status, 404);
    const rated = await fetch(`${gw.base}/v1/feedback`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(bob) },
      body: JSON.stringify({ decision_id: id, score: 0 }),
    });
    assert.equal(rated.status, 404);
    assert.equal(streamEnded, false, 'answered while alice\'s answer was still streaming');
    await res.text();
    const own = await owners;
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.equal(own.ended, true, 'the owner waited for the record');
    assert.equal(own.json.key.name, 'alice');
  });
});

describe('keys optional: a decision in flight of an unknown key', () => {
  let gw;
  let streamEnded = false;
  before(async () => {
    const upstream = await streamingUpstream(async (res) => {
      res.write(chunkEvent(SLOW, 'held '));
      await sleep(1500);
      streamEnded = true;
    });
    gw = await startGateway({
      models: [model(SLOW, upstream.url)],
      routes: [{ name: 'auto', policy: { type: 'static', model: SLOW } }],
      extraConfig: { auth: { required: false, reload_ms: 100 } },
    });
  });
  after(stopAll);

  test('is waited for by a key-less caller, as the anonymous decision it is', async () => {
    // An unknown key where keys are optional is served as the anonymous owner.
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer('sk-sb-not-a-key') },
      body: JSON.stringify(chatBody('auto', 'hold on', { stream: true })),
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-switchboard-decision');
    const record = await fetch(`${gw.base}/v1/decisions/${id}`);
    const json = await record.json();
    assert.equal(record.status, 200, JSON.stringify(json));
    assert.equal(streamEnded, true, 'the key-less caller waited for the record');
    assert.equal(json.key, null);
    await res.text();
  });
});
