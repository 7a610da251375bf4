// Hot reload (docs/admin.md): POST /admin/reload and SIGHUP swap the config without dropping a
// request or a connection; a bad config is refused with FILE:LINE:COLUMN and the old one keeps
// serving; a request in flight finishes on the config it started with.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import {
  startReplay, model, stopAll, chatBody, postChat, streamChat, demoPrompt, sleep, GPT4, MIXTRAL,
} from './lib/harness.mjs';
import { startAdminGateway, adminFetch } from './lib/admin.mjs';

// The config with route `r` pointing at `target`, and a marker route whose name says which version.
function configWith(gw, target, version) {
  const cfg = JSON.parse(readFileSync(gw.configPath, 'utf8'));
  cfg.routes = [
    { name: 'r', policy: { type: 'static', model: target } },
    { name: `v${version}`, policy: { type: 'static', model: target } },
  ];
  return JSON.stringify(cfg, null, 2);
}

describe('hot reload', () => {
  let gpt4, mixtral, gw;
  before(async () => {
    [gpt4, mixtral] = await Promise.all([
      // Slow enough that reloads land while requests are in flight.
      startReplay({ model: GPT4, ttftMs: 40, tokensPerSec: 2000 }),
      startReplay({ model: MIXTRAL, ttftMs: 40, tokensPerSec: 2000 }),
    ]);
    gw = await startAdminGateway({
      models: [model(GPT4, gpt4.url), model(MIXTRAL, mixtral.url)],
      routes: [{ name: 'r', policy: { type: 'static', model: GPT4 } }],
      server: { threads: 2 },
    });
  });
  after(stopAll);

  test('no failed request and no dropped connection across 20 reloads under load', async () => {
    // Keep-alive clients: a reload must not close their connections either.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const sockets = new Set();
    agent.on('free', (s) => sockets.add(s));
    const post = (body) => new Promise((resolve) => {
      const req = http.request(`${gw.base}/v1/chat/completions`, {
        method: 'POST', agent, headers: { 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, model: res.headers['x-switchboard-model'], text }));
        res.on('error', (e) => resolve({ status: 0, text: String(e) }));
      });
      req.on('error', (e) => resolve({ status: 0, text: String(e) }));
      req.end(JSON.stringify(body));
    });
    let stop = false;
    const results = [];
    const client = async (c) => {
      let i = 0;
      while (!stop) {
        const stream = (i + c) % 3 === 0;
        const body = chatBody('r', demoPrompt(GPT4, i + c).prompt, stream ? { stream: true } : {});
        results.push(await post(body));
        i += 1;
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    const reloads = [];
    for (let k = 1; k <= 20; k += 1) {
      writeFileSync(gw.configPath, configWith(gw, k % 2 ? MIXTRAL : GPT4, k));
      if (k === 10) {
        gw.proc.child.kill('SIGHUP');  // one of them by signal
        await gw.proc.waitFor(/reload \(sighup\) #10/, 10000);
        reloads.push({ status: 200, json: { generation: 10 } });
      } else {
        reloads.push(await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' }));
      }
      await sleep(60);
    }
    await sleep(200);
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    for (const [i, r] of reloads.entries()) {
      assert.equal(r.status, 200, `reload ${i + 1}: ${r.text}`);
      assert.equal(r.json.generation, i + 1);
    }
    const failed = results.filter((r) => r.status !== 200);
    console.log(`${results.length} requests (a third streamed) across 20 reloads: ${failed.length} failed, ` +
                `${sockets.size} client connections`);
    assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3))}`);
    assert.ok(results.length >= 100, `${results.length} requests ran across the reloads`);
    const models = new Set(results.map((r) => r.model));
    assert.deepEqual(models, new Set([GPT4, MIXTRAL]), 'both configs served');
    assert.ok(sockets.size <= 8, `connections were kept alive (${sockets.size} sockets for 8 clients)`);
    // After the last reload (k = 20: GPT-4) new requests use it.
    const after20 = await postChat(gw.base, chatBody('v20', 'hello'));
    assert.equal(after20.status, 200);
    assert.equal(after20.headers.get('x-switchboard-model'), GPT4);
    assert.equal((await postChat(gw.base, chatBody('v19', 'hello'))).status, 404, 'the old routes are gone');
  });

  test('a bad config is refused with file:line:column and the running one keeps serving', async () => {
    const good = readFileSync(gw.configPath, 'utf8');
    const before = await adminFetch(gw.adminBase, '/admin');
    try {
      // A route with an unknown policy type: parses, fails when the runtime is built.
      const cfg = JSON.parse(good);
      cfg.routes.push({ name: 'broken', policy: { type: 'no-such-policy' } });
      writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
      const r = await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'bad_config');
      assert.match(r.json.error.message, new RegExp(`${gw.configPath.replace(/[.]/g, '\\.')}:\\d+:\\d+: .*no-such-policy`));
      // A YAML syntax error.
      writeFileSync(gw.configPath, 'listen: 127.0.0.1:0\nmodels: [{name: x\nroutes: []\n');
      const syntax = await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' });
      assert.equal(syntax.status, 400);
      assert.match(syntax.json.error.message, /switchboard\.yaml:\d+:\d+: /);
      // A missing API key variable.
      const nokey = JSON.parse(good);
      nokey.models[0].replicas[0].api_key_env = 'SB_TEST_NOT_SET_ANYWHERE';
      writeFileSync(gw.configPath, JSON.stringify(nokey, null, 2));
      const keyless = await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' });
      assert.equal(keyless.status, 400);
      assert.match(keyless.json.error.message, /SB_TEST_NOT_SET_ANYWHERE, which is not set/);
      const after = await adminFetch(gw.adminBase, '/admin');
      assert.equal(after.json.generation, before.json.generation, 'nothing swapped');
      assert.equal(after.json.reload_failures, before.json.reload_failures + 3);
      const still = await postChat(gw.base, chatBody('v20', 'still serving'));
      assert.equal(still.status, 200);
    } finally {
      writeFileSync(gw.configPath, good);
    }
  });

  test('a stream in flight during a reload finishes on the config it started with', async () => {
    // GPT-4 on a slow backend (20 tokens/s): the stream lasts over a second.
    const slow = await startReplay({ model: GPT4, ttftMs: 20, tokensPerSec: 20 });
    const cfg = JSON.parse(configWith(gw, GPT4, 100));
    cfg.models.find((m) => m.name === GPT4).replicas = [{ url: slow.url }];
    writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
    assert.equal((await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' })).status, 200);
    const p = demoPrompt(GPT4, 5);
    let reloaded;
    const stream = streamChat(gw.base, chatBody('r', p.prompt), {
      onEvent: () => {
        if (reloaded) return;
        writeFileSync(gw.configPath, configWith(gw, MIXTRAL, 101));
        reloaded = adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' })
          .then((r) => ({ ...r, at: performance.now() }));
      },
    });
    const s = await stream;
    const done = await reloaded;
    assert.equal(done.status, 200);
    assert.ok(done.at < s.events.at(-1).at, 'the reload completed while the stream was still running');
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('x-switchboard-model'), GPT4);
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(s.text, p.response, 'the whole answer');
    const next = await postChat(gw.base, chatBody('r', 'after'));
    assert.equal(next.headers.get('x-switchboard-model'), MIXTRAL, 'new requests use the new config');
  });

  test('settings bound at start-up are reported as needing a restart', async () => {
    const cfg = JSON.parse(configWith(gw, GPT4, 200));
    cfg.server.max_body_bytes = 12345;
    writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
    const r = await adminFetch(gw.adminBase, '/admin/reload', { method: 'POST' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.restart_required, ['server']);
  });
});
