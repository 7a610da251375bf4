// Switchboard admin dashboard: live charts from GET /admin/api/timeseries, the decision explorer
// over GET /admin/decisions[/{id}], the running config and reload. Plain JS + uPlot (vendored).
'use strict';
(() => {
  const $ = (sel) => document.querySelector(sel);
  const PALETTE = ['#2f6fde', '#e8833a', '#1f8a4c', '#c8372d', '#8e5bd6', '#0f9aa8', '#b58900', '#d33682', '#6c71c4', '#586e75'];
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(d));
  const usd = (v) => (v === null || v === undefined ? '–' : v < 0.01 && v > 0 ? `$${Number(v).toExponential(2)}` : `$${Number(v).toFixed(4)}`);

  // The admin key: from the URL fragment (#key=...), kept for this tab only.
  const m = location.hash.match(/key=([^&]+)/);
  if (m) {
    sessionStorage.setItem('sb-admin-key', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  let key = sessionStorage.getItem('sb-admin-key') || '';

  async function api(path, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await fetch(path, { ...opts, headers });
    if (res.status === 401) {
      $('#key-form').hidden = false;
      $('#state').textContent = 'admin key needed';
      throw new Error('unauthorized');
    }
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    if (!res.ok) throw new Error(json?.error?.message || `${res.status} ${text.slice(0, 200)}`);
    return json;
  }

  $('#key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    key = $('#key').value;
    sessionStorage.setItem('sb-admin-key', key);
    $('#key-form').hidden = true;
    refresh();
    loadConfig();
  });

  // ------------------------------------------------------------------ live charts
  const charts = {};
  function chart(id, labels, data, { yfmt = (v) => v, stepped = false } = {}) {
    const el = $(`#${id}`);
    const width = Math.max(300, el.clientWidth || 420);
    const seriesKey = labels.join('\u0001');
    const series = [{}, ...labels.map((l, i) => ({
      label: l, stroke: PALETTE[i % PALETTE.length], width: 1.6,
      value: (u, v) => (v === null || v === undefined ? '–' : yfmt(v)),
      ...(stepped ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
    }))];
    const c = charts[id];
    if (c && c.key === seriesKey) {
      c.plot.setData(data);
      return;
    }
    if (c) c.plot.destroy();
    el.innerHTML = '';
    const plot = new uPlot({
      width, height: 190, series,
      scales: { x: { time: true } },
      axes: [{}, { size: 60, values: (u, vals) => vals.map((v) => yfmt(v)) }],
      legend: { live: true },
    }, data, el);
    charts[id] = { plot, key: seriesKey };
  }

  function labelled(t, byLabel, emptyLabel) {
    const labels = Object.keys(byLabel);
    if (!labels.length) return { labels: [emptyLabel], data: [t, t.map(() => 0)] };
    return { labels, data: [t, ...labels.map((l) => byLabel[l])] };
  }

  function cards(ts) {
    const tot = ts.totals;
    const secs = ts.t.length * ts.step_s;
    const items = [
      ['requests / s', fmt(tot.requests / secs, 2)],
      ['p50 latency', `${fmt(tot.p50_ms, 0)} ms`],
      ['p95 latency', `${fmt(tot.p95_ms, 0)} ms`],
      ['p99 latency', `${fmt(tot.p99_ms, 0)} ms`],
      ['error rate', tot.requests ? `${fmt(100 * tot.errors / tot.requests, 1)} %` : '–'],
      ['cache hit rate', tot.cache_hit_rate === null ? '–' : `${fmt(100 * tot.cache_hit_rate, 1)} %`],
      ['spend', usd(tot.cost_usd)],
      ['requests', String(tot.requests)],
    ];
    $('#cards').innerHTML = items.map(([l, v]) => `<div class="card"><div class="v">${esc(v)}</div><div class="l">${esc(l)}</div></div>`).join('');
  }

  function mix(ts) {
    const routes = Object.keys(ts.mix);
    if (!routes.length) { $('#mix').innerHTML = '<div class="empty">no requests in this window</div>'; return; }
    const colors = {};
    let n = 0;
    const color = (m) => (colors[m] ??= PALETTE[n++ % PALETTE.length]);
    $('#mix').innerHTML = routes.map((r) => {
      const models = ts.mix[r];
      const total = Object.values(models).reduce((a, b) => a + b, 0);
      const bar = Object.entries(models).map(([mdl, c]) => `<span title="${esc(mdl)}: ${c}" style="width:${(100 * c / total).toFixed(2)}%;background:${color(mdl)}"></span>`).join('');
      const legend = Object.entries(models).map(([mdl, c]) => `<span style="color:${color(mdl)}">■</span> ${esc(mdl)} ${fmt(100 * c / total, 0)}%`).join(' &nbsp; ');
      return `<div class="mixrow"><b>${esc(r)}</b> <span class="muted">(${total})</span><div class="mixbar">${bar}</div><div class="legend">${legend}</div></div>`;
    }).join('');
  }

  async function refresh() {
    const [seconds, step] = $('#window').value.split(':');
    let ts;
    try {
      ts = await api(`/admin/api/timeseries?seconds=${seconds}&step=${step}`);
    } catch (e) {
      $('#updated').textContent = `not updated: ${e.message}`;
      return;
    }
    const t = ts.t;
    cards(ts);
    chart('chart-rate', ['req/s'], [t, ts.requests_per_s], { yfmt: (v) => fmt(v, 2) });
    chart('chart-latency', ['p50', 'p95', 'p99'], [t, ts.p50_ms, ts.p95_ms, ts.p99_ms], { yfmt: (v) => fmt(v, 0) });
    chart('chart-errors', ['errors'], [t, ts.error_rate.map((v) => (v === null ? null : 100 * v))], { yfmt: (v) => `${fmt(v, 1)}%` });
    chart('chart-cache', ['hit rate'], [t, ts.cache_hit_rate.map((v) => (v === null ? null : 100 * v))], { yfmt: (v) => `${fmt(v, 0)}%` });
    const cm = labelled(t, ts.cost_usd.by_model, 'no spend');
    chart('chart-cost-model', cm.labels, cm.data, { yfmt: (v) => fmt(v, 4) });
    const cr = labelled(t, ts.cost_usd.by_route, 'no spend');
    chart('chart-cost-route', cr.labels, cr.data, { yfmt: (v) => fmt(v, 4) });
    const hasKeys = Object.keys(ts.cost_usd.by_key).length > 0;
    $('#fig-cost-key').hidden = !hasKeys;
    if (hasKeys) {
      const ck = labelled(t, ts.cost_usd.by_key, 'no spend');
      chart('chart-cost-key', ck.labels, ck.data, { yfmt: (v) => fmt(v, 4) });
    }
    mix(ts);
    $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  // ------------------------------------------------------------------ decision explorer
  let cursor = null;
  function searchParams() {
    const p = new URLSearchParams();
    for (const [id, name] of [['q-id', 'id'], ['q-route', 'route'], ['q-model', 'model'], ['q-outcome', 'outcome'], ['q-key', 'key']]) {
      const v = $(`#${id}`).value.trim();
      if (v) p.set(name, v);
    }
    p.set('limit', $('#q-limit').value);
    return p;
  }

  async function search(more = false) {
    const p = searchParams();
    if (more && cursor) p.set('before', cursor);
    let page;
    try {
      page = await api(`/admin/decisions?${p}`);
    } catch (e) {
      $('#results tbody').innerHTML = `<tr><td colspan="9" class="bad">${esc(e.message)}</td></tr>`;
      return;
    }
    cursor = page.next;
    $('#q-more').hidden = !cursor;
    const rows = page.data.map((d) => `<tr data-id="${esc(d.id)}">
      <td>${esc(new Date(d.time_ms).toLocaleTimeString())}</td><td><code>${esc(d.id)}</code></td>
      <td>${esc(d.route)}</td><td>${esc(d.model)}</td>
      <td class="${d.status >= 400 ? 'bad' : 'ok'}">${d.status}</td><td>${esc(d.outcome)}</td>
      <td class="num">${fmt(d.latency_ms, 1)}</td><td class="num">${usd(d.cost_usd)}</td><td>${esc(d.cache ?? '')}</td></tr>`).join('');
    if (more) $('#results tbody').insertAdjacentHTML('beforeend', rows);
    else $('#results tbody').innerHTML = rows || '<tr><td colspan="9" class="empty">no decision matches</td></tr>';
  }

  $('#explorer-form').addEventListener('submit', (e) => { e.preventDefault(); search(false); });
  $('#q-more').addEventListener('click', () => search(true));
  $('#results tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-id]');
    if (!tr) return;
    document.querySelectorAll('#results tr.sel').forEach((x) => x.classList.remove('sel'));
    tr.classList.add('sel');
    openDecision(tr.dataset.id);
  });

  // Why the chosen model won, in words, from the record's policy, reason and candidates.
  function why(d) {
    const lines = [`Policy ${d.policy || '–'} chose ${d.model || 'no model'}: ${d.reason || 'no reason recorded'}.`];
    const cands = d.candidates || [];
    const scored = cands.filter((c) => c.utility !== null && c.utility !== undefined);
    if (scored.length > 1) {
      const best = [...scored].sort((a, b) => b.utility - a.utility);
      const win = best.find((c) => c.model === d.model) || best[0];
      const runner = best.find((c) => c !== win);
      if (runner) {
        lines.push(`Its utility (predicted quality − λ·cost) was ${fmt(win.utility, 4)} against ${fmt(runner.utility, 4)} for the runner-up ${runner.model}` +
          (win.predicted_quality !== null && runner.predicted_quality !== null
            ? ` (quality ${fmt(win.predicted_quality, 3)} vs ${fmt(runner.predicted_quality, 3)}, cost ${usd(win.predicted_cost)} vs ${usd(runner.predicted_cost)}).`
            : '.'));
      }
    }
    const ineligible = cands.filter((c) => c.eligible === false);
    if (ineligible.length) lines.push(`Not eligible: ${ineligible.map((c) => `${c.model}${c.note ? ` (${c.note})` : ''}`).join(', ')}.`);
    if (d.cache?.status === 'hit') lines.push(`Answered from the cache (${d.cache.match}, similarity ${fmt(d.cache.similarity, 3)}), saving ${usd(d.cache.saved_usd)}.`);
    if ((d.calls || []).length) lines.push(`${d.calls.length} model calls; the accepted answer came from ${d.calls.find((c) => c.accepted)?.model ?? 'none'}.`);
    return lines.join('\n');
  }

  function table(cls, head, rows) {
    if (!rows.length) return '<div class="muted">none</div>';
    return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  async function openDecision(id) {
    let d;
    try {
      d = await api(`/admin/decisions/${encodeURIComponent(id)}`);
    } catch (e) {
      $('#detail').hidden = false;
      $('#detail').innerHTML = `<div class="bad">${esc(e.message)}</div>`;
      return;
    }
    const maxUs = Math.max(1, ...(d.stages || []).map((s) => s.us));
    const stages = (d.stages || []).map((s) => `<tr data-stage="${esc(s.name)}"><td>${esc(s.name)}</td><td class="num">${fmt(s.us, 1)}</td>
      <td><span class="bar" style="width:${Math.max(2, 240 * s.us / maxUs).toFixed(0)}px"></span></td><td>${esc(s.outcome)}</td></tr>`);
    const cands = (d.candidates || []).map((c) => `<tr class="${c.model === d.model ? 'chosen' : ''}"><td>${esc(c.model)}</td>
      <td class="num">${fmt(c.predicted_quality, 3)}</td><td class="num">${c.predicted_cost === null ? '–' : usd(c.predicted_cost)}</td>
      <td class="num">${fmt(c.utility, 4)}</td><td>${c.eligible ? 'yes' : 'no'}</td><td>${esc(c.note)}</td></tr>`);
    const calls = (d.calls || []).map((c) => `<tr class="${c.accepted ? 'chosen' : ''}"><td>${c.tier}</td><td>${esc(c.model)}</td><td>${esc(c.replica)}</td>
      <td>${esc(c.result)}</td><td class="num">${fmt(c.ms, 1)}</td><td class="num">${c.prompt_tokens}/${c.completion_tokens}</td>
      <td class="num">${usd(c.cost_usd)}</td><td class="num">${fmt(c.score, 3)}</td><td>${esc(c.extracted)}</td><td>${esc(c.note)}</td></tr>`);
    const attempts = (d.attempts || []).map((a) => `<tr><td>${esc(a.model)}</td><td>${esc(a.replica ?? '')}</td><td>${esc(a.result)}</td>
      <td class="num">${fmt(a.ms, 1)}</td><td>${a.hedge ? 'hedge' : ''}</td></tr>`);
    const guard = (d.guard || []).map((g) => `<tr><td>${esc(g.check)}</td><td>${esc(g.verdict)}</td><td class="num">${fmt(g.us, 1)}</td>
      <td>${esc(JSON.stringify(g.kinds ?? ''))}</td><td class="num">${fmt(g.score, 3)}</td></tr>`);
    $('#detail').hidden = false;
    $('#detail').innerHTML = `
      <h3>Decision <code id="detail-id">${esc(d.id)}</code></h3>
      <div>${esc(new Date(d.time_ms).toISOString())} · route <b>${esc(d.route)}</b> → model <b>${esc(d.model || '–')}</b>
        on ${esc(d.replica || '–')} · status <b class="${d.status >= 400 ? 'bad' : 'ok'}">${d.status}</b> ${esc(d.outcome)}
        · ${fmt(d.latency_ms, 1)} ms · ${usd(d.cost_usd)} · tokens ${d.usage?.prompt_tokens ?? 0}/${d.usage?.completion_tokens ?? 0} (${esc(d.usage?.source)})
        ${d.error ? `<div class="bad">${esc(d.error.code)}: ${esc(d.error.message)}</div>` : ''}</div>
      <h3>Why this model</h3><div class="why" id="detail-why">${esc(why(d))}</div>
      <h3>Stages</h3>${table('stages" id="detail-stages', ['stage', 'µs', '', 'outcome'], stages)}
      <h3>Candidates</h3>${table('cands" id="detail-candidates', ['model', 'predicted quality', 'predicted cost', 'utility', 'eligible', 'note'], cands)}
      <h3>Calls</h3>${table('calls" id="detail-calls', ['tier', 'model', 'replica', 'result', 'ms', 'tokens in/out', 'cost', 'score', 'answer', 'note'], calls)}
      <h3>Attempts</h3>${table('attempts', ['model', 'replica', 'result', 'ms', ''], attempts)}
      <h3>Guard</h3>${table('guard', ['check', 'verdict', 'µs', 'kinds', 'score'], guard)}
      <h3>Cache</h3><div>${d.cache ? esc(JSON.stringify(d.cache)) : '<span class="muted">route not cached</span>'}</div>`;
    $('#detail').scrollIntoView({ block: 'nearest' });
  }

  // ------------------------------------------------------------------ config and reload
  async function loadConfig() {
    try {
      const c = await api('/admin/config');
      $('#config-text').textContent = JSON.stringify(c.config, null, 2);
      $('#state').textContent = `${c.source} · generation ${c.generation} · loaded ${new Date(c.loaded_at_ms).toLocaleTimeString()}`;
    } catch (e) {
      $('#config-text').textContent = e.message;
    }
  }
  $('#reload').addEventListener('click', async () => {
    $('#reload-result').textContent = 'reloading…';
    try {
      const r = await api('/admin/reload', { method: 'POST' });
      $('#reload-result').textContent = `reloaded (generation ${r.generation}, ${fmt(r.ms, 0)} ms)` +
        (r.restart_required.length ? `; restart needed for: ${r.restart_required.join(', ')}` : '');
      loadConfig();
    } catch (e) {
      $('#reload-result').innerHTML = `<span class="bad">${esc(e.message)}</span>`;
    }
  });

  $('#window').addEventListener('change', refresh);
  refresh();
  search(false);
  loadConfig();
  setInterval(refresh, 2000);
})();
