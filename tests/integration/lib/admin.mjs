// Helpers for the admin listener's tests (docs/admin.md): a gateway started with an `admin:`
// section, the admin port read from its log, and authenticated requests.
import { startGateway } from './harness.mjs';

// startGateway() with `admin` merged into the config (listen defaults to any free port). Returns the
// gateway plus adminPort and adminBase.
export async function startAdminGateway({ admin = {}, ...opts } = {}) {
  const gw = await startGateway({
    ...opts,
    extraConfig: { ...(opts.extraConfig ?? {}), admin: { listen: '127.0.0.1:0', ...admin } },
  });
  const m = await gw.proc.waitFor(/admin listener on (?:\[?[0-9a-fA-F.:]+\]?):(\d+)/, 15000);
  const adminPort = Number(m[1]);
  return { ...gw, adminPort, adminBase: `http://127.0.0.1:${adminPort}` };
}

// A request to the admin listener. Returns {status, headers, text, json}.
export async function adminFetch(base, path, { key, method = 'GET', body, headers = {} } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
