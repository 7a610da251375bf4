// Multi-call plans on answers that call tools (agents' traffic): a cascade whose probes make the
// same call (arguments spaced and ordered differently) accepts it at the first tier instead of
// escalating on an "empty" answer, and the client gets the call; probes that disagree on the
// arguments escalate; an ensemble votes on the calls.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, model, stopAll, fakeUpstream, postChat, getDecision } from './lib/harness.mjs';

function toolAnswer(modelName, args) {
  return JSON.stringify({
    id: `chatcmpl-${modelName}`, object: 'chat.completion', created: 1, model: modelName,
    choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null,
      tool_calls: [{ id: `call_${modelName}`, type: 'function', function: { name: 'get_weather', arguments: args } }] } }],
    usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
  });
}

// Answers with a get_weather call whose arguments are `args(prompt)`.
async function caller(name, args) {
  return fakeUpstream((req, res, body) => {
    const prompt = JSON.parse(body).messages.at(-1).content;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(toolAnswer(name, args(prompt)));
  });
}

const TOOLS = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } } } }];
const ask = (route, prompt) => ({ model: route, messages: [{ role: 'user', content: prompt }], tools: TOOLS });

describe('multi-call plans on tool calls', () => {
  let a;
  let b;
  let strong;
  let gw;
  before(async () => {
    [a, b, strong] = await Promise.all([
      caller('probe-a', (p) => `{"city": "${p.includes('Rome') ? 'Rome' : 'Paris'}", "unit": "C"}`),
      caller('probe-b', () => '{"unit":"C","city":"Paris"}'),
      caller('strong', () => '{"city":"Rome","unit":"C"}'),
    ]);
    gw = await startGateway({
      models: [model('probe-a', a.url), model('probe-b', b.url), model('strong', strong.url)],
      routes: [
        { name: 'cascade', policy: { type: 'cascade', tiers: [
          { models: ['probe-a', 'probe-b'], judge: { type: 'agreement' }, threshold: 1 }, { model: 'strong' }] } },
        { name: 'ensemble', policy: { type: 'ensemble', members: ['probe-a', 'probe-b', 'strong'], aggregator: 'vote' } },
      ],
    });
  });
  after(stopAll);

  test('probes making the same call are accepted at the first tier; the client gets the call', async () => {
    const r = await postChat(gw.base, ask('cascade', 'Weather in Paris?'));
    assert.equal(r.status, 200, r.text);
    const call = r.json.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'C' });
    assert.equal(r.headers.get('x-switchboard-calls'), '2');
    assert.equal(strong.requests.length, 0, 'no escalation');
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.match(d.calls[0].note, /tool calls: 2 of 2 agree/);
  });

  test('probes calling with different arguments escalate', async () => {
    const r = await postChat(gw.base, ask('cascade', 'Weather in Rome?'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchboard-calls'), '3');
    assert.equal(r.json.model, 'strong');
  });

  test('an ensemble votes on the calls', async () => {
    const r = await postChat(gw.base, ask('ensemble', 'Weather in Paris?'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.json.choices[0].message.tool_calls[0].function.arguments), { city: 'Paris', unit: 'C' });
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.match(d.reason, /vote of 3 answer/);
    assert.deepEqual(d.calls.map((c) => c.score), [2 / 3, 2 / 3, 1 / 3]);
  });
});
