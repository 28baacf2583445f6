// Bulwark dashboard: events (chart, tops, table, detail with highlighted matches and one-click exclusion), rules, modes.
import { drawTimeline } from './chart.js';

const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'bulwark.adminToken';
const views = ['login', 'events-view', 'event-view', 'rules-view', 'modes-view'];

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { message: text }; }
  if (res.status === 401) { showLogin('Your token was not accepted. Sign in again.'); throw new ApiError(401, json); }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

function show(id) {
  for (const v of views) $(`#${v}`).hidden = v !== id;
  for (const [nav, view] of [['#nav-events', 'events-view'], ['#nav-rules', 'rules-view'], ['#nav-modes', 'modes-view']]) {
    if (view === id || (id === 'event-view' && view === 'events-view')) $(nav).setAttribute('aria-current', 'page');
    else $(nav).removeAttribute('aria-current');
  }
}

function showLogin(message) {
  show('login');
  const p = $('#login-form .hint');
  if (message) p.textContent = message;
  $('#token').focus();
}

function node(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (k in n && typeof v !== 'string') n[k] = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

const pathOf = (url) => url.split('?')[0];
const fmtTime = (iso) => new Date(iso).toLocaleString();

// ---------------------------------------------------------------- events list
function filterParams() {
  const f = new FormData($('#filters'));
  const p = new URLSearchParams();
  for (const [k, v] of f) if (String(v).trim()) p.set(k, String(v).trim());
  return p;
}

async function loadEvents() {
  show('events-view');
  const p = filterParams();
  const status = $('#events-status');
  status.textContent = 'Loading…';
  try {
    const [list, tl, sigs, ips, paths] = await Promise.all([
      api('GET', `/api/events?${p}&limit=200`),
      api('GET', `/api/events/timeline?${p}&buckets=60`),
      api('GET', `/api/events/top?${p}&kind=signatures&n=10`),
      api('GET', `/api/events/top?${p}&kind=ips&n=10`),
      api('GET', `/api/events/top?${p}&kind=paths&n=10`),
    ]);
    $('#chart-caption').textContent = `Events over time. ${drawTimeline($('#chart'), tl)}`;
    renderTop('#top-signatures', sigs.top, (t) => `${t.key} ${t.name ?? ''}`, (t) => setFilter('rule', t.key));
    renderTop('#top-ips', ips.top, (t) => t.key, (t) => setFilter('ip', t.key));
    renderTop('#top-paths', paths.top, (t) => t.key, (t) => setFilter('path', t.key));
    renderEvents(list.events);
    status.textContent = `${list.count} event(s)${list.source === 'local' ? ' (from this instance only: no shared Redis stream configured or reachable)' : ''}.`;
  } catch (e) {
    if (e.status !== 401) status.textContent = `Could not load events: ${e.message}`;
  }
}

function setFilter(name, value) {
  const input = $(`#f-${name}`);
  input.value = value;
  loadEvents();
}

function renderTop(sel, items, label, onPick) {
  const ol = $(sel);
  ol.textContent = '';
  if (!items.length) ol.append(node('li', {}, 'none'));
  for (const t of items) ol.append(node('li', {}, node('button', { type: 'button', onclick: () => onPick(t), title: 'Filter by this' }, label(t)), ` — ${t.count}`));
}

function renderEvents(events) {
  const tbody = $('#events-table tbody');
  tbody.textContent = '';
  for (const e of events) {
    const open = () => { location.hash = `#/event/${e.id}`; };
    const tr = node('tr', { class: 'clickable', tabindex: '0', 'data-id': e.id, onclick: open, onkeydown: (ev) => { if (ev.key === 'Enter') open(); } },
      node('td', {}, fmtTime(e.time)),
      node('td', { class: `a-${e.action}` }, e.action),
      node('td', {}, e.site),
      node('td', { class: 'req' }, `${e.method} ${e.url}`),
      node('td', {}, e.clientIp),
      node('td', {}, e.matches.map((m) => m.id).join(', ') || e.policy || ''),
      node('td', {}, e.score),
      node('td', {}, node('a', { href: `#/event/${e.id}` }, e.id)));
    tbody.append(tr);
  }
}

// ---------------------------------------------------------------- event detail
/** The value with every occurrence of the matched part wrapped in <mark>. */
function highlighted(value, matched) {
  const pre = node('pre');
  if (!matched || !value.includes(matched)) { pre.append(value); return pre; }
  let rest = value;
  for (let i = rest.indexOf(matched); i >= 0; i = rest.indexOf(matched)) {
    pre.append(rest.slice(0, i), node('mark', {}, matched));
    rest = rest.slice(i + matched.length);
  }
  pre.append(rest);
  return pre;
}

let pendingExclusion = null;

async function loadEvent(id) {
  show('event-view');
  $('#exclusion-panel').hidden = true;
  $('#exclusion-status').textContent = '';
  let e;
  try { e = await api('GET', `/api/events/${encodeURIComponent(id)}`); } catch (err) {
    $('#event-title').textContent = `Event ${id}`;
    $('#event-facts').textContent = err.status === 404 ? 'This event is not known (it may have aged out).' : `Error: ${err.message}`;
    $('#event-matches').textContent = '';
    return;
  }
  $('#event-title').textContent = `Event ${e.id}`;
  const facts = $('#event-facts');
  facts.textContent = '';
  const rows = [['Time', fmtTime(e.time)], ['Action', e.action], ['Mode', e.mode], ['Site / route', `${e.site}${e.route ? ` ${e.route}` : ''}`], ['Request', `${e.method} ${e.url}`],
    ['Client IP', e.clientIp], ['Peer', e.peer], ['Score', `${e.score} (paranoia ${e.paranoia})`], ['Ruleset version', e.rulesetVersion]];
  if (e.policy) rows.push(['Rate-limit policy', e.policy]);
  if (e.backendStatus !== undefined) rows.push(['Backend status', e.backendStatus]);
  for (const [k, v] of rows) facts.append(node('dt', {}, k), node('dd', {}, v));
  const box = $('#event-matches');
  box.textContent = '';
  if (!e.matches.length) box.append(node('p', {}, 'No signature matched (a rate-limit or ban decision).'));
  e.matches.forEach((m, i) => {
    box.append(node('div', { class: 'match', 'data-signature': String(m.id) },
      node('h4', {}, `${m.id} ${m.name} `, node('small', {}, `(${m.family}, ${m.severity}, PL${m.paranoia}, +${m.score})`)),
      node('p', {}, 'Target: ', node('code', {}, m.target)),
      highlighted(m.value, m.matched),
      node('button', { type: 'button', class: 'allow', onclick: () => previewExclusion(e, i) }, `Allow this (exclude ${m.id} here)…`)));
  });
  const hb = $('#event-headers tbody');
  hb.textContent = '';
  for (const [k, v] of Object.entries(e.headers)) hb.append(node('tr', {}, node('td', {}, k), node('td', { class: 'req' }, v)));
}

async function previewExclusion(e, i) {
  const status = $('#exclusion-status');
  try {
    const r = await api('POST', `/api/events/${e.id}/exclusion`, { match: i, dryRun: true });
    pendingExclusion = { id: e.id, match: i };
    const lines = r.exclusions.map((x) => `Signature ${x.rule} will no longer be evaluated\n  on site:   ${x.site}\n  for path:  ${x.pathRegex ? `exactly ${pathOf(e.url)}` : x.pathPrefix ? `starting with ${x.pathPrefix}` : 'any'}\n  in target: ${x.target ?? 'every target'}\n\n${JSON.stringify(x, null, 2)}`);
    $('#exclusion-preview').textContent = lines.join('\n\n');
    $('#exclusion-panel').hidden = false;
    status.textContent = '';
    $('#exclusion-apply').focus();
  } catch (err) {
    status.textContent = `Cannot build an exclusion: ${err.message}`;
  }
}

async function applyExclusion() {
  if (!pendingExclusion) return;
  const status = $('#exclusion-status');
  try {
    const r = await api('POST', `/api/events/${pendingExclusion.id}/exclusion`, { match: pendingExclusion.match });
    const v = r.created.map((c) => c.result?.version).filter(Boolean).pop();
    status.textContent = `Exclusion applied${v ? ` (ruleset version ${v})` : ''}.`;
    $('#exclusion-panel').hidden = true;
    pendingExclusion = null;
  } catch (err) {
    status.textContent = `Not applied: ${err.message}`;
    status.className = 'error';
  }
}

// ---------------------------------------------------------------- rules
let rulesCache = [];
let exclusionsCache = [];

async function loadRules(message) {
  show('rules-view');
  const status = $('#rules-status');
  status.textContent = 'Loading…';
  try {
    const [r, x] = await Promise.all([api('GET', '/api/rules'), api('GET', '/api/exclusions')]);
    rulesCache = r.rules;
    exclusionsCache = x.exclusions;
    $('#rules-version').textContent = `(version ${r.version})`;
    renderRules();
    status.textContent = message ?? `${r.count} rule(s).`;
  } catch (e) {
    if (e.status !== 401) status.textContent = e.status === 404 ? 'The rule store API is not available on this admin listener.' : `Could not load rules: ${e.message}`;
  }
}

function renderRules() {
  const fam = $('#r-family').value.trim().toLowerCase();
  const text = $('#r-text').value.trim().toLowerCase();
  const tbody = $('#rules-table tbody');
  tbody.textContent = '';
  for (const r of rulesCache) {
    if (fam && r.family.toLowerCase() !== fam) continue;
    if (text && !`${r.id} ${r.name}`.toLowerCase().includes(text)) continue;
    const n = exclusionsCache.filter((x) => x.rule === String(r.id)).length;
    const enabled = node('input', { type: 'checkbox', checked: r.enabled, 'aria-label': `Rule ${r.id} enabled`, onchange: (ev) => changeRule(r, ev.target.checked ? 'enable' : 'disable') });
    const pl = node('select', { 'aria-label': `Rule ${r.id} paranoia level`, onchange: (ev) => changeRule(r, 'paranoia', Number(ev.target.value)) },
      ...[1, 2, 3, 4].map((l) => node('option', { value: String(l), selected: l === r.paranoia }, `PL${l}`)));
    tbody.append(node('tr', { 'data-rule': String(r.id) }, node('td', {}, r.id), node('td', {}, r.name), node('td', {}, r.family), node('td', {}, enabled), node('td', {}, pl), node('td', { class: 'excl-count' }, n)));
  }
  const xb = $('#exclusions-table tbody');
  xb.textContent = '';
  for (const x of exclusionsCache) xb.append(node('tr', { 'data-exclusion': x.id }, node('td', {}, x.id), node('td', {}, x.rule), node('td', {}, x.site ?? 'any'), node('td', { class: 'req' }, x.pathRegex ?? x.pathPrefix ?? 'any'), node('td', {}, x.target ?? 'any'), node('td', {}, x.note ?? '')));
}

async function changeRule(r, what, value) {
  const status = $('#rules-status');
  try {
    const res = what === 'paranoia' ? await api('PATCH', `/api/rules/${r.id}`, { paranoia: value }) : await api('POST', `/api/rules/${r.id}/${what}`);
    await loadRules(`${res.detail} — version ${res.version}.`);
  } catch (e) {
    await loadRules(`Not changed: ${e.message}`);
  }
}

// ---------------------------------------------------------------- modes
async function loadModes() {
  show('modes-view');
  const status = $('#modes-status');
  try {
    const [sites, modes] = await Promise.all([api('GET', '/api/sites'), api('GET', '/api/modes').catch(() => ({ modes: {} }))]);
    const tbody = $('#modes-table tbody');
    tbody.textContent = '';
    for (const s of sites.sites) {
      const current = modes.modes[s.name] ?? s.mode;
      const sel = node('select', { 'aria-label': `Mode of site ${s.name}`, onchange: async (ev) => {
        try {
          const r = await api('PUT', `/api/modes/${encodeURIComponent(s.name)}`, { mode: ev.target.value });
          status.textContent = `${r.detail} — version ${r.version}.`;
        } catch (e) { status.textContent = `Not changed: ${e.message}`; }
      } }, ...['block', 'detect', 'off'].map((m) => node('option', { value: m, selected: m === current }, m)));
      tbody.append(node('tr', {}, node('td', {}, s.name), node('td', {}, sel)));
    }
    status.textContent = '';
  } catch (e) {
    if (e.status !== 401) status.textContent = `Could not load modes: ${e.message}`;
  }
}

// ---------------------------------------------------------------- routing
async function route() {
  const h = location.hash || '#/events';
  const m = /^#\/event\/([A-Za-z0-9_-]+)$/.exec(h);
  if (m) return loadEvent(m[1]);
  if (h === '#/rules') return loadRules();
  if (h === '#/modes') return loadModes();
  return loadEvents();
}

async function whoAmI() {
  try {
    const me = await api('GET', '/api/whoami');
    $('#who').textContent = `${me.name} (${me.role})`;
    $('#logout').hidden = !sessionStorage.getItem(TOKEN_KEY);
    return true;
  } catch { return false; }
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
  $('#token').value = '';
  if (await whoAmI()) route();
});
$('#logout').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); $('#who').textContent = ''; showLogin('Signed out.'); });
$('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); if (location.hash.startsWith('#/event/')) location.hash = '#/events'; else loadEvents(); });
$('#f-clear').addEventListener('click', () => { $('#filters').reset(); loadEvents(); });
$('#exclusion-apply').addEventListener('click', applyExclusion);
$('#exclusion-cancel').addEventListener('click', () => { $('#exclusion-panel').hidden = true; pendingExclusion = null; });
$('#r-family').addEventListener('input', renderRules);
$('#r-text').addEventListener('input', renderRules);
window.addEventListener('hashchange', route);

if (await whoAmI()) route();
