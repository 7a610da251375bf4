// Multi-call routes through the real gateway and replay backends: a cascade escalates when the
// cheap probes' recorded answers disagree (the `agreement` judge is unsure) and stops when they
// agree; a streaming request to a cascade gets only the final answer, re-chunked; the decision
// record lists every call with its tier, cost, judge score and whether it was accepted, and the
// summed cost; x-switchboard-calls counts the calls; an ensemble votes and skips a failing member.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startReplay, startGateway, model, stopAll, postChat, streamChat, getDecision, tempDir, fakeUpstream,
  completionJson, sleep, metricSum,
} from './lib/harness.mjs';

const PROBE_A = 'probe-a';
const PROBE_B = 'probe-b';
const PROBE_C = 'probe-c';
const STRONG = 'strong';
const PRICES = {
  [PROBE_A]: { input_per_mtok: 0.2, output_per_mtok: 0.2 },
  [PROBE_B]: { input_per_mtok: 0.6, output_per_mtok: 0.6 },
  [PROBE_C]: { input_per_mtok: 0.3, output_per_mtok: 0.3 },
  [STRONG]: { input_per_mtok: 10, output_per_mtok: 30 },
};

const QUESTION = (q) => `${q}\nA) one\nB) two\nC) three\nD) four\nAnswer with a single letter.`;
const RECORDS = [
  { id: 'agree', prompt: QUESTION('How many legs has a bird?'),
    answers: { [PROBE_A]: 'B', [PROBE_B]: 'B) two', [PROBE_C]: 'C', [STRONG]: 'B' } },
  { id: 'split', prompt: QUESTION('How many moons has Mars?'),
    answers: { [PROBE_A]: 'A', [PROBE_B]: 'C', [PROBE_C]: 'C', [STRONG]: 'B' } },
];

function writeData(dir) {
  const file = path.join(dir, 'multi.jsonl');
  const lines = RECORDS.map((r) => JSON.stringify({
    id: r.id, prompt: r.prompt,
    outcomes: Object.fromEntries(Object.entries(r.answers).map(([m, text], i) =>
      [m, { score: m === STRONG ? 1 : 0.5, cost: 0.0001 * (i + 1) * (m === STRONG ? 50 : 1), response: text }])),
  }));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const ROUTES = [
  { name: 'cascade', policy: {
    type: 'cascade',
    tiers: [{ models: [PROBE_A, PROBE_B], judge: { type: 'agreement' }, threshold: 1 }, { model: STRONG }],
  } },
  { name: 'ensemble', policy: { type: 'ensemble', members: [PROBE_A, PROBE_B, PROBE_C], judge: 'agreement',
    aggregator: 'vote', member_quality: [0.5, 0.7, 0.6] } },
];

let gw;
let backends;
let data;

async function start() {
  const dir = tempDir('sb-multi-');
  data = writeData(dir);
  backends = Object.fromEntries(await Promise.all([PROBE_A, PROBE_B, PROBE_C, STRONG].map(async (m) =>
    [m, await startReplay({ model: m, data, inputPrice: PRICES[m].input_per_mtok, outputPrice: PRICES[m].output_per_mtok })])));
  gw = await startGateway({
    models: Object.values(backends).map((b) => model(b.model, b.url, { price: PRICES[b.model] })),
    routes: ROUTES,
  });
}

function body(route, id, extra = {}) {
  const r = RECORDS.find((x) => x.id === id);
  return { model: route, messages: [{ role: 'user', content: r.prompt }], ...extra };
}

describe('multi-call routes', () => {
  before(start);
  after(stopAll);

  test('a cascade stops at the first tier when the probes agree', async () => {
    const timed = (model) => metricSum(gw.base, 'switchboard_upstream_duration_seconds_count', { model });
    const timedBefore = [await timed(PROBE_A), await timed(PROBE_B)];
    const res = await postChat(gw.base, body('cascade', 'agree'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'B');
    assert.equal(res.headers.get('x-switchboard-calls'), '2');
    assert.equal(res.headers.get('x-switchboard-model'), PROBE_A);
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.policy, 'cascade');
    assert.deepEqual(d.calls.map((c) => [c.model, c.tier, c.result, c.accepted]),
      [[PROBE_A, 0, 'ok', true], [PROBE_B, 0, 'ok', false]]);
    assert.equal(d.calls[0].score, 1);
    assert.deepEqual(d.calls.map((c) => c.extracted), ['B', 'B']);
    // Every call is timed, the one whose answer was not taken too (only the final one was).
    assert.deepEqual([await timed(PROBE_A) - timedBefore[0], await timed(PROBE_B) - timedBefore[1]], [1, 1]);
  });

  test('a cascade escalates when the cheap answers are judged unsure, and the record lists every call', async () => {
    const cost = (model) => metricSum(gw.base, 'switchboard_cost_usd_total', { model });
    const costBefore = { a: await cost(PROBE_A), strong: await cost(STRONG) };
    const before = await backends[STRONG].stats();
    const res = await postChat(gw.base, body('cascade', 'split'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'B');  // the strong model's, nothing else
    assert.equal(res.headers.get('x-switchboard-calls'), '3');
    assert.equal(res.headers.get('x-switchboard-model'), STRONG);
    const after = await backends[STRONG].stats();
    assert.equal(JSON.stringify(after) !== JSON.stringify(before), true);
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.deepEqual(d.calls.map((c) => [c.model, c.tier, c.result, c.accepted]),
      [[PROBE_A, 0, 'ok', false], [PROBE_B, 0, 'ok', false], [STRONG, 1, 'ok', true]]);
    assert.equal(d.calls[0].score, 0.5);
    assert.match(d.calls[0].note, /escalate/);
    for (const c of d.calls) {
      assert.ok(c.cost_usd > 0, `${c.model} was paid`);
      assert.ok(c.completion_tokens > 0);
      assert.ok(c.replica.length > 0);
    }
    const sum = d.calls.reduce((s, c) => s + c.cost_usd, 0);
    assert.ok(Math.abs(d.cost_usd - sum) < 1e-12, `cost_usd ${d.cost_usd} = the calls' ${sum}`);
    // Every call's tokens count (limits, metering, metrics); the client's usage is the final call's.
    for (const k of ['prompt_tokens', 'completion_tokens'])
      assert.equal(d.usage[k], d.calls.reduce((s, c) => s + c[k], 0), k);
    assert.equal(res.json.usage.completion_tokens, d.calls[2].completion_tokens);
    assert.equal(d.model, STRONG);
    // The cost metric puts each call under its own model (it put the whole plan under the last).
    assert.ok(Math.abs(await cost(PROBE_A) - costBefore.a - d.calls[0].cost_usd) < 1e-9);
    assert.ok(Math.abs(await cost(STRONG) - costBefore.strong - d.calls[2].cost_usd) < 1e-9);
  });

  test('streaming from a cascade: only the final answer, re-chunked, ends with [DONE]', async () => {
    const res = await streamChat(gw.base, body('cascade', 'split', { stream_options: { include_usage: true } }));
    assert.equal(res.status, 200);
    assert.equal(res.text, 'B');
    assert.equal(res.headers.get('x-switchboard-calls'), '3');
    assert.equal(res.events.at(-1).data, '[DONE]');
    assert.ok(res.events.some((e) => e.json?.usage?.completion_tokens > 0), 'a usage chunk');
    for (const e of res.events.slice(0, -1)) assert.equal(e.json.object, 'chat.completion.chunk');
    const d = await getDecision(gw.base, res.headers.get('x-switchboard-decision'));
    assert.equal(d.stream, true);
    assert.equal(d.calls.length, 3);
  });

  test('an ensemble votes, and a failing member is skipped', async () => {
    const res = await postChat(gw.base, body('ensemble', 'split'));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'C');
    assert.equal(res.headers.get('x-switchboard-model'), PROBE_B);  // of the C voters, best quality
    await backends[PROBE_B].setFaults({ error_rate: 1 });
    try {
      const r2 = await postChat(gw.base, body('ensemble', 'split'));
      assert.equal(r2.status, 200, r2.text);
      // A and C left, one vote each: C's member has the higher predicted quality (0.6 > 0.5).
      assert.equal(r2.json.choices[0].message.content, 'C');
      assert.equal(r2.headers.get('x-switchboard-model'), PROBE_C);
      const d = await getDecision(gw.base, r2.headers.get('x-switchboard-decision'));
      const b = d.calls.find((c) => c.model === PROBE_B);
      assert.notEqual(b.result, 'ok');
      assert.equal(b.cost_usd, 0);
    } finally {
      await backends[PROBE_B].setFaults({ error_rate: 0 });
    }
  });
});

describe('a plan\'s deadline over real HTTP', () => {
  let gw;
  let slow;
  before(async () => {
    const answer = (text) => (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionJson('m', text));
    };
    const fast = await fakeUpstream(answer('A'));
    slow = await fakeUpstream(async (req, res) => { await sleep(1200); answer('B')(req, res); });
    const strong = await fakeUpstream(answer('A'));
    gw = await startGateway({
      models: [model('fast', fast.url), model('slowish', slow.url, { outlier_ejection: { consecutive_failures: 2 } }),
        model('strong', strong.url)],
      routes: [{ name: 'cut', policy: { type: 'cascade', deadline_ms: 300, tiers: [
        { models: ['fast', 'slowish'], judge: { type: 'agreement' }, threshold: 1, on_unavailable: 'accept' },
        { model: 'strong' }] } }],
    });
  });
  after(stopAll);

  test('a call the deadline cuts is cancelled, not a failure of its replica: no ejection', async () => {
    for (let i = 0; i < 4; ++i) {
      const r = await postChat(gw.base, { model: 'cut', messages: [{ role: 'user', content: `question ${i}` }] });
      assert.equal(r.status, 200, r.text);
      const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
      const cut = d.attempts.filter((a) => a.model === 'slowish');
      assert.equal(cut.length, 1, JSON.stringify(d.attempts));
      assert.equal(cut[0].result, 'cancelled');
    }
    assert.equal(await metricSum(gw.base, 'switchboard_replica_ejections_total', { model: 'slowish' }), 0);
    // The replica still answers a request of its own.
    const direct = await postChat(gw.base, { model: 'slowish', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(direct.status, 200, direct.text);
    assert.doesNotMatch(await getDecision(gw.base, direct.headers.get('x-switchboard-decision')).then((d) => d.reason), /ejected/);
  });
});

// A streaming client that asks for logprobs gets the final answer's, re-chunked with their tokens;
// one that did not ask gets none, though the plan's `logprobs` judge asked the upstream for them.
describe('logprobs through a streaming cascade', () => {
  let gw;
  const lp = (tokens, logprob) => tokens.map((token) => ({ token, logprob, bytes: null, top_logprobs: [] }));
  const withLogprobs = (text, entries) => (req, res) => {
    const j = JSON.parse(completionJson('m', text));
    j.choices[0].logprobs = { content: entries, refusal: null };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(j));
  };
  const STRONG_TOKENS = ['The', ' answer', ' is', ' B', ',', ' two', ' moons', '.'];
  before(async () => {
    const unsure = await fakeUpstream(withLogprobs('A', lp(['A'], -2.5)));
    const sure = await fakeUpstream(withLogprobs(STRONG_TOKENS.join(''), lp(STRONG_TOKENS, -0.01)));
    gw = await startGateway({
      models: [model('unsure', unsure.url), model('sure', sure.url)],
      routes: [{ name: 'lp', policy: { type: 'cascade', tiers: [
        { model: 'unsure', judge: { type: 'logprobs', measure: 'mean_logprob' }, threshold: 0.5 },
        { model: 'sure' }] } }],
    });
  });
  after(stopAll);

  test('the final answer\'s logprobs ride with their tokens, only when asked for', async () => {
    const ask = { model: 'lp', messages: [{ role: 'user', content: 'How many moons has Mars?' }] };
    const res = await streamChat(gw.base, { ...ask, logprobs: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-switchboard-calls'), '2', 'the unsure answer escalated');
    assert.equal(res.text, STRONG_TOKENS.join(''));
    const chunks = res.events.filter((e) => e.json?.choices?.[0]?.logprobs);
    assert.ok(chunks.length >= 2, 'in more than one chunk');
    for (const e of chunks) {
      const c = e.json.choices[0];
      assert.equal(c.logprobs.content.map((x) => x.token).join(''), c.delta.content, 'a chunk carries its own tokens');
    }
    assert.deepEqual(chunks.flatMap((e) => e.json.choices[0].logprobs.content.map((x) => x.token)), STRONG_TOKENS);
    const plain = await streamChat(gw.base, ask);
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.text, STRONG_TOKENS.join(''));
    assert.ok(plain.events.every((e) => !e.json?.choices?.[0]?.logprobs), 'no logprobs when not asked for');
  });
});
