// A fake chat-completions upstream that uses tools (fakes are for upstream LLMs only): when the
// request offers tools and its last message is not a tool result, it calls the first tool with
// {"city":"Paris"}; otherwise it answers "answer to: <last message>". Plain or streamed (the tool
// call's arguments in two pieces; usage when stream_options.include_usage). `requests` keeps what
// reached it.
import { fakeUpstream } from './harness.mjs';

export const TOOL_MODEL = 'tool-model';

const chunk = (delta, finish = null) => `data: ${JSON.stringify({
  id: 'chatcmpl-tool', object: 'chat.completion.chunk', created: 1700000000, model: TOOL_MODEL,
  choices: [{ index: 0, delta, finish_reason: finish }],
})}\n\n`;

export async function toolUpstream() {
  return fakeUpstream((req, res, body) => {
    const j = JSON.parse(body);
    const last = j.messages.at(-1);
    const callTool = Array.isArray(j.tools) && j.tools.length > 0 && last.role !== 'tool';
    const name = callTool ? j.tools[0].function.name : null;
    const args = JSON.stringify({ city: 'Paris' });
    const text = `answer to: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}`;
    const usage = { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 };
    if (!j.stream) {
      const message = callTool
        ? { role: 'assistant', content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: args } }] }
        : { role: 'assistant', content: text };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-tool', object: 'chat.completion', created: 1700000000, model: TOOL_MODEL,
        choices: [{ index: 0, message, finish_reason: callTool ? 'tool_calls' : 'stop' }], usage,
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: callTool ? null : '' }));
    if (callTool) {
      res.write(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name, arguments: '' } }] }));
      res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 8) } }] }));
      res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(8) } }] }));
      res.write(chunk({}, 'tool_calls'));
    } else {
      const half = Math.ceil(text.length / 2);
      res.write(chunk({ content: text.slice(0, half) }));
      res.write(chunk({ content: text.slice(half) }));
      res.write(chunk({}, 'stop'));
    }
    if (j.stream_options?.include_usage) {
      res.write(`data: ${JSON.stringify({ id: 'chatcmpl-tool', object: 'chat.completion.chunk', created: 1700000000, model: TOOL_MODEL, choices: [], usage })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  });
}
