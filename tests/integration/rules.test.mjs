// The `rules` policy through the real gateway with the real signal weights (`make weights`, which
// `make test` runs): a French prompt and a code prompt go to the models their rules name, anything
// else to the default; the decision record says which rule matched. Without the weights the
// gateway refuses to start and names the command that installs them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startGateway, startProcess, model, stopAll, chatBody, postChat, getDecision, getJson, fakeUpstream,
  completionJson, gatewayConfig, tempDir,
} from './lib/harness.mjs';

const ROUTES = [{
  name: 'smart',
  policy: {
    type: 'rules',
    rules: [
      { name: 'non-english', when: { language: { not: 'en' } }, model: 'polyglot' },
      { name: 'code', when: { any: [{ has_code: true }, { regex: '(?i)segfault' }] }, model: 'coder', fallbacks: ['general'] },
    ],
    default: 'general',
  },
}];

describe('rules policy', () => {
  let gw;
  const upstreams = {};
  before(async () => {
    for (const name of ['general', 'polyglot', 'coder']) {
      upstreams[name] = await fakeUpstream((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completionJson(name, `answer from ${name}`));
      });
    }
    gw = await startGateway({
      models: Object.entries(upstreams).map(([name, u]) => model(name, u.url)),
      routes: ROUTES,
    });
  });
  after(stopAll);

  const ask = async (prompt) => {
    const r = await postChat(gw.base, chatBody('smart', prompt));
    assert.equal(r.status, 200, r.text);
    const d = await getDecision(gw.base, r.headers.get('x-switchboard-decision'));
    return { r, d };
  };

  test('a French prompt goes to the non-English model', async () => {
    const { r, d } = await ask("Bonjour ! Peux-tu m'expliquer simplement comment fonctionne un moteur électrique ?");
    assert.equal(r.headers.get('x-switchboard-model'), 'polyglot');
    assert.equal(r.json.choices[0].message.content, 'answer from polyglot');
    assert.equal(d.policy, 'rules');
    assert.equal(d.model, 'polyglot');
    assert.match(d.reason, /rule 1 'non-english' matched: language is not en/);
  });

  test('a prompt with code goes to the code model', async () => {
    const prompt = 'Why does this print 0?\n```python\ndef mean(xs):\n    return sum(xs) // len(xs)\n\nprint(mean([1, 2]))\n```';
    const { r, d } = await ask(prompt);
    assert.equal(r.headers.get('x-switchboard-model'), 'coder');
    assert.equal(d.model, 'coder');
    assert.match(d.reason, /rule 2 'code' matched/);
  });

  test('an English prose prompt gets the default', async () => {
    const { r, d } = await ask('What are three good habits for staying healthy during the winter?');
    assert.equal(r.headers.get('x-switchboard-model'), 'general');
    assert.equal(d.reason, 'no rule matched; default');
  });

  test('POST /v1/route shows the signals the route read', async () => {
    const res = await fetch(`${gw.base}/v1/route`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('smart', 'Wie spät ist es in Tokio, wenn es in Berlin Mittag ist?')),
    });
    const j = await res.json();
    assert.equal(res.status, 200, JSON.stringify(j));
    assert.equal(j.model, 'polyglot');
    assert.equal(j.signals.language, 'de');
    assert.equal(j.signals.has_code, false);
    assert.ok(j.signals.language_confidence > 0.5);
  });

  test('without the weights the gateway refuses to start and names `make weights`', async () => {
    const dir = tempDir('sb-rules-');
    const cfg = gatewayConfig({ models: [model('general', 'http://127.0.0.1:9'), model('polyglot', 'http://127.0.0.1:9'), model('coder', 'http://127.0.0.1:9')], routes: ROUTES, dir });
    cfg.signals = { weights_dir: path.join(dir, 'no-weights-here') };
    const configPath = path.join(dir, 'switchboard.yaml');
    writeFileSync(configPath, JSON.stringify(cfg, null, 2));
    const proc = startProcess('gateway(no weights)', ['serve', '--config', configPath]);
    proc.stopping = true; // exiting is what we expect
    const { code } = await proc.exited;
    assert.equal(code, 2, proc.output);
    assert.match(proc.output, /route 'smart' \(rules\) reads signals language, code/);
    assert.match(proc.output, /lid\.176\.ftz: not found/);
    assert.match(proc.output, /make weights/);
  });

  test('GET /v1/models still lists the route', async () => {
    const r = await getJson(gw.base, '/v1/models');
    assert.ok(r.json.data.some((m) => m.id === 'smart' && m.policy === 'rules'));
  });
});
