// A fake Anthropic-compatible upstream (fakes are for upstream LLMs only) for native pass-through:
// answers POST /v1/messages with a `message` ("native answer to: <last user text>") or its event
// stream, with ids and usage no translation would produce; with `tools`, a tool_use of the first
// tool, then "the tool said: <result>" once a tool_result comes back; 401 without the expected
// x-api-key; GET /v1/models (as a health check may use it) answers a model list, 400 without
// anthropic-version; POST /v1/messages/count_tokens answers {"input_tokens": 1000 + the body's
// length} (400 for a body with max_tokens: the real endpoint does not take it). With extended
// thinking on (`thinking.type` enabled), the plain answer begins with a signed thinking block
// ("thought about: <last user text>"), whole and streamed (thinking_delta, signature_delta).
// A question with "stop sequence" in it and `stop_sequences` ends on the last of them.
// `requests` keeps what reached it.
import { fakeUpstream } from './harness.mjs';

export async function anthropicUpstream(apiKey) {
  return fakeUpstream((req, res, body) => {
    if (req.headers['x-api-key'] !== apiKey) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
      return;
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      const ok = Boolean(req.headers['anthropic-version']);
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { data: [], has_more: false, first_id: null, last_id: null }
        : { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } }));
      return;
    }
    const j = JSON.parse(body);
    if (req.url === '/v1/messages/count_tokens') {
      const bad = j.max_tokens !== undefined;
      res.writeHead(bad ? 400 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(bad ? { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Extra inputs are not permitted' } }
        : { input_tokens: 1000 + body.length }));
      return;
    }
    const last = j.messages.at(-1).content;
    const ev = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    // With tools, a first turn asks for the first tool (input {"city":"Paris"}); a turn carrying
    // a tool_result is answered with its content.
    const toolResult = Array.isArray(last) ? last.find((b) => b.type === 'tool_result') : undefined;
    if (j.tools?.length && !toolResult) {
      const call = { type: 'tool_use', id: 'toolu_01', name: j.tools[0].name, input: { city: 'Paris' } };
      const message = {
        id: 'msg_native_tool', type: 'message', role: 'assistant', model: j.model,
        content: [{ type: 'text', text: 'Let me check.' }, call], stop_reason: 'tool_use', stop_sequence: null,
        usage: { input_tokens: 30, output_tokens: 12 },
      };
      if (!j.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(message));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(ev('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 30, output_tokens: 1 } } }));
      res.write(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check.' } }));
      res.write(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
      res.write(ev('content_block_start', { type: 'content_block_start', index: 1, content_block: { ...call, input: {} } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }));
      res.write(ev('content_block_stop', { type: 'content_block_stop', index: 1 }));
      res.write(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }));
      res.end(ev('message_stop', { type: 'message_stop' }));
      return;
    }
    const text = toolResult ? `the tool said: ${toolResult.content}`
      : `native answer to: ${typeof last === 'string' ? last : last.map((b) => b.text ?? '').join(' ')}`;
    // "from the cache" in the question: the prompt was mostly read from Anthropic's prompt cache;
    // "into the cache": part of it was written into the cache.
    const usage = text.includes('from the cache')
      ? { input_tokens: 21, cache_read_input_tokens: 1000, output_tokens: 8 }
      : text.includes('into the cache')
        ? { input_tokens: 21, cache_creation_input_tokens: 300, output_tokens: 8 }
        : { input_tokens: 21, output_tokens: 8 };
    const thought = j.thinking?.type === 'enabled' && !toolResult
      ? `thought about: ${typeof last === 'string' ? last : last.map((b) => b.text ?? '').join(' ')}` : null;
    // "stop sequence" in the question, with stop_sequences: the answer ends on the last of them.
    const stopped = text.includes('stop sequence') && j.stop_sequences?.length ? j.stop_sequences.at(-1) : null;
    const stop = stopped ? { stop_reason: 'stop_sequence', stop_sequence: stopped } : { stop_reason: 'end_turn', stop_sequence: null };
    const message = {
      id: 'msg_native_01', type: 'message', role: 'assistant', model: j.model,
      content: [...(thought ? [{ type: 'thinking', thinking: thought, signature: 'sig-1' }] : []), { type: 'text', text }],
      ...stop, usage,
    };
    if (!j.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(ev('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }));
    const at = thought ? 1 : 0;  // the text block's index
    if (thought) {
      res.write(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: thought.slice(0, 8) } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: thought.slice(8) } }));
      res.write(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-1' } }));
      res.write(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
    }
    res.write(ev('content_block_start', { type: 'content_block_start', index: at, content_block: { type: 'text', text: '' } }));
    res.write(ev('ping', { type: 'ping' }));
    const half = Math.ceil(text.length / 2);
    if (text.includes('cut me')) {  // the upstream closes cleanly mid-answer, with no final event
      res.end(ev('content_block_delta', { type: 'content_block_delta', index: at, delta: { type: 'text_delta', text: text.slice(0, half) } }));
      return;
    }
    res.write(ev('content_block_delta', { type: 'content_block_delta', index: at, delta: { type: 'text_delta', text: text.slice(0, half) } }));
    res.write(ev('content_block_delta', { type: 'content_block_delta', index: at, delta: { type: 'text_delta', text: text.slice(half) } }));
    res.write(ev('content_block_stop', { type: 'content_block_stop', index: at }));
    res.write(ev('message_delta', { type: 'message_delta', delta: stop, usage: { output_tokens: 8 } }));
    res.end(ev('message_stop', { type: 'message_stop' }));
  });
}
