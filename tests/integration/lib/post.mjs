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
