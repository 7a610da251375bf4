// The replay backend on the real RouterBench data (../shared/data/routerbench_zs, skipped when
// absent): a recorded prompt sent through the gateway comes back with the recorded answer, and the
// decision's cost reproduces the recorded total_cost at the configured prices.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startReplay, startGateway, model, stopAll, postChat, streamChat, getDecision, ROUTERBENCH_DATA, GPT4,
  GPT4_PRICE,
} from './lib/harness.mjs';

const CSVS = ['winograde_test.csv', 'arc_challenge_test.csv', 'mbpp_test.csv'].map((f) => path.join(ROUTERBENCH_DATA, f));
const PRESENT = CSVS.filter((f) => existsSync(f));

// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// A Python list of string literals such as ['a', "b\\n"]; returns null for anything else, so
// the test only uses rows it understands exactly.
function parsePyStringList(text) {
  const s = text.trim();
  if (!s.startsWith('[') || !s.endsWith(']')) return null;
  const out = [];
  let i = 1;
  const ws = () => { while (/\s/.test(s[i] ?? '')) i++; };
  const simple = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
  ws();
  while (s[i] !== ']') {
    const q = s[i];
    if (q !== "'" && q !== '"') return null;
    i++;
    let str = '';
    while (s[i] !== q) {
      if (i >= s.length) return null;
      if (s[i] === '\\') {
        const e = s[i + 1];
        if (!(e in simple)) return null;
        str += simple[e];
        i += 2;
      } else str += s[i++];
    }
    i++;
    out.push(str);
    ws();
    if (s[i] === ',') { i++; ws(); } else if (s[i] !== ']') return null;
  }
  return i === s.length - 1 ? out : null;
}

// A row with a plainly parsable prompt and answer whose prompt occurs once in the file, and whose
// recorded cost the replay backend can reproduce: it estimates prompt tokens as chars/4 and derives
// completion tokens from what is left of the cost, so the prompt estimate must stay under the cost.
function pickRow() {
  for (const csv of PRESENT) {
    const row = pickRowFrom(csv);
    if (row) return row;
  }
  throw new Error('no usable row');
}

function pickRowFrom(csv) {
  const [header, ...rows] = parseCsv(readFileSync(csv, 'utf8')).filter((r) => r.length > 1);
  const col = (name) => header.indexOf(name);
  const [p, resp, cost, score] = [col('prompt'), col(`${GPT4}|model_response`), col(`${GPT4}|total_cost`), col(GPT4)];
  assert.ok(p >= 0 && resp >= 0 && cost >= 0 && score >= 0, 'expected RouterBench columns');
  const count = new Map();
  for (const r of rows) count.set(r[p], (count.get(r[p]) ?? 0) + 1);
  for (const r of rows) {
    if (count.get(r[p]) !== 1 || r[score] === '') continue;
    const prompt = parsePyStringList(r[p]);
    const answer = parsePyStringList(r[resp]);
    if (!prompt || !answer || !prompt.length || !answer.join('').length) continue;
    const chars = [...prompt.join('\n')].length + prompt.length;
    const promptCost = Math.ceil(chars / 4) * GPT4_PRICE.input_per_mtok / 1e6;
    if (promptCost > 0.8 * Number(r[cost])) continue;
    return { messages: prompt, response: answer.join('\n'), cost: Number(r[cost]), file: path.basename(csv) };
  }
  return null;
}

describe('RouterBench replay through the gateway', { skip: PRESENT.length === 0 && `${ROUTERBENCH_DATA} is absent` }, () => {
  let gw;
  let row;
  before(async () => {
    row = pickRow();
    const backend = await startReplay({ data: ROUTERBENCH_DATA, model: GPT4, inputPrice: 10, outputPrice: 30 });
    gw = await startGateway({ models: [model(GPT4, backend.url)] });
  });
  after(stopAll);

  const body = () => ({ model: GPT4, messages: row.messages.map((content) => ({ role: 'user', content })) });

  test('a recorded RouterBench prompt gets its recorded answer and cost', async () => {
    const r = await postChat(gw.base, body());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, row.response);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    assert.equal(d.outcome, 'ok');
    assert.ok(Math.abs(d.cost_usd - row.cost) <= GPT4_PRICE.output_per_mtok / 1e6,
              `cost ${d.cost_usd} vs recorded ${row.cost} (${row.file})`);
    assert.ok(Math.abs(d.cost_usd - (d.usage.prompt_tokens * 10 + d.usage.completion_tokens * 30) / 1e6) < 1e-12);
  });

  test('the same prompt streamed assembles to the recorded answer', async () => {
    const s = await streamChat(gw.base, body());
    assert.equal(s.status, 200);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(s.text, row.response);
  });
});
