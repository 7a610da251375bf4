// A TCP proxy in front of a redis-server that can lie about replies: every command is forwarded,
// and `rewrite(name, index)` — the command's upper-case name and how many commands of that name
// the proxy saw before it, over all connections — may return an error text that replaces Redis's
// reply (the command still ran), or the word DROP, which closes the connection instead of
// answering. It models a reply lost after Redis applied the command: an OOM error on a retry, a
// timeout, a proxy failure, a connection lost. Parses RESP (arrays, bulk and simple strings,
// errors, integers, RESP2 nils) just enough to frame commands and replies. `cut(ms)` drops every
// connection and refuses new ones for `ms` (a network partition between one client and Redis).
import net from 'node:net';

// The end offset of the RESP value starting at `pos` in `buf`, or -1 when incomplete.
function respEnd(buf, pos) {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return -1;
  const type = String.fromCharCode(buf[pos]);
  const n = Number(buf.toString('latin1', pos + 1, eol));
  if (type === '+' || type === '-' || type === ':') return eol + 2;
  if (type === '$') return n < 0 ? eol + 2 : (buf.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : -1);
  if (type === '*') {
    let at = eol + 2;
    for (let i = 0; i < n; ++i) {
      at = respEnd(buf, at);
      if (at < 0) return -1;
    }
    return at;
  }
  throw new Error(`unexpected RESP type ${type}`);
}

// The name of the command (an array of bulk strings) at `pos`.
function commandName(buf, pos) {
  const first = buf.indexOf('\r\n', pos) + 2;   // past "*N\r\n"
  const lenEnd = buf.indexOf('\r\n', first);    // "$len"
  const len = Number(buf.toString('latin1', first + 1, lenEnd));
  return buf.toString('latin1', lenEnd + 2, lenEnd + 2 + len).toUpperCase();
}

export async function startRespProxy(redisPort, rewrite) {
  const counts = new Map();
  const sockets = new Set();
  let refuseUntil = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) { client.destroy(); return; }
    const upstream = net.connect(redisPort, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); };
    const pending = [];  // per command sent and not yet answered: the error to answer, or null
    let fromClient = Buffer.alloc(0);
    let fromRedis = Buffer.alloc(0);
    client.on('data', (d) => {
      fromClient = Buffer.concat([fromClient, d]);
      let end;
      while ((end = respEnd(fromClient, 0)) > 0) {
        const name = commandName(fromClient, 0);
        const index = counts.get(name) ?? 0;
        counts.set(name, index + 1);
        pending.push(rewrite(name, index) ?? null);
        upstream.write(fromClient.subarray(0, end));
        fromClient = fromClient.subarray(end);
      }
    });
    upstream.on('data', (d) => {
      fromRedis = Buffer.concat([fromRedis, d]);
      let end;
      while ((end = respEnd(fromRedis, 0)) > 0) {
        const lie = pending.shift();
        if (lie === 'DROP') { close(); return; }
        client.write(lie ? `-${lie}\r\n` : fromRedis.subarray(0, end));
        fromRedis = fromRedis.subarray(end);
      }
    });
    client.on('error', close); upstream.on('error', close);
    client.on('close', close); upstream.on('close', close);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port, url: `redis://127.0.0.1:${port}`, counts,
    cut: (ms) => { refuseUntil = Date.now() + ms; for (const s of sockets) s.destroy(); sockets.clear(); },
    close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
}
