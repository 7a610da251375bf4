// Error bodies of replicas that do not speak OpenAI's error shape (an HTML page, vLLM's, a bare
// string, FastAPI's 422), and what an OpenAI-shaped client must get for each: [status, the message
// kept, the error type by status]. Each name is a model of a fake replica answering that body.
export const FOREIGN_ERRORS = {
  'html-502': [502, 'text/html', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
  'vllm-400': [400, 'application/json', JSON.stringify({ object: 'error', message: 'max_tokens is too large', type: 'BadRequestError', param: null, code: 400 })],
  'string-400': [400, 'application/json', JSON.stringify({ error: 'model not loaded' })],
  'fastapi-422': [422, 'application/json', JSON.stringify({ detail: [{ loc: ['body', 'messages'], msg: 'field required', type: 'missing' }] })],
};

export const FOREIGN_ERRORS_WRAPPED = {
  'html-502': [502, /502 Bad Gateway/, 'server_error'],
  'vllm-400': [400, /^max_tokens is too large$/, 'invalid_request_error'],
  'string-400': [400, /^model not loaded$/, 'invalid_request_error'],
  'fastapi-422': [422, /^body\.messages: field required$/, 'invalid_request_error'],
};

// Asserts that response `r` (postJson's) is the OpenAI error `name` of FOREIGN_ERRORS_WRAPPED.
export function assertWrapped(assert, r, name) {
  const [status, message, type] = FOREIGN_ERRORS_WRAPPED[name];
  assert.equal(r.status, status, name);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.ok(r.json?.error, `${name}: ${r.text}`);
  assert.match(r.json.error.message, message, name);
  assert.equal(r.json.error.type, type, name);
  assert.equal(r.json.error.code, `upstream_status_${status}`);
}
