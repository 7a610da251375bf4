// A fake reasoning model behind a chat-completions server (fakes are for upstream LLMs only), the
// way vLLM's reasoning parsers, DeepSeek and SGLang send one: its reasoning in the message's (or
// each delta's) `reasoning_content`, then the answer "answer to: <last message>". Plain or
// streamed (the reasoning in two pieces, then the answer in two); usage with cached-prompt and
// reasoning token details. `requests` keeps what reached it.
import { fakeUpstream } from './harness.mjs';

export const REASONING_MODEL = 'reasoning-model';
export const REASONING = 'The user asked something; answer plainly.';
export const REASONING_USAGE = {
  prompt_tokens: 20, completion_tokens: 15, total_tokens: 35,
  prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 9 },
};

const head = { id: 'chatcmpl-reason', created: 1700000000, model: REASONING_MODEL };
const chunk = (delta, finish = null) => `data: ${JSON.stringify({
  ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }],
})}\n\n`;

export async function reasoningUpstream() {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    const last = j.messages.at(-1);
    const text = `answer to: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}`;
    if (!j.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        ...head, object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text, reasoning_content: REASONING },
          finish_reason: 'stop' }],
        usage: REASONING_USAGE,
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: '' }));
    res.write(chunk({ reasoning_content: REASONING.slice(0, 10) }));
    res.write(chunk({ reasoning_content: REASONING.slice(10) }));
    const half = Math.ceil(text.length / 2);
    res.write(chunk({ content: text.slice(0, half) }));
    res.write(chunk({ content: text.slice(half) }));
    res.write(chunk({}, 'stop'));
    if (j.stream_options?.include_usage)
      res.write(`data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [], usage: REASONING_USAGE })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
}
