// POST a JSON body (object, or a string sent as is) to any path; {status, headers, text, json}.
export async function postJson(base, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// The `event:` names of an SSE text, in order.
export function eventNames(text) {
  return [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
}

// What an openai SDK chat-completions stream carried: the text, the finish reason, the usage
// (its own chunk or the finishing one's) and the tool calls assembled by index.
export async function readChatStream(stream) {
  const out = { text: '', finish: undefined, usage: undefined, calls: {} };
  for await (const chunk of stream) {
    if (chunk.usage) out.usage = chunk.usage;
    for (const ch of chunk.choices) {
      out.text += ch.delta?.content ?? '';
      if (ch.finish_reason) out.finish = ch.finish_reason;
      for (const t of ch.delta?.tool_calls ?? []) {
        out.calls[t.index] ??= { id: '', name: '', arguments: '' };
        if (t.id) out.calls[t.index].id = t.id;
        if (t.function?.name) out.calls[t.index].name = t.function.name;
        out.calls[t.index].arguments += t.function?.arguments ?? '';
      }
    }
  }
  return out;
}

// The last request bodies a replay backend received (GET /admin/received), oldest first.
export async function received(backend) {
  const res = await fetch(`${backend.url}/admin/received`);
  return (await res.json()).requests;
}
