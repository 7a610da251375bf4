// Sends exactly N chat requests (the one bench/chat.lua sends) over C keep-alive connections and
// exits non-zero unless every answer is a 200. For bench/callgrind.sh, which needs an exact request
// count (wrk runs for a time, not a count).
// Usage: node bench/load.mjs URL N [C]
import http from 'node:http';

const [url, nArg, cArg] = process.argv.slice(2);
const total = Number(nArg);
const conc = Number(cArg ?? 8);
if (!url || !(total > 0) || !(conc > 0)) {
  console.error('usage: node bench/load.mjs URL N [CONNECTIONS]');
  process.exit(2);
}
const body = JSON.stringify({
  model: 'bench-route',
  messages: [{role: 'user', content: 'Summarise in one sentence why a router sits in front of several language model endpoints.'}],
});
const agent = new http.Agent({keepAlive: true, maxSockets: conc});
let sent = 0, done = 0, bad = 0;
function one() {
  if (sent >= total) return;
  sent++;
  const req = http.request(`${url}/v1/chat/completions`, {
    method: 'POST', agent, headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
  }, (res) => {
    if (res.statusCode !== 200) bad++;
    res.resume();
    res.on('end', () => { done++; if (done === total) finish(); else one(); });
  });
  req.on('error', (e) => { console.error(e.message); process.exit(1); });
  req.end(body);
}
function finish() {
  agent.destroy();
  if (bad) { console.error(`${bad} of ${total} answers were not 200`); process.exit(1); }
  console.log(`${total} requests, all 200`);
}
for (let i = 0; i < conc; i++) one();
