// The replay backend's drop fault cuts a stream where `cut` says: after a whole event (the
// default), in the middle of a data line, or inside a multi-byte UTF-8 character. Checked on the
// raw bytes the backend sends, and on what a client of the gateway sees: the executor closes the
// partial event (api::sse_closing_bytes()) before its error event, which is then an event of its own.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startReplay, startGateway, model, stopAll, demoPrompt, chatBody, streamChat, rawExchange, GPT4,
} from './lib/harness.mjs';

// POSTs a streaming chat request over a raw connection (Connection: close) and returns the body
// bytes with the chunked framing removed, and whether the body ended with its last chunk.
async function rawStream(port, body) {
  const json = JSON.stringify({ ...body, stream: true });
  const request = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
    `Connection: close\r\n\r\n${json}`;
  const r = await rawExchange(port, request);
  const raw = Buffer.from(r.text, 'latin1');
  let rest = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const parts = [];
  let complete = false;
  while (rest.length) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) break;
    const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
    if (size === 0) {
      complete = true;
      break;
    }
    const data = rest.subarray(eol + 2, eol + 2 + size);
    parts.push(data);
    if (data.length < size) break;
    rest = rest.subarray(eol + 2 + size + 2);
  }
  return { status: r.status, body: Buffer.concat(parts), complete };
}

const lastLine = (buf) => buf.subarray(buf.lastIndexOf(0x0a) + 1).toString('utf8');

describe('replay backend: where a dropped stream is cut', () => {
  let backend;
  let flagged;
  let gw;
  before(async () => {
    backend = await startReplay({ model: GPT4 });
    flagged = await startReplay({ model: GPT4, dropRate: 1, cut: 'utf8' });
    gw = await startGateway({ models: [model(GPT4, backend.url)] });
  });
  after(stopAll);

  const body = () => chatBody(GPT4, demoPrompt(GPT4, 1).prompt);

  test('cut=event (the default) ends after a whole event', async () => {
    const f = await backend.setFaults({ drop_rate: 1 });
    assert.equal(f.cut, 'event');
    const r = await rawStream(backend.port, body());
    assert.equal(r.status, 200);
    assert.equal(r.complete, false, 'the chunked body is cut short');
    assert.ok(r.body.toString('utf8').endsWith('\n\n'), 'ends on an event boundary');
  });

  test('cut=line ends in the middle of a data line', async () => {
    assert.equal((await backend.setFaults({ drop_rate: 1, cut: 'line' })).cut, 'line');
    const r = await rawStream(backend.port, body());
    assert.equal(r.complete, false);
    assert.notEqual(r.body.at(-1), 0x0a, 'no line ending at the end');
    const line = lastLine(r.body);
    assert.ok(line.startsWith('data: {'), `last line: ${line}`);
    assert.throws(() => JSON.parse(line.slice(6)), 'the cut line holds half a JSON object');
  });

  test('cut=utf8 ends inside a multi-byte character (the filler when the answer is ASCII)', async () => {
    await backend.setFaults({ drop_rate: 1, cut: 'utf8' });
    const r = await rawStream(backend.port, body());
    assert.equal(r.complete, false);
    assert.ok(r.body.at(-1) >= 0xc0, `last byte 0x${r.body.at(-1).toString(16)} is a UTF-8 lead byte`);
    assert.ok(lastLine(r.body).startsWith('data: {'));
    // The demo answers are ASCII, so the cut falls in the 'é' of "héllo ✓".
    assert.ok(r.body.subarray(-2).equals(Buffer.from([0x68, 0xc3])), 'cut after "h\\xC3"');
  });

  test('--cut on the command line sets the initial fault', async () => {
    const f = await flagged.setFaults({});
    assert.equal(f.cut, 'utf8');
    assert.equal(f.drop_rate, 1);
    const r = await rawStream(flagged.port, body());
    assert.ok(r.body.at(-1) >= 0xc0);
  });

  test('an unknown cut is refused and changes nothing', async () => {
    await backend.setFaults({ drop_rate: 0, cut: 'event' });
    const res = await fetch(`${backend.url}/admin/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"drop_rate":1,"cut":"byte"}',
    });
    assert.equal(res.status, 400);
    const f = await backend.setFaults({});
    assert.equal(f.cut, 'event');
    assert.equal(f.drop_rate, 0);
  });

  for (const cut of ['event', 'line', 'utf8']) {
    test(`through the gateway, cut=${cut}: the error event is an event of its own`, async () => {
      await backend.setFaults({ drop_rate: 1, cut });
      let r;
      try {
        r = await streamChat(gw.base, body());
      } finally {
        await backend.setFaults({ drop_rate: 0, cut: 'event' });
      }
      assert.equal(r.status, 200);
      assert.equal(r.trailing, '');
      assert.equal(r.events.at(-1)?.data, '[DONE]');
      assert.equal(r.events.at(-2)?.json?.error?.code, 'upstream_stream_broken', r.events.at(-2)?.data);
    });
  }
});
