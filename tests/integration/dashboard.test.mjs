// The dashboard in a real browser (Debian's chromium driven by puppeteer-core): the page loads
// without console errors, draws its charts, a request made by the test appears in the decision
// explorer, its detail view shows its stages; a screenshot is saved under the build directory.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  startReplay, model, stopAll, chatBody, postChat, demoPrompt, sleep, BIN, GPT4, MIXTRAL,
} from './lib/harness.mjs';
import { startAdminGateway } from './lib/admin.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const KEY = 'dash-test-key-51c0';
const OUT_DIR = path.join(path.dirname(BIN), 'test-output');

describe('dashboard', () => {
  let gw, browser;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (scripts/install-deps.sh --test installs it)`);
    const [gpt4, mixtral] = await Promise.all([
      startReplay({ model: GPT4, inputPrice: 10, outputPrice: 30 }),
      startReplay({ model: MIXTRAL, inputPrice: 0.6, outputPrice: 0.6 }),
    ]);
    gw = await startAdminGateway({
      models: [
        model(GPT4, gpt4.url),
        model(MIXTRAL, mixtral.url, { price: { input_per_mtok: 0.6, output_per_mtok: 0.6 } }),
      ],
      routes: [
        { name: 'auto', policy: { type: 'static', model: MIXTRAL, fallbacks: [GPT4] } },
        { name: 'best', policy: { type: 'static', model: GPT4 } },
      ],
      admin: { key_env: 'SB_TEST_ADMIN_KEY' },
      env: { SB_TEST_ADMIN_KEY: KEY },
    });
    // Some traffic for the charts.
    for (let i = 0; i < 12; i += 1) {
      const r = await postChat(gw.base, chatBody(i % 3 ? 'auto' : 'best', demoPrompt(GPT4, i).prompt));
      assert.equal(r.status, 200);
    }
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    if (browser) await browser.close();
    await stopAll();
  });

  test('loads without console errors, finds a request in the explorer and shows its stages', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1700 });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });

    await page.goto(`${gw.adminBase}/dashboard/#key=${KEY}`, { waitUntil: 'networkidle0' });
    // The live charts are drawn by uPlot from the time series.
    await page.waitForSelector('#chart-rate .uplot canvas', { timeout: 10000 });
    await page.waitForSelector('#chart-cost-model .uplot canvas');
    const requestsCard = await page.$eval('#cards', (el) => el.textContent);
    assert.match(requestsCard, /12\s*requests/);
    const mix = await page.$eval('#mix', (el) => el.textContent);
    assert.match(mix, /auto/);
    assert.match(mix, /mixtral/);

    // A request made now appears in the explorer, searched by its id.
    const r = await postChat(gw.base, chatBody('best', demoPrompt(GPT4, 20).prompt));
    assert.equal(r.status, 200);
    const id = r.headers.get('x-switchboard-decision');
    let found = false;
    for (let i = 0; i < 40 && !found; i += 1) {
      await page.$eval('#q-id', (el, v) => { el.value = v; }, id);
      await page.click('#explorer-form button[type=submit]');
      await sleep(100);
      found = (await page.$(`#results tr[data-id="${id}"]`)) !== null;
    }
    assert.ok(found, `decision ${id} listed in the explorer`);
    await page.click(`#results tr[data-id="${id}"]`);
    await page.waitForSelector('#detail-stages tr[data-stage="execute"]', { timeout: 5000 });
    const stages = await page.$$eval('#detail-stages tr[data-stage]', (rows) => rows.map((x) => x.dataset.stage));
    for (const s of ['parse', 'decide', 'execute', 'record']) assert.ok(stages.includes(s), `stage ${s} shown: ${stages}`);
    assert.equal(await page.$eval('#detail-id', (el) => el.textContent), id);
    const why = await page.$eval('#detail-why', (el) => el.textContent);
    assert.match(why, new RegExp(`chose ${GPT4.replace(/[.]/g, '\\.')}`));
    const candidates = await page.$eval('#detail-candidates', (el) => el.textContent);
    assert.match(candidates, /gpt-4/);

    // The search by route and outcome from the form.
    await page.$eval('#q-id', (el) => { el.value = ''; });
    await page.type('#q-route', 'auto');
    await page.click('#explorer-form button[type=submit]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#results tr[data-id]')];
      return rows.length === 8 && rows.every((row) => row.children[2].textContent === 'auto');
    }, { timeout: 5000 });

    await page.click(`#results tr[data-id]`);
    await page.waitForSelector('#detail-stages tr[data-stage]');
    await sleep(2200);  // one more poll of the charts
    mkdirSync(OUT_DIR, { recursive: true });
    const shot = path.join(OUT_DIR, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    assert.ok(existsSync(shot));
    assert.deepEqual(problems, [], 'no console errors, failed requests or HTTP errors');
    await page.close();
  });

  test('without the key the page asks for it instead of failing', async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gw.adminBase}/dashboard/`, { waitUntil: 'load' });
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 5000 });
    await page.type('#key', KEY);
    await page.click('#key-form button');
    await page.waitForSelector('#chart-rate .uplot canvas', { timeout: 10000 });
    assert.deepEqual(errors, []);
  });
});
