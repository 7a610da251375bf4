// What the gateway sends upstream and how it relays the answer, checked with tiny Node upstreams:
// the upstream_model rename, Authorization from api_key_env (and never the client's own key), the
// URL base path, unknown fields passed through, and streaming relayed chunk by chunk, not buffered.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway, model, stopAll, chatBody, postChat, streamChat, getDecision, fakeUpstream, completionJson,
  chunkEvent, withTimeout, sleep, waitOr,
} from './lib/harness.mjs';

const KEY = 'sk-test-0123456789abcdef';

describe('upstream wire details', () => {
  let up;
  let gw;
  // Streaming pass-through: the upstream sends one event, then waits until the client reports that
  // it has seen that event (or 5 s pass) before sending the rest.
  let clientSawFirst;
  let releaseRest;
  const streamLog = { releasedBy: null, releasedAt: 0 };

  before(async () => {
    up = await fakeUpstream(async (req, res, body) => {
      const parsed = JSON.parse(body);
      if (!parsed.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completionJson(parsed.model, `echo:${parsed.model}`));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(chunkEvent(parsed.model, 'first'));
      if (parsed.messages[0].content === 'wait-for-client') {
        const who = await waitOr(clientSawFirst.then(() => 'client'), 5000, 'timeout');
        streamLog.releasedBy = who;
        streamLog.releasedAt = performance.now();
      } else {
        await sleep(500);
      }
      for (const piece of [' second', ' third']) res.write(chunkEvent(parsed.model, piece));
      res.write(chunkEvent(parsed.model, null, 'stop'));
      res.end('data: [DONE]\n\n');
    });
    gw = await startGateway({
      env: { SB_IT_UPSTREAM_KEY: KEY },
      models: [
        model('renamed', { url: up.url, upstream_model: 'real/upstream-model', api_key_env: 'SB_IT_UPSTREAM_KEY' }),
        model('plain', { url: `${up.url}/v1`, name: 'plain-replica' }),
        model('prefixed', { url: `${up.url}/openai/` }),
      ],
      routes: [
        { name: 'to-plain', policy: { type: 'static', model: 'plain' } },
        { name: 'to-renamed', policy: { type: 'static', model: 'renamed' } },
      ],
    });
  });
  after(stopAll);

  test('upstream_model renames the model sent upstream; the client still sees the configured name', async () => {
    const body = {
      ...chatBody('renamed', 'hello'), temperature: 0.25, max_tokens: 17, user: 'u-1',
      some_vendor_extension: { nested: [1, 'two', null] },
    };
    const n = up.requests.length;
    const r = await postChat(gw.base, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(up.requests.length, n + 1);
    const sent = up.requests.at(-1);
    assert.equal(sent.method, 'POST');
    assert.equal(sent.url, '/v1/chat/completions');
    const got = JSON.parse(sent.body);
    assert.equal(got.model, 'real/upstream-model');
    assert.deepEqual({ ...got, model: body.model }, body, 'everything else is forwarded unchanged');
    assert.match(sent.headers['content-type'] ?? '', /application\/json/);
    assert.equal(r.json.choices[0].message.content, 'echo:real/upstream-model');
    assert.equal(r.headers.get('x-switchboard-model'), 'renamed');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.model, 'renamed');
    assert.deepEqual(d.usage, { prompt_tokens: 5, completion_tokens: 7, source: 'upstream' });
  });

  test('a route name is replaced upstream by the chosen model (or its upstream_model)', async () => {
    const a = await postChat(gw.base, chatBody('to-plain', 'hi'));
    assert.equal(a.status, 200, a.text);
    assert.equal(JSON.parse(up.requests.at(-1).body).model, 'plain');
    const b = await postChat(gw.base, chatBody('to-renamed', 'hi'));
    assert.equal(b.status, 200, b.text);
    assert.equal(JSON.parse(up.requests.at(-1).body).model, 'real/upstream-model');
    assert.equal(up.requests.at(-1).headers.authorization, `Bearer ${KEY}`);
  });

  test('Authorization comes from api_key_env; the client key is never forwarded', async () => {
    await postChat(gw.base, chatBody('renamed', 'hi'), { headers: { authorization: 'Bearer client-secret' } });
    assert.equal(up.requests.at(-1).headers.authorization, `Bearer ${KEY}`);

    const r = await postChat(gw.base, chatBody('plain', 'hi'), { headers: { authorization: 'Bearer client-secret' } });
    assert.equal(r.status, 200, r.text);
    const sent = up.requests.at(-1);
    assert.equal(sent.headers.authorization, undefined, 'no Authorization without api_key_env');
    assert.equal(JSON.parse(sent.body).model, 'plain', 'no rename without upstream_model');
    assert.equal(r.headers.get('x-switchboard-replica'), 'plain-replica');
  });

  test('the replica URL path: "/v1" is implied, another prefix is kept', async () => {
    await postChat(gw.base, chatBody('plain', 'hi'));
    assert.equal(up.requests.at(-1).url, '/v1/chat/completions');
    const r = await postChat(gw.base, chatBody('prefixed', 'hi'));
    assert.equal(r.status, 200, r.text);
    assert.equal(up.requests.at(-1).url, '/openai/v1/chat/completions');
  });

  test('the rename also applies to streaming requests', async () => {
    const r = await streamChat(gw.base, chatBody('renamed', 'hi'));
    assert.equal(r.status, 200);
    const got = JSON.parse(up.requests.at(-1).body);
    assert.equal(got.model, 'real/upstream-model');
    assert.equal(got.stream, true);
    assert.equal(r.text, 'first second third');
    assert.equal(r.events.at(-1).data, '[DONE]');
  });

  test('streams are relayed chunk by chunk: the first event reaches the client before the rest exists', async () => {
    let sawFirst;
    clientSawFirst = new Promise((resolve) => { sawFirst = resolve; });
    let firstAt = 0;
    const r = await withTimeout(streamChat(gw.base, chatBody('plain', 'wait-for-client'), {
      onEvent: (ev) => {
        if (!firstAt && ev.json?.choices?.[0]?.delta?.content === 'first') {
          firstAt = performance.now();
          sawFirst();
        }
      },
    }), 20000, 'stream did not finish');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'first second third');
    assert.equal(r.events.at(-1).data, '[DONE]');
    assert.equal(streamLog.releasedBy, 'client',
                 'the upstream had to time out before the client saw the first event: the gateway buffers');
    assert.ok(firstAt > 0 && firstAt <= streamLog.releasedAt);
  });

  test('with a 500 ms pause upstream, the first event arrives well before the rest', async () => {
    const r = await streamChat(gw.base, chatBody('plain', 'pause'));
    assert.equal(r.status, 200);
    const content = r.events.filter((e) => e.json?.choices?.[0]?.delta?.content);
    assert.equal(content.length, 3);
    const gap = content[1].at - content[0].at;
    assert.ok(gap >= 300, `first and second events arrived ${gap} ms apart; the 500 ms pause was not visible`);
    assert.ok(r.reads >= 2, 'body arrived in more than one read');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.equal(d.usage.source, 'counted');
    assert.equal(d.usage.completion_tokens, 3);
  });
});

describe('an upstream that reports no usage', () => {
  let gw;
  before(async () => {
    const up = await fakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'w'.repeat(4000) }, finish_reason: 'stop' }] }));
    });
    gw = await startGateway({ models: [model('m', up.url, { price: { input_per_mtok: 1, output_per_mtok: 100 } })] });
  });
  after(stopAll);

  test('a whole answer\'s tokens are estimated from its text, and priced (keys\' budgets count them)', async () => {
    const r = await postChat(gw.base, chatBody('m', 'hello'));
    assert.equal(r.status, 200, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.usage.source, 'estimated');
    assert.equal(d.usage.completion_tokens, 1000); // 4,000 characters at 4 per token
    assert.ok(d.cost_usd >= 1000 * 100 / 1e6, `${d.cost_usd}`);
  });
});
