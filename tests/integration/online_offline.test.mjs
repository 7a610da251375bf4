// Online decisions equal offline ones: a sample of recorded prompts is sent through a running
// gateway (replay backends upstream) and each answer's x-switchboard-model is compared with what
// `switchboard route` decides offline for the same prompt with the same configuration. With
// RouterBench present the sample is its test split; otherwise the shipped demo set.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, DEMO_DATA, ROUTERBENCH_DATA, GPT4, MIXTRAL, startReplay, startGateway, model, stopAll,
  chatBody, postChat, tempDir,
} from './lib/harness.mjs';

const MISTRAL = 'mistralai/mistral-7b-chat';

function offlineModel(configPath, route, prompt) {
  const r = spawnSync(BIN, ['route', '--config', configPath, '--route', route, '--json', prompt], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).model;
}

function samplePrompts(n) {
  let file = DEMO_DATA;
  if (existsSync(ROUTERBENCH_DATA)) {
    const out = tempDir('sb-online-');
    const imp = spawnSync(BIN, ['import', 'routerbench', '--in', ROUTERBENCH_DATA, '--out', out], { encoding: 'utf8' });
    assert.equal(imp.status, 0, imp.stderr);
    file = path.join(out, 'test.jsonl');
  }
  const records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const step = Math.max(1, Math.floor(records.length / n));
  return records.filter((_, i) => i % step === 0).slice(0, n)
    .filter((r) => r.prompt !== undefined)  // one user message: what `route "prompt"` sends
    .map((r) => r.prompt);
}

describe('online decisions equal offline decisions', () => {
  let gw;
  before(async () => {
    const data = existsSync(ROUTERBENCH_DATA) ? ROUTERBENCH_DATA : DEMO_DATA;
    const [a, b, c] = await Promise.all([GPT4, MIXTRAL, MISTRAL].map((m) => startReplay({ model: m, data })));
    gw = await startGateway({
      models: [model(GPT4, a.url), model(MIXTRAL, b.url), model(MISTRAL, c.url)],
      routes: [
        { name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } },
        { name: 'cheap', policy: { type: 'static', model: MISTRAL } },
      ],
    });
  });
  after(stopAll);

  test('a sample of recorded prompts routes the same way online and offline', async () => {
    const prompts = samplePrompts(24);
    assert.ok(prompts.length >= 10, `only ${prompts.length} prompts sampled`);
    for (const route of ['auto', 'cheap', GPT4]) {
      for (const prompt of prompts) {
        const offline = offlineModel(gw.configPath, route, prompt);
        const online = await postChat(gw.base, chatBody(route, prompt));
        assert.equal(online.status, 200, online.text);
        assert.equal(online.headers.get('x-switchboard-model'), offline, `${route}: ${prompt.slice(0, 60)}`);
      }
    }
  });
});
