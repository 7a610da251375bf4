// Takes the README's dashboard screenshot (docs/img/dashboard.png): the demo's models on replay
// backends, the demo's static, cascade and ensemble routes, a minute of mixed traffic (a few
// failures included), then the dashboard in Debian's chromium with a cascade decision opened.
//   node scripts/dashboard-screenshot.mjs [OUT.png]      (after `make build` and the tests' npm ci)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.SB_SOURCE_DIR ??= root;
const require = createRequire(path.join(root, 'tests/package.json'));
const puppeteer = require('puppeteer-core');
const h = await import(path.join(root, 'tests/integration/lib/harness.mjs'));
const { startAdminGateway } = await import(path.join(root, 'tests/integration/lib/admin.mjs'));
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs/img/dashboard.png'));

const MISTRAL = 'mistralai/mistral-7b-chat';
const [gpt4, mixtral, mistral] = await Promise.all([
  h.startReplay({ model: h.GPT4, inputPrice: 10, outputPrice: 30, ttftMs: 150, tokensPerSec: 400 }),
  h.startReplay({ model: h.MIXTRAL, inputPrice: 0.6, outputPrice: 0.6, ttftMs: 60, tokensPerSec: 900, errorRate: 0.03 }),
  h.startReplay({ model: MISTRAL, inputPrice: 0.2, outputPrice: 0.2, ttftMs: 40, tokensPerSec: 1200 }),
]);
const gw = await startAdminGateway({
  models: [
    h.model(h.GPT4, gpt4.url, { price: { input_per_mtok: 10, output_per_mtok: 30 } }),
    h.model(h.MIXTRAL, mixtral.url, { price: { input_per_mtok: 0.6, output_per_mtok: 0.6 } }),
    h.model(MISTRAL, mistral.url, { price: { input_per_mtok: 0.2, output_per_mtok: 0.2 } }),
  ],
  routes: [
    { name: 'auto', policy: { type: 'static', model: h.MIXTRAL, fallbacks: [h.GPT4] } },
    { name: 'best', policy: { type: 'static', model: h.GPT4 } },
    { name: 'cascade', policy: { type: 'cascade', max_calls: 3, deadline_ms: 30000, tiers: [
      { models: [MISTRAL, h.MIXTRAL], judge: { type: 'agreement' }, threshold: 1 }, { model: h.GPT4 }] } },
    { name: 'ensemble', policy: { type: 'ensemble', members: [h.MIXTRAL, MISTRAL, h.GPT4],
      member_quality: [0.75, 0.6, 0.88], judge: 'agreement', aggregator: 'vote', deadline_ms: 30000 } },
  ],
  server: { threads: 2 },
});
const routes = ['auto', 'auto', 'auto', 'cascade', 'cascade', 'best', 'ensemble'];
let stop = false;
let cascadeId;
const client = async (c) => {
  for (let i = c; !stop; i += 4) {
    const route = routes[i % routes.length];
    const r = await h.postChat(gw.base, h.chatBody(route, h.demoPrompt(h.GPT4, i).prompt));
    if (route === 'cascade' && r.status === 200) cascadeId = r.headers.get('x-switchboard-decision');
    await h.sleep(80 + (i % 5) * 40);
  }
};
const clients = [0, 1, 2, 3].map(client);
await h.sleep(70000);
stop = true;
await Promise.all(clients);

const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage();
await page.setViewport({ width: 1440, height: 1000 });
await page.goto(`${gw.adminBase}/dashboard/`, { waitUntil: 'networkidle0' });
await page.select('#window', '60:1');
await page.waitForSelector('#chart-rate .uplot canvas');
await page.$eval('#q-id', (el, v) => { el.value = v; }, cascadeId);
await page.click('#explorer-form button[type=submit]');
await page.waitForSelector(`#results tr[data-id="${cascadeId}"]`);
await page.click(`#results tr[data-id="${cascadeId}"]`);
await page.waitForSelector('#detail-stages tr[data-stage]');
await page.$eval('#q-id', (el) => { el.value = ''; });
await page.select('#q-limit', '10');
await page.click('#explorer-form button[type=submit]');
await h.sleep(2500);
// Down to the end of the decision's detail (the config section below is left out).
const bottom = await page.$eval('#detail', (el) => el.getBoundingClientRect().bottom + window.scrollY + 12);
await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1440, height: Math.ceil(bottom) }, captureBeyondViewport: true });
console.log(`screenshot: ${out}`);
await browser.close();
await h.stopAll();
