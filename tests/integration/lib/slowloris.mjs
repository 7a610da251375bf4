// A slowloris client, run as a child process (fork) so that its timers do not disturb the latency
// measured by the test: holds COUNT connections to 127.0.0.1:PORT, each sending a request header
// that never ends — one more header line per connection every INTERVAL_MS.
//
// Messages to the parent: {ready: open} once every connection is up; on {stats: true} it answers
// {open, closedByPeer, lines}; on {stop: true} it closes everything and exits.
import net from 'node:net';

const [port, count, intervalMs] = process.argv.slice(2).map(Number);
const sockets = [];
let closedByPeer = 0;
let lines = 0;
let stopping = false;

function connect() {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    s.on('error', () => {});
    s.once('connect', () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: slow\r\n');
      resolve();
    });
    s.once('close', () => {
      if (!stopping) closedByPeer += 1;
      resolve();
    });
    sockets.push(s);
  });
}

for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, connect));
}
const alive = () => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
process.send({ ready: alive() });

// Trickle: every 10 ms, one header line to the next slice of connections.
const perTick = Math.max(1, Math.ceil(count / (intervalMs / 10)));
let next = 0;
setInterval(() => {
  for (let k = 0; k < perTick; k++) {
    const s = sockets[next];
    next = (next + 1) % sockets.length;
    if (s && !s.destroyed) {
      s.write(`X-Slow-${lines % 1000}: ${'a'.repeat(8)}\r\n`);
      lines += 1;
    }
  }
}, 10);

process.on('message', (m) => {
  if (m.stats) process.send({ open: alive(), closedByPeer, lines });
  if (m.stop) {
    stopping = true;
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
