// A redis-server for a test (Debian's; CI installs it): started on an ephemeral (or given) loopback
// port with nothing saved to disk. HAVE_REDIS / SKIP_NO_REDIS for describe()'s skip option.
import { spawn, spawnSync } from 'node:child_process';
import { closedPort, tempDir, startGateway } from './harness.mjs';
import { echoUpstream } from './echo_upstream.mjs';

export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
export const SKIP_NO_REDIS = HAVE_REDIS ? false
  : 'redis-server is not installed (apt-get install redis-server; CI installs it)';

// { port, proc, url } once it accepts connections; `portWanted` restarts one on the same port.
export async function startRedis(portWanted) {
  const port = portWanted ?? await closedPort();
  const dir = tempDir('sb-redis-');
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited ${code}:\n${out}`)); });
  });
  return { port, proc, url: `redis://127.0.0.1:${port}` };
}

// A redis-server, an echo upstream and two gateways sharing the server: `config(echoUrl)` gives
// startGateway()'s options without the state section, which is added. { redis, gws: [g1, g2] }.
export async function twoGatewaysSharingRedis(config) {
  const [redis, echo] = await Promise.all([startRedis(), echoUpstream()]);
  const options = config(echo.url);
  options.extraConfig = { ...(options.extraConfig ?? {}), state: { redis: redis.url } };
  const gws = await Promise.all([startGateway(options), startGateway(options)]);
  return { redis, gws };
}
