// A fake upstream for the cache tests: answers any question with "answer to: <last message>",
// plain or streamed in three pieces; `requests` counts what reached it.
import { fakeUpstream, completionJson, chunkEvent } from './harness.mjs';

export const FAKE = 'fake-model';

export async function echoUpstream() {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    const q = j.messages.at(-1).content;
    const text = `answer to: ${q}`;
    if (j.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const third = Math.ceil(text.length / 3);
      for (let i = 0; i < text.length; i += third) res.write(chunkEvent(FAKE, text.slice(i, i + third)));
      res.write(chunkEvent(FAKE, null, 'stop'));
      res.end('data: [DONE]\n\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson(FAKE, text));
    }
  });
}
