// The campaign dashboard: plain ES module, no build step, no framework. It reads only the JSON
// API under /api (the same results the CLI prints with --json) and never computes what the
// server already decides. Hash routing (#/overview, #/campaigns/12 …); the token lives in
// sessionStorage after login. Every failure is shown, never a blank page.

const TOKEN_KEY = 'campaign.dashboard.token';
const POLL_MS = 5000;

const CAMPAIGN_STATES = ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED'];
const RECIPIENT_STATES = ['PENDING', 'PAUSED', 'SENDING', 'SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED', 'UNKNOWN'];
const DONE_STATES = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED'];
const WORKER_EVENTS = [
  'claim', 'sent', 'failed', 'retry', 'fallback', 'paused', 'resumed', 'outside_window', 'daily_limit', 'hourly_limit', 'delay',
  'block_pause', 'session_not_working', 'unknown_outcome', 'reconciled', 'worker_error', 'idle', 'completed', 'worker_started',
  'worker_stopped', 'skipped', 'opted_out',
];
// Shown only when the server does not send its own help text with the settings.
const PRESET_NAMES = ['cold', 'warming', 'warm'];

// ---------------------------------------------------------------------------------------------
// small helpers

/** Builds an element: h('a', {href, class, onclick}, 'text', child, [more]). Strings are text, never HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // Through the CSSOM: the Content-Security-Policy refuses style attributes (no 'unsafe-inline').
    else if (k === 'style') el.style.cssText = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** replaceChildren that flattens arrays and drops null/false (which replaceChildren would print). */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Text with `command` spans shown as code (server messages name commands that way). */
function withCode(text) {
  const parts = String(text ?? '').split(/`([^`]+)`/);
  return parts.map((p, i) => (i % 2 ? h('code', {}, p) : p)).filter((p) => p !== '');
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const pad = (n) => String(n).padStart(2, '0');

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function relTime(iso) {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '';
  const abs = Math.abs(ms);
  const unit = abs < 90_000 ? `${Math.round(abs / 1000)} s` : abs < 5_400_000 ? `${Math.round(abs / 60_000)} min` : abs < 172_800_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / 86_400_000)} d`;
  return ms >= 0 ? `in ${unit}` : `${unit} ago`;
}

function timeEl(iso, withRel = true) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const rel = withRel ? relTime(iso) : '';
  return h('time', { datetime: iso, title: iso }, fmtTime(iso), rel ? h('span', { class: 'muted small' }, ` (${rel})`) : null);
}

const humanize = (key) =>
  String(key)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .replace(/^./, (c) => c.toUpperCase());

const num = (v) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);

function badge(text, kind) {
  if (text === null || text === undefined || text === '') return h('span', { class: 'muted' }, '—');
  return h('span', { class: `badge ${kind ?? String(text).replace(/[^A-Za-z0-9_-]/g, '_')}` }, String(text));
}

/** The first array in a response: `[..]`, `{campaigns:[..]}`, `{items:[..]}` … */
function pickArray(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of keys) if (Array.isArray(data[k])) return data[k];
  for (const v of Object.values(data)) if (Array.isArray(v)) return v;
  return [];
}

function tableWrap(table, label) {
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}

/** A table from column specs: [{label, value(row) → node|string, num?}]. */
function dataTable(label, columns, rows, empty = 'Nothing to show.') {
  if (!rows || rows.length === 0) return h('p', { class: 'muted' }, empty);
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(r)))));
  return tableWrap(h('table', {}, h('caption', { class: 'skip' }, label), h('thead', {}, head), h('tbody', {}, body)), label);
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '—') : v)]));
}

/** Any JSON value, readably: scalars as text, objects as key/value, arrays of objects as a table. */
function renderValue(v, label = 'details', depth = 0) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'boolean') return badge(v ? 'yes' : 'no', v ? 'ok' : 'bad');
  if (typeof v !== 'object') {
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return timeEl(v);
    return String(v);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return h('span', { class: 'muted' }, 'none');
    if (v.every((x) => x === null || typeof x !== 'object')) return v.join(', ');
    if (depth > 1) return h('code', {}, JSON.stringify(v));
    const keys = [...new Set(v.flatMap((x) => (x && typeof x === 'object' ? Object.keys(x) : [])))].slice(0, 10);
    return dataTable(label, keys.map((k) => ({ label: humanize(k), value: (r) => renderValue(r?.[k], k, depth + 2) })), v);
  }
  if (depth > 2) return h('code', {}, JSON.stringify(v));
  return kv(Object.entries(v).map(([k, x]) => [humanize(k), renderValue(x, k, depth + 1)]));
}

function progressBar(done, total, label) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 1000) / 10) : 0;
  return h(
    'div',
    { class: 'progress' },
    h('div', { class: 'track', role: 'progressbar', 'aria-label': label ?? 'Progress', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done), 'aria-valuetext': `${done} of ${total} (${pct}%)` },
      h('div', { class: 'fill', style: `width:${pct}%` })),
    h('span', { class: 'pct' }, total > 0 ? `${done}/${total} · ${pct}%` : 'no rows'),
  );
}

function countsLine(counts) {
  const entries = RECIPIENT_STATES.filter((s) => num(counts?.[s]) > 0).map((s) => h('span', {}, `${s.toLowerCase().replace(/_/g, ' ')}: `, h('strong', {}, String(counts[s]))));
  return h('div', { class: 'counts' }, entries.length ? entries : h('span', {}, 'no rows yet'));
}

function doneOf(counts) {
  return DONE_STATES.reduce((a, s) => a + num(counts?.[s]), 0);
}
function totalOf(counts) {
  return Object.values(counts ?? {}).reduce((a, b) => a + num(b), 0);
}

// ---------------------------------------------------------------------------------------------
// token and API

const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = body && typeof body === 'object' && body.error ? body.error : null;
    super(e?.message ?? fallback ?? `The server answered ${status}`);
    this.status = status;
    this.code = e?.code ?? (status ? `HTTP_${status}` : 'NETWORK');
    this.details = e?.details ?? {};
  }
  get issues() {
    return Array.isArray(this.details?.issues) ? this.details.issues : [];
  }
}

async function request(path, { method = 'GET', body, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token.get();
  if (auth && t) headers.Authorization = `Bearer ${t}`;
  // A FormData body (media upload) goes as is: the browser sets multipart/form-data with its boundary.
  const isForm = typeof FormData !== 'undefined' && body instanceof FormData;
  if (body !== undefined && !isForm) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : isForm ? body : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, null, `The dashboard server cannot be reached (${e?.message ?? e}). Is \`campaign serve\` running?`);
  }
  if (!res.ok) {
    let data = null;
    const text = await res.text().catch(() => '');
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
    const err = new ApiError(res.status, data, text && !data ? `${res.status} ${res.statusText}: ${text.slice(0, 300)}` : `${res.status} ${res.statusText}`);
    if (res.status === 401 && auth) {
      token.clear();
      sessionExpired(err);
    }
    throw err;
  }
  return res;
}

async function api(path, options) {
  const res = await request(path, options);
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') ?? '';
  return type.includes('json') ? res.json() : res.text();
}

const post = (path, body = {}) => api(path, { method: 'POST', body });

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Reports are fetched with the token header and saved as a Blob (a plain link cannot carry it). */
async function download(path, fallbackName) {
  try {
    const res = await request(path);
    const blob = await res.blob();
    const cd = res.headers.get('content-disposition') ?? '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    const name = m ? decodeURIComponent(m[1]) : fallbackName;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
    flash(`Downloaded ${name} (${blob.size} bytes).`, 'ok');
  } catch (e) {
    flash(e, 'error');
  }
}

function downloadButton(label, path, name) {
  return h('button', { type: 'button', onclick: () => download(path, name), 'data-download': name }, label);
}

// ---------------------------------------------------------------------------------------------
// messages, confirmation

let keepFlash = false;

function errorBox(err) {
  const box = h('div', { class: 'msg error', role: 'alert' });
  const message = err instanceof Error ? err.message : String(err);
  append(box, withCode(message));
  if (err instanceof ApiError) {
    const issues = err.issues;
    if (issues.length > 1 || (issues.length === 1 && !message.includes(issues[0].message))) {
      box.append(h('ul', {}, issues.map((i) => h('li', {}, i.path ? `${i.path}: ${i.message}` : i.message))));
    }
    if (err.code) box.append(h('div', { class: 'code' }, err.code));
  }
  return box;
}

function flash(msg, kind = 'info', persist = false) {
  const el = document.getElementById('flash');
  const node = kind === 'error' ? errorBox(msg) : h('div', { class: `msg ${kind}` }, withCode(msg instanceof Error ? msg.message : String(msg)));
  fill(el, node);
  keepFlash = persist;
  if (kind === 'ok' || kind === 'info') {
    setTimeout(() => {
      if (node.isConnected) node.remove();
    }, 8000);
  }
}

/**
 * A modal confirmation; resolves {ok, reason}. Native <dialog>, so it is keyboard accessible.
 * reason: false (no field), true (optional) or 'required' (the dialog stays open until one is typed).
 */
function confirmDialog(text, { title = 'Are you sure?', reason = false, okLabel = 'Confirm', danger = false } = {}) {
  const dlg = document.getElementById('confirm');
  const form = document.getElementById('confirm-form');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-reason-wrap').hidden = !reason;
  const required = reason === 'required';
  const label = document.querySelector('label[for="confirm-reason"]');
  if (label) label.textContent = required ? 'Reason (required, kept in the admin activity log)' : 'Reason (optional)';
  const input = document.getElementById('confirm-reason');
  input.value = '';
  input.removeAttribute('aria-invalid');
  const reasonError = document.getElementById('confirm-reason-error');
  if (reasonError) {
    reasonError.hidden = true;
    reasonError.textContent = '';
  }
  const ok = document.getElementById('confirm-ok');
  ok.textContent = okLabel;
  ok.className = danger ? 'primary danger' : 'primary';
  const check = (e) => {
    if (!required || e.submitter?.value !== 'ok' || input.value.trim() !== '') return;
    e.preventDefault();
    input.setAttribute('aria-invalid', 'true');
    if (reasonError) {
      reasonError.textContent = 'A reason is required: say why, for the admin activity log.';
      reasonError.hidden = false;
    }
    input.focus();
  };
  form.addEventListener('submit', check);
  return new Promise((resolve) => {
    dlg.returnValue = '';
    dlg.addEventListener(
      'close',
      () => {
        form.removeEventListener('submit', check);
        resolve({ ok: dlg.returnValue === 'ok', reason: input.value.trim() || undefined });
      },
      { once: true },
    );
    dlg.showModal();
    (reason ? input : ok).focus();
  });
}

// ---------------------------------------------------------------------------------------------
// forms with the server's per-field messages

/** A labelled field: {wrap, input, error}. The error slot is filled from the server's issues. */
function field(id, label, input, help) {
  input.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
  input.setAttribute('aria-describedby', [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, help ? h('p', { class: 'muted small', id: `${id}-help` }, help) : null, error);
  return { wrap, input, error };
}

/** Clears every field's error. */
function clearIssues(fields) {
  for (const f of Object.values(fields)) {
    f.error.hidden = true;
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
}

/**
 * Puts each issue of a server error next to its field (issue.path is the field name); the status
 * box gets the server's message, with the issues no field shows. Focuses the first bad field.
 */
function showIssues(fields, err, status, lead = 'Nothing was saved.') {
  clearIssues(fields);
  const issues = err instanceof ApiError ? err.issues : [];
  const shown = new Set();
  for (const i of issues) {
    const key = String(i.path ?? '').split('.')[0];
    const f = fields[key];
    if (!f) continue;
    f.error.textContent = f.error.textContent ? `${f.error.textContent}; ${i.message}` : i.message;
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    shown.add(i);
  }
  const box = errorBox(err);
  if (shown.size && lead) box.prepend(`${lead} `);
  fill(status, box);
  const first = Object.values(fields).find((f) => f.input.getAttribute('aria-invalid') === 'true');
  first?.input.focus();
}

/** A busy guard for a submit button: disabled while the request runs. */
async function busyButton(button, fn) {
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
  }
}

/**
 * A form of labelled fields whose submit runs `submit(status)` with the button busy and the old
 * messages cleared; a thrown error is shown next to its fields (issueFields maps issue paths).
 */
function issueForm({ id, label, statusId, submitLabel, fields, issueFields = fields, lead, submit }) {
  const status = h('div', { id: statusId, 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h(
    'form',
    {
      class: 'form-card',
      id,
      'aria-label': label,
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        busyButton(button, async () => {
          clearIssues(fields);
          status.replaceChildren();
          try {
            await submit(status, form);
          } catch (err) {
            showIssues(issueFields, err, status, lead);
          }
        });
      },
    },
    h('div', { class: 'form-grid' }, Object.values(fields).map((f) => f.wrap)),
    h('div', { class: 'actions' }, button),
    status,
  );
  return form;
}

// ---------------------------------------------------------------------------------------------
// router

const routes = [
  [/^\/login$/, pageLogin],
  [/^\/overview$/, pageOverview],
  [/^\/campaigns$/, pageCampaigns],
  [/^\/campaigns\/new$/, pageCampaignNew],
  [/^\/campaigns\/(\d+)$/, pageCampaign],
  [/^\/running$/, pageRunning],
  [/^\/testing$/, pageTesting],
  [/^\/testing\/(\d+)$/, pageTestRun],
  [/^\/logs$/, pageLogs],
  [/^\/contacts$/, pageContacts],
  [/^\/media$/, pageMedia],
  [/^\/settings$/, pageSettings],
  [/^\/activity$/, pageActivity],
  [/^\/docs$/, pageDocs],
];

const current = { gen: 0, path: '', refresh: null, refreshing: false };

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = raw.split('?');
  return { path: path.startsWith('/') ? path : `/${path}`, params: Object.fromEntries(new URLSearchParams(query)) };
}

function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

function setQuery(path, params) {
  history.replaceState(null, '', `#${path}${qs(params)}`);
}

function sessionExpired(err) {
  if (parseHash().path === '/login') return;
  flash(`${err.message} Log in again.`, 'error', true);
  stopLive();
  go('/login');
}

async function render() {
  const { path, params } = parseHash();
  const gen = ++current.gen;
  current.path = path;
  current.refresh = null;
  if (!keepFlash) document.getElementById('flash').replaceChildren();
  keepFlash = false;
  const main = document.getElementById('main');
  const loggedIn = Boolean(token.get());
  document.getElementById('top').hidden = !loggedIn || path === '/login';
  if (!loggedIn && path !== '/login') {
    go('/login');
    return;
  }
  if (loggedIn) startLive();
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    if (path === target || path.startsWith(`${target}/`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.getElementById('menu-toggle').setAttribute('aria-expanded', 'false');
  const match = routes.map(([re, fn]) => [re.exec(path), fn]).find(([m]) => m);
  const view = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, view);
  if (!match) {
    fill(view, h('h1', {}, 'Page not found'), h('p', {}, 'There is no page at ', h('code', {}, path), '. ', h('a', { href: '#/overview' }, 'Go to the overview'), '.'));
    return;
  }
  const [m, page] = match;
  const ctx = { view, params, args: m.slice(1), alive: () => gen === current.gen };
  try {
    await page(ctx);
  } catch (e) {
    if (!ctx.alive()) return;
    fill(view, h('h1', {}, 'Something went wrong'), errorBox(e), h('p', {}, h('button', { type: 'button', onclick: () => render() }, 'Try again')));
  }
  if (ctx.alive()) {
    const title = view.querySelector('h1')?.textContent;
    document.title = title ? `${title} · campaign` : 'campaign · dashboard';
  }
}

/** A page that re-renders part of itself on live events gives its refresher here. */
function onRefresh(ctx, fn) {
  current.refresh = async () => {
    if (!ctx.alive()) return;
    await fn();
  };
}

// ---------------------------------------------------------------------------------------------
// live updates: Server-Sent Events, falling back to polling every 5 s

const live = { es: null, poll: null, retry: null, timer: null, mode: 'off' };

function setLiveLabel(mode) {
  live.mode = mode;
  const el = document.getElementById('live');
  el.className = `live ${mode === 'sse' ? 'on' : mode === 'poll' ? 'poll' : ''}`;
  el.textContent = mode === 'sse' ? 'live' : mode === 'poll' ? 'polling every 5 s' : '';
}

function scheduleRefresh(delay = 300) {
  clearTimeout(live.timer);
  live.timer = setTimeout(runRefresh, delay);
}

async function runRefresh() {
  if (!current.refresh || current.refreshing) return;
  if (document.querySelector('dialog[open]')) return;
  current.refreshing = true;
  try {
    await current.refresh();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) console.warn('refresh failed', e);
  } finally {
    current.refreshing = false;
  }
}

function startPolling() {
  if (live.poll) return;
  setLiveLabel('poll');
  live.poll = setInterval(runRefresh, POLL_MS);
  // Try the stream again now and then; polling continues until it opens.
  clearTimeout(live.retry);
  live.retry = setTimeout(() => {
    live.retry = null;
    if (token.get()) openStream();
  }, 60_000);
}

function stopPolling() {
  clearInterval(live.poll);
  live.poll = null;
}

function openStream() {
  if (live.es) return;
  const t = token.get();
  if (!t) return;
  if (typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  let es;
  try {
    es = new EventSource(`/api/events/stream?token=${encodeURIComponent(t)}`);
  } catch {
    startPolling();
    return;
  }
  live.es = es;
  es.onopen = () => {
    stopPolling();
    setLiveLabel('sse');
  };
  es.onerror = () => {
    es.close();
    if (live.es === es) live.es = null;
    startPolling();
  };
  for (const name of ['summary', 'workers', 'worker_event']) es.addEventListener(name, () => scheduleRefresh());
  es.addEventListener('notification', (ev) => {
    let n = null;
    try {
      n = JSON.parse(ev.data);
    } catch {
      n = { message: ev.data };
    }
    const text = notificationText(n);
    flash(`Notification: ${text}`, n?.level === 'error' || n?.severity === 'error' ? 'error' : 'info');
    scheduleRefresh();
  });
}

function startLive() {
  if (live.es || live.poll) return;
  openStream();
}

function stopLive() {
  live.es?.close();
  live.es = null;
  stopPolling();
  clearTimeout(live.retry);
  live.retry = null;
  setLiveLabel('off');
}

// ---------------------------------------------------------------------------------------------
// pages: login

async function pageLogin({ view, params }) {
  const err = h('div', { id: 'login-error', 'aria-live': 'assertive' });
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-error token-help' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h(
    'form',
    {
      class: 'login stack',
      'aria-labelledby': 'login-title',
      onsubmit: async (e) => {
        e.preventDefault();
        err.replaceChildren();
        const value = input.value.trim();
        if (!value) {
          fill(err, errorBox('Enter the dashboard token (DASHBOARD_API_TOKEN).'));
          return;
        }
        button.disabled = true;
        try {
          await api('/api/auth/login', { method: 'POST', body: { token: value }, auth: false });
          token.set(value);
          document.getElementById('flash').replaceChildren();
          go(params.next && params.next.startsWith('/') && params.next !== '/login' ? params.next : '/overview');
        } catch (e2) {
          const text =
            e2.status === 401
              ? `That token is not right. ${e2.message !== '401 Unauthorized' ? e2.message : ''}`
              : e2.status === 429
                ? `Too many failed attempts from this address; wait and try again. ${e2.message}`
                : e2.message;
          fill(err, errorBox(Object.assign(new ApiError(e2.status, null, text.trim()), { code: e2.code })));
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'login-title' }, 'Log in'),
    h('p', { class: 'muted', id: 'token-help' }, 'Enter the dashboard token (the DASHBOARD_API_TOKEN of ', h('code', {}, 'campaign serve'), '). It is kept in this browser tab only.'),
    h('div', {}, h('label', { for: 'token' }, 'Dashboard token'), input),
    err,
    h('div', { class: 'actions' }, button),
  );
  stopLive();
  fill(view, form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// pages: overview

const settle = (p) => p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));

function statusOf(v) {
  if (!v || typeof v !== 'object') return null;
  const s = v.status ?? v.state ?? v.health;
  if (typeof s === 'string') return s;
  if (typeof v.ok === 'boolean') return v.ok ? 'ok' : 'down';
  if (typeof v.healthy === 'boolean') return v.healthy ? 'ok' : 'down';
  if (typeof v.up === 'boolean') return v.up ? 'ok' : 'down';
  return null;
}

function statusKind(s) {
  const t = String(s).toLowerCase();
  if (/^(ok|up|working|healthy|running|connected|configured|alive|ready)$/.test(t)) return 'ok';
  if (/(down|fail|error|stopped|unreachable|missing|dead|unhealthy|bad|stale)/.test(t)) return 'bad';
  if (/(warn|starting|scan|degraded|unknown|not_configured|not configured|disabled|off|idle)/.test(t)) return 'warn';
  return undefined;
}

function componentCard(name, value) {
  const s = statusOf(value);
  let rest = value;
  if (s && value && typeof value === 'object' && !Array.isArray(value)) {
    const used = ['status', 'state', 'health', 'ok', 'healthy', 'up'].find((k) => k in value);
    rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== used));
  }
  return h('section', { class: 'card', 'aria-label': humanize(name), 'data-component': name }, h('h3', {}, humanize(name), ' ', s ? badge(s, statusKind(s)) : null), renderValue(rest, name));
}

const ATTENTION_KEYS = ['attention', 'attentionItems', 'attention_items', 'alerts', 'problems', 'warnings'];

function attentionList(items) {
  if (!items || items.length === 0) return h('p', { class: 'msg ok' }, 'Nothing needs attention.');
  return h(
    'ul',
    { class: 'stack', id: 'attention' },
    items.map((a) => {
      if (typeof a !== 'object' || a === null) return h('li', {}, String(a));
      const level = a.severity ?? a.level ?? a.kind;
      const text = a.title ?? a.message ?? a.summary ?? a.text ?? JSON.stringify(a);
      const hint = a.hint ?? a.fix ?? a.action ?? a.command;
      const link = a.testRunId ? `#/testing/${a.testRunId}` : a.campaignId ? `#/campaigns/${a.campaignId}` : null;
      return h('li', {}, level ? badge(level, level === 'error' ? 'bad' : 'warn') : null, ' ', link ? h('a', { href: link }, text) : h('strong', {}, text),
        a.detail ? h('div', { class: 'small' }, withCode(a.detail)) : null,
        hint ? h('div', { class: 'muted small' }, 'Run: ', h('code', {}, typeof hint === 'string' ? hint : JSON.stringify(hint))) : null);
    }),
  );
}

function componentsSection(list) {
  return h(
    'div',
    { class: 'grid', id: 'components' },
    list.map((c) => {
      if (!c || typeof c !== 'object' || !('state' in c || 'ok' in c)) return componentCard(c?.name ?? 'component', c);
      const state = c.state ?? (c.ok ? 'up' : 'down');
      const kind = c.ok ? (state === 'up' ? 'ok' : undefined) : state === 'not_configured' ? 'warn' : 'bad';
      return h(
        'section',
        { class: 'card', 'aria-label': c.name, 'data-component': c.kind ?? c.name },
        h('h3', {}, c.name, ' ', badge(String(state).replace(/_/g, ' '), kind)),
        c.detail ? h('p', { class: 'small' }, withCode(c.detail)) : null,
        h('p', { class: 'muted small' }, [c.kind, c.latencyMs !== null && c.latencyMs !== undefined ? `${c.latencyMs} ms` : null, c.required === false ? 'optional' : c.required ? 'required' : null].filter(Boolean).join(' · ')),
      );
    }),
  );
}

function sessionsTable(sessions) {
  return dataTable('WAHA sessions', [
    { label: 'Session', value: (s) => s.name },
    { label: 'WAHA', value: (s) => (s.wahaStatus ? badge(s.wahaStatus) : h('span', { class: 'muted' }, s.inWaha === false ? 'not in WAHA' : 'unknown')) },
    { label: 'Today', num: true, value: (s) => `${s.sentToday ?? 0}/${s.dailyLimit ?? '?'}` },
    { label: 'Last hour', num: true, value: (s) => `${s.lastHour ?? 0}/${s.hourlyLimit ?? '?'}` },
    { label: 'Window', value: (s) => (s.window ? [badge(s.window.open ? 'open' : 'closed', s.window.open ? 'ok' : 'warn'), ` ${s.window.start}–${s.window.end} ${s.window.days ?? ''}`] : '—') },
    { label: 'Can send', value: (s) => (s.canSendNow ? badge('now', 'ok') : [badge(s.heldBy ?? 'held', 'warn'), s.heldMessage ? h('div', { class: 'small' }, s.heldMessage) : null]) },
    { label: 'Next send', value: (s) => timeEl(s.nextAllowedSendAt) },
    { label: 'Last send', value: (s) => timeEl(s.lastSendAt) },
  ], sessions, 'No WAHA session is known yet.');
}

function workersTable(workers) {
  return dataTable('Workers', [
    { label: 'Worker', value: (w) => w.name },
    { label: 'State', value: (w) => [badge(w.state, w.stale ? 'bad' : w.stopped ? undefined : 'ok'), w.stale ? [' ', badge('stale', 'bad')] : null] },
    { label: 'Host / pid', value: (w) => `${w.host ?? '?'} / ${w.pid ?? '?'}` },
    { label: 'Last seen', value: (w) => timeEl(w.lastSeenAt) },
    { label: 'Detail', value: (w) => w.detail ?? '' },
    { label: 'Version', value: (w) => w.version ?? '' },
  ], workers, withCode('No worker has run yet. Start one with `campaign worker`.'));
}

function runningTable(items) {
  return items.length === 0
    ? h('p', { class: 'muted' }, 'Nothing is running or paused.')
    : dataTable('Running campaigns and test runs', [
        { label: 'Name', value: (r) => h('a', { href: r.kind === 'test' ? `#/testing/${r.id}` : `#/campaigns/${r.id}` }, r.name) },
        { label: 'Status', value: (r) => badge(r.status) },
        { label: 'Progress', value: (r) => progressBar(num(r.done), num(r.total), `Progress of ${r.name}`) },
        { label: 'Latest', value: (r) => (r.latest ? `${r.latest.event}${r.latest.reason ? `: ${r.latest.reason}` : ''}` : '—') },
      ], items);
}

function notificationText(n) {
  if (!n || typeof n !== 'object') return String(n ?? '');
  const head = n.title ?? n.message ?? n.summary ?? '';
  return n.body ? `${head}${head ? ': ' : ''}${n.body}` : head || JSON.stringify(n);
}

async function pageOverview(ctx) {
  const { view } = ctx;
  const body = h('div', {});
  fill(view, h('h1', {}, 'Overview'), body);
  const draw = async () => {
    const [overview, notes] = await Promise.all([settle(api('/api/overview')), settle(api('/api/notifications'))]);
    const o = overview.ok && overview.value && typeof overview.value === 'object' ? overview.value : null;
    const running = o && Array.isArray(o.running) ? { ok: true, value: { items: o.running } } : await settle(api('/api/running'));
    if (!ctx.alive()) return;
    const parts = [];
    if (o) {
      const attention = ATTENTION_KEYS.map((k) => o[k]).find(Array.isArray) ?? [];
      parts.push(
        h('p', {}, typeof o.ok === 'boolean' ? badge(o.ok ? 'all required components up' : 'a required component is down', o.ok ? 'ok' : 'bad') : null,
          o.at ? h('span', { class: 'muted small' }, ` as of ${fmtTime(o.at)}${o.timezone ? ` · ${o.timezone}` : ''}`) : null),
        h('h2', {}, 'Attention'),
        attentionList(attention),
        h('h2', {}, 'Components'),
      );
      if (Array.isArray(o.components)) parts.push(componentsSection(o.components));
      else if (o.components && typeof o.components === 'object') parts.push(h('div', { class: 'grid', id: 'components' }, Object.entries(o.components).map(([k, v]) => componentCard(k, v))));
      const known = new Set(['at', 'timezone', 'ok', 'components', 'workers', 'lastWebhookAt', 'waha', 'sessions', 'running', 'ready', ...ATTENTION_KEYS]);
      const others = Object.entries(o).filter(([k]) => !known.has(k));
      if (others.length && !o.components) parts.push(h('div', { class: 'grid', id: 'components' }, others.map(([k, v]) => componentCard(k, v))));
      parts.push(h('h3', {}, 'Last webhook'), h('p', { id: 'last-webhook' }, o.lastWebhookAt ? timeEl(o.lastWebhookAt) : h('span', { class: 'muted' }, 'No WAHA event has arrived yet.')));
      if (o.waha && typeof o.waha === 'object') {
        parts.push(h('h2', {}, 'WAHA sessions'), h('p', { class: 'small' }, o.waha.configured ? [`WAHA at ${o.waha.baseUrl ?? '?'}: `, o.waha.reachable === false ? badge('unreachable', 'bad') : o.waha.reachable ? badge('reachable', 'ok') : badge('not checked', 'warn'), o.waha.error ? ` ${o.waha.error}` : ''] : 'WAHA is not configured (WAHA_BASE_URL).'));
      } else if (Array.isArray(o.sessions)) parts.push(h('h2', {}, 'WAHA sessions'));
      if (Array.isArray(o.sessions)) parts.push(sessionsTable(o.sessions));
      if (Array.isArray(o.workers)) parts.push(h('h2', {}, 'Workers'), workersTable(o.workers));
    } else {
      parts.push(h('h2', {}, 'Components'), errorBox(overview.ok ? 'The overview answered with nothing.' : overview.error));
      const health = await settle(api('/api/health'));
      if (health.ok) parts.push(h('h3', {}, 'Health'), Array.isArray(health.value?.components) ? componentsSection(health.value.components) : renderValue(health.value, 'health'));
    }
    parts.push(h('h2', {}, 'Sending now'));
    if (running.ok) parts.push(runningTable(pickArray(running.value, 'items')), h('p', {}, h('a', { href: '#/running' }, 'Open Running')));
    else parts.push(errorBox(running.error));
    if (o && Array.isArray(o.ready) && o.ready.length) {
      parts.push(h('h3', {}, 'Approved, ready to start'), h('ul', {}, o.ready.map((r) => h('li', {}, h('a', { href: `#/campaigns/${r.id}` }, r.name), ` · ${r.pending ?? 0} pending · session ${r.session}`))));
    }
    parts.push(h('h2', {}, 'Notifications'));
    if (notes.ok) {
      const list = pickArray(notes.value, 'notifications', 'items');
      const unread = typeof notes.value?.unread === 'number' ? notes.value.unread : list.filter((n) => !n.readAt).length;
      parts.push(
        list.length === 0
          ? h('p', { class: 'muted' }, 'No notifications.')
          : [
              h('p', { class: 'muted small', id: 'notifications-unread' }, `${unread} unread.`),
              h('div', { id: 'notification-status', 'aria-live': 'polite' }),
              h('ul', { id: 'notifications', class: 'notes' }, list.slice(0, 30).map((n) =>
                h('li', { 'data-id': String(n.id ?? ''), class: n.readAt ? 'read' : 'unread' },
                  n.at ? h('span', { class: 'muted small' }, fmtTime(n.at), ' ') : null,
                  n.level ? badge(n.level, n.level === 'error' ? 'bad' : n.level === 'warning' ? 'warn' : undefined) : null, ' ',
                  n.campaignId ? h('a', { href: `#/campaigns/${n.campaignId}` }, notificationText(n)) : notificationText(n), ' ',
                  n.id === undefined || n.id === null ? null : n.readAt
                    ? h('span', { class: 'muted small' }, `read ${fmtTime(n.readAt)}`)
                    : h('button', { type: 'button', class: 'link', 'data-action': 'mark-read', 'aria-label': `Mark read: ${n.title ?? notificationText(n)}`, onclick: (e) => markRead(n, e.currentTarget) }, 'Mark read')))),
            ],
      );
    } else parts.push(errorBox(notes.error));
    if (!ctx.alive()) return;
    fill(body, ...parts);
  };
  const markRead = async (n, button) => {
    button.disabled = true;
    try {
      await post(`/api/notifications/${encodeURIComponent(n.id)}/read`);
      await draw();
    } catch (err) {
      button.disabled = false;
      const status = document.getElementById('notification-status');
      if (status) fill(status, errorBox(err));
      else flash(err, 'error');
    }
  };
  await draw();
  onRefresh(ctx, draw);
}

// ---------------------------------------------------------------------------------------------
// pages: campaigns

const CAMPAIGN_ACTIONS = {
  approve: { label: 'Approve', from: ['DRAFT'], text: (c) => `Approve "${c.name}"? Its content freezes: after approval only a duplicate can be edited.` },
  build: { label: 'Build queue', from: ['APPROVED', 'PAUSED', 'RUNNING'], path: 'queue/build', text: (c) => `Build the send queue of "${c.name}" from the imported contacts now?` },
  start: { label: 'Start', from: ['APPROVED'], text: (c) => `Start sending "${c.name}"? The worker begins sending under the pacing settings.` },
  pause: { label: 'Pause', from: ['RUNNING'], reason: true, text: (c) => `Pause "${c.name}"? No new send starts once the pause commits.` },
  resume: { label: 'Resume', from: ['PAUSED'], text: (c) => `Resume sending "${c.name}"?` },
  cancel: { label: 'Cancel', from: ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'], reason: true, danger: true, text: (c) => `Cancel "${c.name}"? Unsent rows are skipped; this cannot be undone.` },
  duplicate: { label: 'Duplicate', from: CAMPAIGN_STATES, text: (c) => `Make a new editable draft from "${c.name}"?` },
  archive: { label: 'Archive', from: ['DRAFT', 'APPROVED', 'COMPLETED', 'CANCELLED'], text: (c) => `Archive "${c.name}"? It is hidden from the list; its history is kept.` },
  unarchive: { label: 'Unarchive', from: CAMPAIGN_STATES, path: 'archive', body: { undo: true }, text: (c) => `Show "${c.name}" in the campaign list again?` },
};

const PAST = { unarchive: 'unarchived', approve: 'approved', build: 'queue built', start: 'started', pause: 'paused', resume: 'resumed', cancel: 'cancelled', duplicate: 'duplicated', archive: 'archived' };

async function campaignAction(c, action, after) {
  const spec = CAMPAIGN_ACTIONS[action];
  const answer = await confirmDialog(spec.text(c), { title: `${spec.label} campaign ${c.id}`, reason: Boolean(spec.reason), okLabel: spec.label, danger: spec.danger });
  if (!answer.ok) return;
  try {
    const result = await post(`/api/campaigns/${c.id}/${spec.path ?? action}`, spec.body ?? (answer.reason ? { reason: answer.reason } : {}));
    let msg = `Campaign ${c.id} "${c.name}": ${PAST[action]}.`;
    if (action === 'build' && result && typeof result === 'object') {
      const bits = ['queued', 'excluded', 'total', 'added'].filter((k) => result[k] !== undefined && typeof result[k] !== 'object').map((k) => `${k} ${result[k]}`);
      if (bits.length) msg += ` ${bits.join(', ')}.`;
    }
    const copy = action === 'duplicate' ? (result?.campaign ?? result) : null;
    flash(msg, 'ok', Boolean(copy?.id));
    if (copy?.id) go(`/campaigns/${copy.id}`);
    else await after?.();
  } catch (e) {
    flash(e, 'error');
  }
}

function actionButtons(c, after, only) {
  const names = Object.entries(CAMPAIGN_ACTIONS).filter(([name, s]) => s.from.includes(c.status) && !(name === 'archive' && c.archived) && !(name === 'unarchive' && !c.archived) && (!only || only.includes(name)));
  return h(
    'div',
    { class: 'actions' },
    names.map(([name, s]) =>
      h('button', { type: 'button', class: s.danger ? 'danger' : null, 'data-action': name, 'aria-label': `${s.label} ${c.name}`, onclick: () => campaignAction(c, name, after) }, s.label),
    ),
  );
}

async function pageCampaigns(ctx) {
  const { view, params } = ctx;
  const status = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '' }, 'any'), CAMPAIGN_STATES.map((s) => h('option', { value: s, selected: params.status === s }, s)));
  const search = h('input', { id: 'f-search', name: 'search', type: 'search', value: params.search ?? '', placeholder: 'name or brand' });
  const archived = h('input', { id: 'f-archived', name: 'archived', type: 'checkbox', checked: params.archived === 'true' });
  const listEl = h('div', { id: 'campaign-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const p = { status: status.value, search: search.value.trim(), archived: archived.checked ? 'true' : '' };
        setQuery('/campaigns', p);
        Object.assign(params, p);
        draw();
      },
    },
    h('div', {}, h('label', { for: 'f-status' }, 'Status'), status),
    h('div', {}, h('label', { for: 'f-search' }, 'Search'), search),
    h('div', {}, h('label', { for: 'f-archived' }, archived, ' archived')),
    h('div', {}, h('button', { type: 'submit' }, 'Filter')),
  );
  fill(view, 
    h('h1', {}, 'Campaigns'),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/campaigns/new' }, 'New campaign')),
    filters,
    listEl,
  );
  const draw = async () => {
    const data = await api(`/api/campaigns${qs({ status: params.status, archived: params.archived, search: params.search })}`);
    const list = pickArray(data, 'campaigns');
    // Each list item carries its queue progress (one grouped query on the server).
    const progress = new Map(list.filter((c) => c.progress).map((c) => [c.id, c.progress]));
    if (!ctx.alive()) return;
    fill(listEl, 
      dataTable(
        'Campaigns',
        [
          { label: 'ID', num: true, value: (c) => String(c.id) },
          { label: 'Name', value: (c) => h('a', { href: `#/campaigns/${c.id}` }, c.name) },
          { label: 'Status', value: (c) => [badge(c.status), c.archived ? [' ', badge('archived', 'warn')] : null] },
          { label: 'Progress', value: (c) => (progress.has(c.id) ? progressBar(progress.get(c.id).done, progress.get(c.id).total, `Progress of ${c.name}`) : h('span', { class: 'muted' }, c.status === 'DRAFT' ? 'not approved' : '—')) },
          { label: 'Brand', value: (c) => c.brand },
          { label: 'Type', value: (c) => c.messageType },
          { label: 'Session', value: (c) => c.session },
          { label: 'Updated', value: (c) => timeEl(c.updatedAt, false) },
          { label: 'Actions', value: (c) => actionButtons(c, draw) },
        ],
        list,
        params.search || params.status ? 'No campaign matches these filters.' : 'No campaigns yet. Create one with “New campaign”.',
      ),
    );
  };
  await draw();
  onRefresh(ctx, draw);
}

/** The template of what is in the editor: a campaign file's "template", or the document itself. */
function templateOf(doc) {
  return doc && typeof doc === 'object' && !Array.isArray(doc) && doc.template && typeof doc.template === 'object' && !('type' in doc) ? doc.template : doc;
}

function campaignEditor({ initial, submitLabel, onSubmit, heading }) {
  const area = h('textarea', { id: 'campaign-json', rows: '18', spellcheck: 'false', 'aria-describedby': 'campaign-json-help campaign-json-result' });
  area.value = initial;
  const result = h('div', { id: 'campaign-json-result', 'aria-live': 'polite' });
  const vars = h('input', { id: 'render-vars', placeholder: '{"first_name":"Amani","brand":"vaseline","city":"Kinshasa"}' });
  const parse = () => {
    try {
      return JSON.parse(area.value);
    } catch (e) {
      area.setAttribute('aria-invalid', 'true');
      fill(result, errorBox(`The text is not valid JSON: ${e.message}`));
      return undefined;
    }
  };
  const busy = async (fn) => {
    fill(result, h('p', { class: 'muted' }, 'Working…'));
    area.removeAttribute('aria-invalid');
    try {
      await fn();
    } catch (e) {
      if (e instanceof ApiError && e.issues.length) area.setAttribute('aria-invalid', 'true');
      fill(result, errorBox(e));
    }
  };
  const validate = () =>
    busy(async () => {
      const doc = parse();
      if (doc === undefined) return;
      const r = await post('/api/templates/validate', { template: templateOf(doc) });
      fill(result, 
        h('div', { class: 'msg ok' }, 'The template is valid.'),
        renderValue(Object.fromEntries(Object.entries(r ?? {}).filter(([k]) => k !== 'valid')), 'validation'),
      );
    });
  const preview = () =>
    busy(async () => {
      const doc = parse();
      if (doc === undefined) return;
      let v;
      if (vars.value.trim()) {
        try {
          v = JSON.parse(vars.value);
        } catch (e) {
          throw new Error(`Variables must be JSON such as {"first_name":"Amani"}: ${e.message}`);
        }
      }
      const r = await post('/api/templates/render', v ? { template: templateOf(doc), vars: v } : { template: templateOf(doc) });
      const parts = [h('h3', {}, 'Preview: ', h('code', {}, `POST ${r?.endpoint ?? '?'}`), r?.type ? [' ', badge(r.type, 'ok')] : null), h('pre', { id: 'render-payload' }, JSON.stringify(r?.payload ?? r, null, 2))];
      if (r?.fallback) parts.push(h('h3', {}, 'Fallback on 501: ', h('code', {}, `POST ${r.fallback.endpoint}`)), h('pre', {}, JSON.stringify(r.fallback.payload, null, 2)));
      if (r?.warnings?.length) parts.push(h('div', { class: 'msg info' }, `Warnings: ${r.warnings.join('; ')}`));
      fill(result, ...parts);
    });
  const submit = () =>
    busy(async () => {
      const doc = parse();
      if (doc === undefined) return;
      await onSubmit(doc, result);
    });
  return h(
    'section',
    { class: 'stack', 'aria-label': heading },
    h('div', {}, h('label', { for: 'campaign-json' }, 'Campaign file (JSON)')),
    h('p', { class: 'muted small', id: 'campaign-json-help' }, withCode('Fields: name, brand (the CRM brand whose contacts it reaches), session (WAHA session, default "default"), template, mediaAssetId (optional). The same file `campaign create --file` reads.')),
    area,
    h('div', { class: 'filters' }, h('div', {}, h('label', { for: 'render-vars' }, 'Preview variables (JSON, optional)'), vars)),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: validate }, 'Validate'), h('button', { type: 'button', onclick: preview }, 'Preview render'), h('button', { type: 'button', class: 'primary', onclick: submit }, submitLabel)),
    result,
  );
}

async function pageCampaignNew(ctx) {
  const { view } = ctx;
  const samplesRes = await settle(api('/api/templates/samples'));
  const samples = samplesRes.ok ? pickArray(samplesRes.value, 'samples', 'templates') : [];
  const select = h('select', { id: 'sample' }, samples.map((s) => h('option', { value: s.name }, `${s.name}${s.description ? ` — ${s.description}` : ''}`)));
  const editor = campaignEditor({
    heading: 'New campaign',
    initial: JSON.stringify({ name: '', brand: '', session: 'default', template: { mode: 'simple', type: 'text', text: 'Hello {{first_name}}' } }, null, 2),
    submitLabel: 'Create draft',
    onSubmit: async (doc) => {
      const r = await post('/api/campaigns', doc);
      const c = r?.campaign ?? r;
      flash(`Created draft ${c.id} "${c.name}".${r?.warnings?.length ? ` Warnings: ${r.warnings.join('; ')}` : ''}`, 'ok', true);
      go(`/campaigns/${c.id}`);
    },
  });
  const loadSample = async () => {
    const name = select.value;
    let s = samples.find((x) => x.name === name);
    try {
      if (!s?.template) s = await api(`/api/templates/samples/${encodeURIComponent(name)}`);
      const area = editor.querySelector('textarea');
      let current = {};
      try {
        current = JSON.parse(area.value);
      } catch {
        current = {};
      }
      area.value = JSON.stringify(
        { name: current.name || `${name} campaign`, brand: current.brand || 'vaseline', session: current.session || 'default', template: s.template ?? s, ...(s.usesMedia ? { mediaAssetId: 1 } : {}) },
        null,
        2,
      );
      editor.querySelector('#campaign-json-result').replaceChildren(h('div', { class: 'msg info' }, `Loaded sample ${name}. Edit name and brand${s.usesMedia ? ' and set mediaAssetId to a Media Gallery asset' : ''}, then validate.`));
    } catch (e) {
      flash(e, 'error');
    }
  };
  fill(view, 
    h('p', {}, h('a', { href: '#/campaigns' }, '← Campaigns')),
    h('h1', {}, 'New campaign'),
    samplesRes.ok
      ? h('div', { class: 'filters' }, h('div', {}, h('label', { for: 'sample' }, 'Template sample'), select), h('div', {}, h('button', { type: 'button', onclick: loadSample, id: 'load-sample' }, 'Load sample')))
      : errorBox(samplesRes.error),
    editor,
  );
}

async function pageCampaign(ctx) {
  const { view, args } = ctx;
  const id = args[0];
  const extra = h('div', { id: 'campaign-extra' });
  const draw = async () => {
    const [data, testers] = await Promise.all([api(`/api/campaigns/${id}`), settle(api(`/api/test-users${qs({ active: 'yes' })}`))]);
    if (!ctx.alive()) return;
    const c = data.campaign ?? data;
    const counts = c.queue ?? data.queue ?? {};
    const total = totalOf(counts);
    const parts = [
      h('p', {}, h('a', { href: '#/campaigns' }, '← Campaigns')),
      h('h1', {}, `${c.name}`, ' ', badge(c.status), c.archived ? [' ', badge('archived', 'warn')] : null),
      actionButtons(c, draw),
      kv([
        ['ID', String(c.id)],
        ['Brand', c.brand],
        ['Session', c.session],
        ['Message type', `${c.messageType}${c.templateMode ? ` (${c.templateMode})` : ''}`],
        ['Content', c.contentFrozen ? `frozen (hash ${String(c.contentHash ?? '').slice(0, 12)})` : 'editable draft'],
        ['Approved', c.approvedAt ? [timeEl(c.approvedAt), c.approvedBy ? ` by ${c.approvedBy}` : ''] : null],
        ['Queue built', c.queueBuiltAt ? timeEl(c.queueBuiltAt) : null],
        ['Started', c.startedAt ? timeEl(c.startedAt) : null],
        c.pauseReason ? ['Pause reason', `${c.pauseReason}${c.autoPaused ? ' (automatic)' : ''}`] : null,
        c.cancelReason ? ['Cancel reason', c.cancelReason] : null,
        ['Completed', c.completedAt ? timeEl(c.completedAt) : null],
        ['Test runs', h('a', { href: `#/testing?campaign=${c.id}` }, `${c.testRuns ?? data.testRuns ?? 0} test run(s)`)],
        ['Updated', [timeEl(c.updatedAt), c.updatedBy ? ` by ${c.updatedBy}` : '']],
      ]),
      h('h2', {}, 'Queue'),
      total > 0 ? [progressBar(doneOf(counts), total, `Progress of ${c.name}`), countsLine(counts)] : h('p', { class: 'muted' }, c.queueBuiltAt ? 'The queue is empty.' : 'No queue yet: approve the campaign, then build its queue.'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => showExtra('queue') }, 'Queue summary'),
        h('button', { type: 'button', onclick: () => showExtra('exclusions') }, 'Exclusions'),
        h('button', { type: 'button', onclick: () => showExtra('forecast') }, 'Forecast'),
        downloadButton('Report CSV', `/api/campaigns/${c.id}/report.csv`, `campaign-${c.id}-report.csv`),
        downloadButton('Report JSON', `/api/campaigns/${c.id}/report.json`, `campaign-${c.id}-report.json`),
        h('a', { class: 'button', href: `#/logs?campaign=${c.id}` }, 'Worker logs'),
      ),
      extra,
      previewSection(c, testers),
      h('h2', {}, 'Template'),
      h('pre', {}, JSON.stringify(c.template, null, 2)),
    ];
    if (c.status === 'DRAFT') {
      parts.push(
        h('h2', {}, 'Edit draft'),
        campaignEditor({
          heading: 'Edit draft',
          initial: JSON.stringify({ name: c.name, brand: c.brand, session: c.session, template: c.template, ...(c.mediaAssetId ? { mediaAssetId: c.mediaAssetId } : {}) }, null, 2),
          submitLabel: 'Save draft',
          onSubmit: async (doc, result) => {
            await api(`/api/campaigns/${c.id}`, { method: 'PUT', body: doc });
            flash(`Saved draft ${c.id}.`, 'ok');
            await draw();
            result.replaceChildren();
          },
        }),
        h(
          'div',
          { class: 'actions' },
          h('button', {
            type: 'button',
            class: 'danger',
            onclick: async () => {
              const a = await confirmDialog(`Delete the empty draft "${c.name}"? This cannot be undone.`, { title: `Delete campaign ${c.id}`, okLabel: 'Delete', danger: true });
              if (!a.ok) return;
              try {
                await api(`/api/campaigns/${c.id}`, { method: 'DELETE' });
                flash(`Deleted draft ${c.id} "${c.name}".`, 'ok', true);
                go('/campaigns');
              } catch (e) {
                flash(e, 'error');
              }
            },
          }, 'Delete draft'),
        ),
      );
    }
    fill(view, ...parts);
  };
  const showExtra = async (what) => {
    fill(extra, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const r = await api(`/api/campaigns/${id}/${what}`);
      if (what === 'exclusions') {
        const rows = pickArray(r, 'exclusions');
        fill(extra, 
          h('h3', {}, `Exclusions (${r?.total ?? rows.length})`),
          dataTable('Exclusions', [
            { label: 'Contact', value: (x) => String(x.contactId ?? '') },
            { label: 'Name', value: (x) => x.name ?? '—' },
            { label: 'Phone', value: (x) => x.phoneRaw ?? x.chatId ?? '—' },
            { label: 'Reason', value: (x) => badge(x.reason, 'warn') },
            { label: 'Detail', value: (x) => x.detail ?? '' },
          ], rows, 'Nobody was excluded.'),
        );
      } else fill(extra, h('h3', {}, humanize(what)), renderValue(r, what));
    } catch (e) {
      fill(extra, errorBox(e));
    }
  };
  await draw();
}

/** "Send one-time preview": one real send of this campaign to one active test user, now. */
function previewSection(c, testers) {
  const heading = h('h2', { id: 'preview-title' }, 'Send one-time preview');
  if (!['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'].includes(c.status) || c.archived) {
    return h('section', { 'aria-labelledby': 'preview-title' }, heading, h('p', { class: 'muted' }, `A ${c.archived ? 'archived' : c.status.toLowerCase()} campaign cannot be previewed; duplicate it for a new draft.`));
  }
  if (!testers.ok) return h('section', { 'aria-labelledby': 'preview-title' }, heading, errorBox(testers.error));
  const users = pickArray(testers.value, 'testUsers', 'users').filter((u) => u.active !== false);
  if (!users.length) {
    return h('section', { 'aria-labelledby': 'preview-title' }, heading, h('p', { class: 'muted' }, 'No active test user: add one on the ', h('a', { href: '#/testing' }, 'Testing'), ' page first.'));
  }
  const select = h('select', { id: 'pv-user' }, users.map((u) => h('option', { value: String(u.id) }, `${u.name} (${u.phone})`)));
  const result = h('div', { id: 'pv-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'pv-send' }, 'Send one-time preview');
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        const u = users.find((x) => String(x.id) === select.value);
        busyButton(button, async () => {
          const a = await confirmDialog(
            `Send "${c.name}" once to ${u?.name} (${u?.phone}) now? This is a real WhatsApp message from session "${c.session}": it counts toward that session's daily and hourly limits like any other send.`,
            { title: 'Send a real preview', okLabel: 'Send now' },
          );
          if (!a.ok) return;
          fill(result, h('p', { class: 'muted' }, 'Sending…'));
          try {
            const r = await post('/api/templates/send-test', { campaign: c.id, testUser: u.id });
            fill(result,
              h('div', { class: 'msg ok', role: 'status' }, `Sent to ${r?.testUser?.name ?? u?.name}: WAHA accepted it.`),
              kv([
                ['Message id', h('code', { id: 'pv-message-id' }, r?.messageId ?? '?')],
                ['Fallback used', badge(r?.usedFallback ? 'yes' : 'no', r?.usedFallback ? 'warn' : 'ok')],
                ['Endpoint', r?.endpoint ? h('code', {}, r.endpoint) : null],
                ['Session', r?.session],
                ['Sends today', r?.dailyLimit !== undefined ? `${r.sendsToday} of ${r.dailyLimit}` : null],
              ]),
              r?.warnings?.length ? h('div', { class: 'msg info' }, withCode(`Warnings: ${r.warnings.join('; ')}`)) : null,
            );
          } catch (err) {
            fill(result, errorBox(err));
          }
        });
      },
    },
    h('div', {}, h('label', { for: 'pv-user' }, 'Active test user'), select),
    h('div', {}, button),
  );
  return h(
    'section',
    { 'aria-labelledby': 'preview-title' },
    heading,
    h('p', { class: 'muted small' }, 'Renders this campaign with the test user\'s values and sends it once, now. No queue row and no test run; it is a real send and counts toward the session\'s limits.'),
    form,
    result,
  );
}

// ---------------------------------------------------------------------------------------------
// pages: running

async function runningAction(item, action, after) {
  const isTest = item.kind === 'test';
  const label = action[0].toUpperCase() + action.slice(1);
  const a = await confirmDialog(`${label} ${isTest ? 'test run' : 'campaign'} "${item.name}"?${action === 'cancel' ? ' Unsent rows are skipped; this cannot be undone.' : ''}`, {
    title: `${label} ${isTest ? `test run ${item.id}` : `campaign ${item.id}`}`,
    reason: action === 'pause' || action === 'cancel',
    okLabel: label,
    danger: action === 'cancel',
  });
  if (!a.ok) return;
  try {
    await post(`/api/${isTest ? 'test-runs' : 'campaigns'}/${item.id}/${action}`, a.reason ? { reason: a.reason } : {});
    flash(`${isTest ? 'Test run' : 'Campaign'} ${item.id}: ${PAST[action] ?? action}.`, 'ok');
    await after();
  } catch (e) {
    flash(e, 'error');
  }
}

/** Pause / resume / cancel buttons of a running campaign or test run. */
function runControls(item, names, after) {
  return h('div', { class: 'actions' }, names.map((b) => h('button', { type: 'button', class: b === 'cancel' ? 'danger' : null, 'data-action': b, onclick: () => runningAction(item, b, after) }, b[0].toUpperCase() + b.slice(1))));
}

function runningCard(item, after) {
  const buttons = [];
  if (item.status === 'RUNNING' || (item.kind === 'test' && item.status === 'PENDING')) buttons.push('pause');
  if (item.status === 'PAUSED') buttons.push('resume');
  buttons.push('cancel');
  const l = item.latest;
  return h(
    'article',
    { class: 'run-item', 'data-kind': item.kind, 'data-id': String(item.id), 'aria-label': item.name },
    h('h3', {}, h('a', { href: item.kind === 'test' ? `#/testing/${item.id}` : `#/campaigns/${item.id}` }, item.name), badge(item.status), item.kind === 'test' ? badge('test run', 'warn') : null),
    progressBar(num(item.done), num(item.total), `Progress of ${item.name}`),
    countsLine(item.counts),
    kv([
      ['Session', item.session],
      item.pauseReason ? ['Pause reason', `${item.pauseReason}${item.autoPaused ? ' (automatic)' : ''}`] : null,
      ['Latest worker reason', l ? h('span', { class: 'latest' }, badge(l.event), ' ', withCode(l.reason ?? ''), ' ', h('span', { class: 'muted small' }, `(${fmtTime(l.at)})`)) : 'no worker decision yet'],
      ['Next attempt', item.status === 'RUNNING' && l?.nextAttemptAt ? timeEl(l.nextAttemptAt) : null],
      ['Forecast finish', item.forecastFinishAt ? timeEl(item.forecastFinishAt) : null],
      item.unknown ? ['Unknown outcome', h('strong', {}, `${item.unknown} row(s) awaiting reconciliation`)] : null,
    ]),
    runControls(item, buttons, after),
  );
}

async function pageRunning(ctx) {
  const { view } = ctx;
  const list = h('div', { id: 'running-list', 'aria-live': 'polite' });
  const ready = h('div', { id: 'ready-list' });
  const stamp = h('p', { class: 'muted small', id: 'running-at' });
  fill(view, h('h1', {}, 'Running'), stamp, list, h('h2', {}, 'Ready to start'), ready);
  const draw = async () => {
    const [running, approved] = await Promise.all([api('/api/running'), settle(api(`/api/campaigns${qs({ status: 'APPROVED' })}`))]);
    if (!ctx.alive()) return;
    const items = pickArray(running, 'items');
    fill(stamp, `Updated ${fmtTime(running?.at ?? new Date().toISOString())}`);
    fill(list, ...(items.length ? items.map((i) => runningCard(i, draw)) : [h('p', { class: 'muted' }, 'Nothing is running or paused.')]));
    if (approved.ok) {
      const rows = pickArray(approved.value, 'campaigns');
      fill(ready, 
        dataTable('Approved campaigns', [
          { label: 'Name', value: (c) => h('a', { href: `#/campaigns/${c.id}` }, c.name) },
          { label: 'Session', value: (c) => c.session },
          { label: 'Actions', value: (c) => actionButtons(c, draw, ['build', 'start', 'cancel']) },
        ], rows, 'No approved campaign is waiting to start.'),
      );
    } else fill(ready, errorBox(approved.error));
  };
  await draw();
  onRefresh(ctx, draw);
}

// ---------------------------------------------------------------------------------------------
// pages: testing

function testRunButtons(run, after) {
  const names = [];
  if (run.status === 'RUNNING' || run.status === 'PENDING') names.push('pause');
  if (run.status === 'PAUSED') names.push('resume');
  if (['PENDING', 'RUNNING', 'PAUSED'].includes(run.status)) names.push('cancel');
  const item = { kind: 'test', id: run.id, name: `${run.campaignName ?? 'campaign'} → ${run.testListName ?? 'list'}` };
  return runControls(item, names, after);
}

async function pageTesting(ctx) {
  const { view, params } = ctx;
  const listEl = h('div', { id: 'test-runs' });
  const startEl = h('div', {});
  const peopleEl = h('div', {});
  fill(view, 
    h('h1', {}, 'Testing'),
    params.campaign ? h('p', {}, `Test runs of campaign ${params.campaign}. `, h('a', { href: '#/testing' }, 'Show all')) : null,
    listEl,
    h('h2', {}, 'Start a test run'),
    startEl,
    h('h2', {}, 'Test users and lists'),
    peopleEl,
  );
  // The add forms are built once (what the operator typed survives a failed save); the tables
  // and the membership form are redrawn after every change.
  const people = testPeopleForms(() => drawPeople());
  const draw = async () => {
    const data = await api(`/api/test-runs${qs({ campaign: params.campaign })}`);
    if (!ctx.alive()) return;
    const runs = pickArray(data, 'testRuns');
    fill(listEl, 
      dataTable('Test runs', [
        { label: 'Run', value: (r) => h('a', { href: `#/testing/${r.id}` }, `#${r.id}`) },
        { label: 'Campaign', value: (r) => h('a', { href: `#/campaigns/${r.campaignId}` }, r.campaignName ?? String(r.campaignId)) },
        { label: 'List', value: (r) => r.testListName },
        { label: 'Status', value: (r) => badge(r.status) },
        { label: 'Progress', value: (r) => progressBar(doneOf(r.counts), num(r.total ?? totalOf(r.counts)), `Progress of test run ${r.id}`) },
        { label: 'Created', value: (r) => [timeEl(r.createdAt, false), r.createdBy ? ` by ${r.createdBy}` : ''] },
        { label: 'Reports', value: (r) => h('div', { class: 'actions' }, downloadButton('CSV', `/api/test-runs/${r.id}/report.csv`, `test-run-${r.id}.csv`), downloadButton('JSON', `/api/test-runs/${r.id}/report.json`, `test-run-${r.id}.json`)) },
        { label: 'Actions', value: (r) => testRunButtons(r, draw) },
      ], runs, 'No test runs yet.'),
    );
  };
  const drawPeople = async () => {
    const [users, lists, campaigns] = await Promise.all([settle(api('/api/test-users')), settle(api('/api/test-lists')), settle(api('/api/campaigns'))]);
    if (!ctx.alive()) return;
    const listRows = lists.ok ? pickArray(lists.value, 'testLists', 'lists') : [];
    const campaignRows = campaigns.ok ? pickArray(campaigns.value, 'campaigns').filter((c) => ['DRAFT', 'APPROVED', 'PAUSED'].includes(c.status)) : [];
    const cSel = h('select', { id: 'tr-campaign' }, campaignRows.map((c) => h('option', { value: String(c.id), selected: params.campaign === String(c.id) }, `${c.id} · ${c.name} (${c.status})`)));
    const lSel = h('select', { id: 'tr-list' }, listRows.map((l) => h('option', { value: l.name ?? String(l.id) }, `${l.name}${l.activeMembers !== undefined ? ` (${l.activeMembers} active)` : ''}`)));
    const out = h('div', { 'aria-live': 'polite' });
    fill(startEl, 
      campaignRows.length && listRows.length
        ? h(
            'form',
            {
              class: 'filters',
              onsubmit: async (e) => {
                e.preventDefault();
                const a = await confirmDialog(`Send campaign ${cSel.value} to every active member of test list "${lSel.value}"?`, { title: 'Start a test run', okLabel: 'Start test run' });
                if (!a.ok) return;
                try {
                  const r = await post('/api/test-runs', { campaign: cSel.value, list: lSel.value });
                  const run = r?.testRun ?? r;
                  flash(`Started test run ${run?.id ?? ''}.`, 'ok', true);
                  if (run?.id) go(`/testing/${run.id}`);
                  else await draw();
                } catch (e2) {
                  fill(out, errorBox(e2));
                }
              },
            },
            h('div', {}, h('label', { for: 'tr-campaign' }, 'Campaign'), cSel),
            h('div', {}, h('label', { for: 'tr-list' }, 'Test list'), lSel),
            h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Start test run')),
          )
        : h('p', { class: 'muted' }, withCode('A test run needs a draft, approved or paused campaign and a test list with active members (`campaign test-lists create`).')),
      out,
    );
    const userRows = users.ok ? pickArray(users.value, 'testUsers', 'users') : [];
    const parts = [people.status, h('h3', {}, 'Add a test user'), people.userForm];
    if (users.ok) {
      parts.push(h('h3', {}, 'Test users'), dataTable('Test users', [
        { label: 'ID', value: (u) => String(u.id) },
        { label: 'Name', value: (u) => u.name },
        { label: 'Phone', value: (u) => u.phone ?? u.phoneRaw ?? u.chatId ?? '' },
        { label: 'Active', value: (u) => renderValue(u.active) },
        { label: 'Lists', value: (u) => (u.lists?.length ? u.lists.join(', ') : h('span', { class: 'muted' }, 'none')) },
        { label: 'Notes', value: (u) => u.notes ?? '' },
        { label: 'Actions', value: (u) => h('div', { class: 'actions' }, testUserToggle(u, people.status, drawPeople)) },
      ], userRows, 'No test users yet.'));
    } else parts.push(errorBox(users.error));
    parts.push(h('h3', {}, 'Create a test list'), people.listForm);
    if (lists.ok) {
      parts.push(h('h3', {}, 'Test lists'), dataTable('Test lists', [
        { label: 'ID', value: (l) => String(l.id) },
        { label: 'Name', value: (l) => l.name },
        { label: 'Members', value: (l) => `${l.members ?? '?'}${l.activeMembers !== undefined ? ` (${l.activeMembers} active)` : ''}` },
        { label: 'Description', value: (l) => l.description ?? '' },
      ], listRows, 'No test lists yet.'));
    } else parts.push(errorBox(lists.error));
    parts.push(h('h3', {}, 'Add or remove list members'), membershipForm(listRows, userRows, drawPeople));
    fill(peopleEl, ...parts);
  };
  await Promise.all([draw(), drawPeople()]);
  onRefresh(ctx, draw);
}

/** The "add a test user" and "create a test list" forms, with the server's messages per field. */
function testPeopleForms(after) {
  const status = h('div', { id: 'people-status', 'aria-live': 'polite' });
  // Add a test user.
  const uf = {
    name: field('tu-name', 'Name', h('input', { autocomplete: 'off', maxlength: '200' })),
    phone: field('tu-phone', 'Phone', h('input', { type: 'tel', autocomplete: 'off', inputmode: 'tel', placeholder: '+919876543210' }), 'The full international number: + and the country code, for example +919876543210.'),
    notes: field('tu-notes', 'Notes (optional)', h('input', { autocomplete: 'off', maxlength: '1000' })),
  };
  const userForm = issueForm({
    id: 'test-user-form',
    label: 'Add a test user',
    statusId: 'tu-status',
    submitLabel: 'Add test user',
    fields: uf,
    lead: 'Not added; nothing was saved.',
    submit: async (uStatus) => {
      const body = { name: uf.name.input.value, phone: uf.phone.input.value };
      if (uf.notes.input.value.trim()) body.notes = uf.notes.input.value;
      const r = await post('/api/test-users', body);
      const u = r?.testUser ?? r;
      fill(uStatus, h('div', { class: 'msg ok', role: 'status' }, `Added test user #${u.id} "${u.name}" (${u.phone}).`, r?.warnings?.length ? ` ${r.warnings.join(' ')}` : ''));
      for (const f of Object.values(uf)) f.input.value = '';
      await after();
    },
  });
  // Create a test list.
  const lf = {
    name: field('tl-name', 'List name', h('input', { autocomplete: 'off', maxlength: '100' })),
    description: field('tl-description', 'Description (optional)', h('input', { autocomplete: 'off', maxlength: '500' })),
  };
  const listForm = issueForm({
    id: 'test-list-form',
    label: 'Create a test list',
    statusId: 'tl-status',
    submitLabel: 'Create test list',
    fields: lf,
    lead: 'Not created; nothing was saved.',
    submit: async (lStatus) => {
      const body = { name: lf.name.input.value };
      if (lf.description.input.value.trim()) body.description = lf.description.input.value;
      const r = await post('/api/test-lists', body);
      const l = r?.list ?? r;
      fill(lStatus, h('div', { class: 'msg ok', role: 'status' }, `Created test list #${l.id} "${l.name}". Add members below.`));
      for (const f of Object.values(lf)) f.input.value = '';
      await after();
    },
  });
  return { status, userForm, listForm };
}

function testUserToggle(u, status, after) {
  const action = u.active ? 'deactivate' : 'activate';
  const label = u.active ? 'Deactivate' : 'Activate';
  return h('button', {
    type: 'button',
    class: u.active ? 'danger' : null,
    'data-action': action,
    'data-user': String(u.id),
    'aria-label': `${label} ${u.name}`,
    onclick: async () => {
      const text = u.active
        ? `Deactivate test user #${u.id} "${u.name}"? Test runs and previews stop sending to ${u.phone}; the user stays in their lists.`
        : `Activate test user #${u.id} "${u.name}" again? Test runs of their lists send to ${u.phone} again.`;
      const a = await confirmDialog(text, { title: `${label} test user`, okLabel: label, danger: u.active });
      if (!a.ok) return;
      try {
        const r = await post(`/api/test-users/${encodeURIComponent(u.id)}/${action}`);
        const changed = r?.changed !== false;
        fill(status, h('div', { class: 'msg ok', role: 'status' }, changed ? `Test user #${u.id} "${u.name}" ${action}d.` : `Test user #${u.id} "${u.name}" was already ${action}d; nothing changed.`));
        await after();
      } catch (err) {
        fill(status, errorBox(err));
      }
    },
  }, label);
}

/** Pick a list and some users, then add them to it or remove them from it (one transaction each). */
function membershipForm(lists, users, after) {
  const status = h('div', { id: 'tm-status', 'aria-live': 'polite' });
  if (!lists.length || !users.length) {
    return h('p', { class: 'muted' }, lists.length ? 'Add a test user first.' : 'Create a test list first.');
  }
  const list = h('select', { id: 'tm-list' }, lists.map((l) => h('option', { value: String(l.id) }, `${l.name} (${l.members ?? 0} member(s))`)));
  const boxes = users.map((u) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'tm-user', value: String(u.id) }), ` ${u.name} `, h('span', { class: 'muted small' }, u.phone ?? ''), u.active ? null : [' ', badge('inactive', 'warn')]),
  );
  const run = (verb) => async () => {
    status.replaceChildren();
    const chosen = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    const l = lists.find((x) => String(x.id) === list.value);
    if (!chosen.length) {
      fill(status, errorBox('Tick at least one test user.'));
      return;
    }
    const names = users.filter((u) => chosen.includes(String(u.id))).map((u) => u.name).join(', ');
    const a = await confirmDialog(
      verb === 'add' ? `Add ${names} to test list "${l?.name}"? Test runs of that list will message them.` : `Remove ${names} from test list "${l?.name}"? The test users themselves are kept.`,
      { title: verb === 'add' ? 'Add list members' : 'Remove list members', okLabel: verb === 'add' ? 'Add to list' : 'Remove from list', danger: verb !== 'add' },
    );
    if (!a.ok) return;
    try {
      const r = await post(`/api/test-lists/${encodeURIComponent(list.value)}/members${verb === 'add' ? '' : '/remove'}`, { users: chosen });
      const changed = (r?.changed ?? []).map((u) => u.name);
      const unchanged = (r?.unchanged ?? []).map((u) => u.name);
      const text = [
        changed.length ? `${verb === 'add' ? 'Added to' : 'Removed from'} "${r?.list?.name ?? l?.name}": ${changed.join(', ')}.` : 'Nothing changed.',
        unchanged.length ? `${verb === 'add' ? 'Already members' : 'Not members'}: ${unchanged.join(', ')}.` : '',
      ].filter(Boolean).join(' ');
      await after();
      const again = document.getElementById('tm-status');
      if (again) {
        fill(again, h('div', { class: 'msg ok', role: 'status' }, text), r?.warnings?.length ? h('div', { class: 'msg info' }, withCode(r.warnings.join(' '))) : null);
        const sel = document.getElementById('tm-list');
        if (sel) sel.value = list.value;
      }
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  return h(
    'form',
    { class: 'form-card', id: 'membership-form', 'aria-label': 'Add or remove list members', onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'tm-list' }, 'Test list'), list),
    h('fieldset', {}, h('legend', {}, 'Test users'), h('div', { class: 'checks' }, boxes)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', 'data-action': 'add-members', onclick: run('add') }, 'Add to list'),
      h('button', { type: 'button', class: 'danger', 'data-action': 'remove-members', onclick: run('remove') }, 'Remove from list')),
    status,
  );
}

async function pageTestRun(ctx) {
  const { view, args } = ctx;
  const id = args[0];
  const draw = async () => {
    const data = await api(`/api/test-runs/${id}`);
    if (!ctx.alive()) return;
    const run = data.testRun ?? data;
    const counts = data.counts ?? {};
    const recipients = pickArray(data.recipients ?? [], 'recipients');
    fill(view, 
      h('p', {}, h('a', { href: '#/testing' }, '← Testing')),
      h('h1', {}, `Test run #${run.id}`, ' ', badge(run.status)),
      testRunButtons(run, draw),
      kv([
        ['Campaign', h('a', { href: `#/campaigns/${run.campaignId}` }, `${run.campaignId} · ${run.campaignName ?? ''}`)],
        ['Test list', run.testListName],
        ['Session', run.session],
        ['Content hash', run.contentHash ? h('code', {}, String(run.contentHash).slice(0, 12)) : null],
        run.pauseReason ? ['Reason', run.pauseReason] : null,
        ['Created', [timeEl(run.createdAt), run.createdBy ? ` by ${run.createdBy}` : '']],
        ['Started', run.startedAt ? timeEl(run.startedAt) : null],
        ['Completed', run.completedAt ? timeEl(run.completedAt) : null],
        ['Cancelled', run.cancelledAt ? timeEl(run.cancelledAt) : null],
      ]),
      progressBar(doneOf(counts), num(data.total ?? totalOf(counts)), `Progress of test run ${run.id}`),
      countsLine(counts),
      h('div', { class: 'actions' },
        downloadButton('Download CSV report', `/api/test-runs/${run.id}/report.csv`, `test-run-${run.id}.csv`),
        downloadButton('Download JSON report', `/api/test-runs/${run.id}/report.json`, `test-run-${run.id}.json`),
        h('a', { class: 'button', href: `#/logs?testRun=${run.id}&campaign=${run.campaignId}` }, 'Worker logs')),
      h('h2', {}, 'Recipient log'),
      dataTable('Recipients', [
        { label: 'Name', value: (r) => r.name },
        { label: 'Chat', value: (r) => r.chatId },
        { label: 'Status', value: (r) => badge(r.status) },
        { label: 'Type', value: (r) => `${r.messageType}${r.usedFallback ? ' (fallback)' : ''}` },
        { label: 'Attempts', num: true, value: (r) => String(r.attempts ?? 0) },
        { label: 'Sent', value: (r) => timeEl(r.sentAt, false) },
        { label: 'Delivered', value: (r) => timeEl(r.deliveredAt, false) },
        { label: 'Read', value: (r) => timeEl(r.readAt, false) },
        { label: 'Next attempt', value: (r) => timeEl(r.nextAttemptAt) },
        { label: 'Error / skip reason', value: (r) => r.lastError ?? r.skipReason ?? '' },
        { label: 'Message id', value: (r) => (r.wahaMessageId ? h('code', {}, r.wahaMessageId) : '—') },
      ], recipients, 'This run has no recipients.'),
    );
  };
  await draw();
  onRefresh(ctx, draw);
}

// ---------------------------------------------------------------------------------------------
// pages: worker logs

async function pageLogs(ctx) {
  const { view, params } = ctx;
  const campaigns = await settle(api(`/api/campaigns`));
  const campaignRows = campaigns.ok ? pickArray(campaigns.value, 'campaigns') : [];
  const campaign = h('select', { id: 'l-campaign', name: 'campaign' }, h('option', { value: '' }, 'all campaigns'), campaignRows.map((c) => h('option', { value: String(c.id), selected: params.campaign === String(c.id) }, `${c.id} · ${c.name}`)));
  if (params.campaign && !campaignRows.some((c) => String(c.id) === params.campaign)) campaign.append(h('option', { value: params.campaign, selected: true }, `campaign ${params.campaign}`));
  const event = h('select', { id: 'l-event', name: 'event' }, h('option', { value: '' }, 'all events'), WORKER_EVENTS.map((e) => h('option', { value: e, selected: params.event === e }, e)));
  const since = h('input', { id: 'l-since', name: 'since', value: params.since ?? '', placeholder: '2h, 3d or 2026-11-01', 'aria-describedby': 'l-since-help' });
  const limit = h('select', { id: 'l-limit', name: 'limit' }, ['50', '100', '200', '500'].map((n) => h('option', { value: n, selected: (params.limit ?? '100') === n }, n)));
  const tableEl = h('div', { id: 'log-table' });
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: async (e) => {
        e.preventDefault();
        const p = { campaign: campaign.value, event: event.value, since: since.value.trim(), limit: limit.value === '100' ? '' : limit.value, testRun: params.testRun };
        setQuery('/logs', p);
        Object.assign(params, p);
        await draw().catch((e2) => fill(tableEl, errorBox(e2)));
      },
    },
    h('div', {}, h('label', { for: 'l-campaign' }, 'Campaign'), campaign),
    h('div', {}, h('label', { for: 'l-event' }, 'Event'), event),
    h('div', {}, h('label', { for: 'l-since' }, 'Since'), since, h('span', { class: 'muted small', id: 'l-since-help' }, 'a duration or an ISO date')),
    h('div', {}, h('label', { for: 'l-limit' }, 'Rows'), limit),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Apply filters')),
  );
  fill(view, h('h1', {}, 'Worker logs'), campaigns.ok ? null : errorBox(campaigns.error), form, tableEl);
  const draw = async () => {
    const data = await api(`/api/worker-events${qs({ campaign: params.campaign, testRun: params.testRun, event: params.event, since: params.since, limit: params.limit })}`);
    if (!ctx.alive()) return;
    const rows = pickArray(data, 'events', 'workerEvents', 'items');
    fill(tableEl, 
      h('p', { class: 'muted small' }, `${rows.length} event(s), newest first.`),
      dataTable('Worker events', [
        { label: 'ID', num: true, value: (e) => String(e.id) },
        { label: 'At', value: (e) => timeEl(e.at, false) },
        { label: 'Event', value: (e) => badge(e.event, ['failed', 'worker_error', 'unknown_outcome', 'session_not_working'].includes(e.event) ? 'bad' : ['sent', 'completed', 'reconciled'].includes(e.event) ? 'ok' : undefined) },
        { label: 'Campaign', value: (e) => (e.campaignId ? h('a', { href: `#/campaigns/${e.campaignId}` }, String(e.campaignId)) : '—') },
        { label: 'Test run', value: (e) => (e.testRunId ? h('a', { href: `#/testing/${e.testRunId}` }, `#${e.testRunId}`) : '—') },
        { label: 'Session', value: (e) => e.session ?? '—' },
        { label: 'Status', value: (e) => e.status ?? '—' },
        { label: 'Reason', value: (e) => e.reason ?? '' },
        { label: 'Next attempt', value: (e) => timeEl(e.nextAttemptAt) },
        { label: 'Worker', value: (e) => e.worker ?? '—' },
      ], rows, 'No worker event matches these filters.'),
    );
  };
  try {
    await draw();
  } catch (e) {
    fill(tableEl, errorBox(e));
  }
  onRefresh(ctx, draw);
}

// ---------------------------------------------------------------------------------------------
// pages: contacts

async function pageContacts(ctx) {
  const { view, params } = ctx;
  const summaryEl = h('div', { id: 'contact-summary' });
  const listEl = h('div', { id: 'contact-list' });
  const search = h('input', { id: 'c-search', type: 'search', value: params.search ?? '', placeholder: 'name, phone or CRM id' });
  const validity = h('select', { id: 'c-validity' }, h('option', { value: '' }, 'any'), ['valid', 'invalid'].map((v) => h('option', { value: v, selected: params.validity === v }, v)));
  const limit = 50;
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const p = { search: search.value.trim(), validity: validity.value, offset: '' };
        setQuery('/contacts', p);
        Object.assign(params, p);
        drawList();
      },
    },
    h('div', {}, h('label', { for: 'c-search' }, 'Search contacts'), search),
    h('div', {}, h('label', { for: 'c-validity' }, 'Phone'), validity),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Search')),
  );
  fill(view, h('h1', {}, 'Contacts'), summaryEl, h('h2', {}, 'Find a contact'), form, h('div', { id: 'contact-status', 'aria-live': 'polite' }), listEl);
  const drawSummary = async () => {
    try {
      const s = await api('/api/contacts/summary');
      const stat = (label, value) => h('div', { class: 'card' }, h('div', { class: 'muted small' }, label), h('div', { class: 'stat' }, String(value ?? 0)));
      fill(summaryEl, 
        h('div', { class: 'grid stats' }, stat('Contacts', s.total), stat('Valid phones', s.validity?.valid), stat('Invalid phones', s.validity?.invalid), stat('Suppressed', s.suppressed), stat('Opted out', s.optedOut), stat('Reachable', s.reachable)),
        h('h2', {}, 'By brand'),
        dataTable('Contacts by brand', [
          { label: 'Brand', value: (b) => b.brand },
          { label: 'Total', num: true, value: (b) => String(b.total) },
          { label: 'Valid', num: true, value: (b) => String(b.valid) },
          { label: 'Suppressed', num: true, value: (b) => String(b.suppressed) },
          { label: 'Opted out', num: true, value: (b) => String(b.optedOut) },
          { label: 'Reachable', num: true, value: (b) => String(b.reachable) },
        ], s.brands ?? [], withCode('No contacts imported yet (`campaign audience import`).')),
        (s.invalidReasons ?? []).length ? [h('h3', {}, 'Why phones are invalid'), dataTable('Invalid reasons', [{ label: 'Reason', value: (r) => r.reason }, { label: 'Contacts', num: true, value: (r) => String(r.contacts) }], s.invalidReasons)] : null,
      );
    } catch (e) {
      fill(summaryEl, errorBox(e));
    }
  };
  const drawList = async () => {
    fill(listEl, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const offset = Number(params.offset ?? 0) || 0;
      const r = await api(`/api/contacts${qs({ search: params.search, validity: params.validity, limit, offset })}`);
      if (!ctx.alive()) return;
      const rows = pickArray(r, 'contacts');
      const total = num(r?.total ?? rows.length);
      const page = (o) => () => {
        params.offset = String(o);
        setQuery('/contacts', { search: params.search, validity: params.validity, offset: o || '' });
        drawList();
      };
      fill(listEl, 
        h('p', { class: 'muted small' }, total === 0 ? 'No contact matches.' : `${offset + 1}–${offset + rows.length} of ${total}`),
        dataTable('Contacts', [
          { label: 'ID', num: true, value: (c) => String(c.id) },
          { label: 'Name', value: (c) => c.name ?? '—' },
          { label: 'Phone', value: (c) => c.phone ?? '—' },
          { label: 'Chat id', value: (c) => c.chatId ?? h('span', { class: 'muted' }, c.phoneInvalidReason ?? 'invalid') },
          { label: 'Brands', value: (c) => (c.brands ?? []).join(', ') },
          { label: 'City', value: (c) => c.city ?? '' },
          { label: 'Status', value: (c) => [c.phoneValid ? null : badge('invalid', 'bad'), c.suppressed ? badge('suppressed', 'warn') : null, c.suppressed && c.suppressedReason ? h('div', { class: 'muted small' }, c.suppressedReason) : null, c.optedOut ? badge('opted out', 'bad') : null, c.phoneValid && !c.suppressed && !c.optedOut ? badge('reachable', 'ok') : null] },
          { label: 'Actions', value: (c) => contactButtons(c, async () => Promise.all([drawSummary(), drawList()])) },
        ], rows, 'No contact matches.'),
        h('div', { class: 'actions' },
          h('button', { type: 'button', disabled: offset === 0, onclick: page(Math.max(0, offset - limit)) }, '← Previous'),
          h('button', { type: 'button', disabled: offset + rows.length >= total, onclick: page(offset + limit) }, 'Next →')),
      );
    } catch (e) {
      fill(listEl, errorBox(e));
    }
  };
  await Promise.all([drawSummary(), drawList()]);
}

const CONTACT_ACTIONS = {
  suppress: { label: 'Suppress', reason: 'required', danger: true, text: (n) => `Suppress ${n}? No campaign will message them, whatever the CRM says; their unsent queue rows are skipped now.`, done: 'suppressed' },
  unsuppress: { label: 'Unsuppress', reason: 'required', text: (n) => `Unsuppress ${n}? Future queue builds may include them again (rows already skipped stay skipped).`, done: 'unsuppressed' },
  'opt-out': { label: 'Opt out', danger: true, text: (n) => `Record that ${n} opted out (asked by another channel)? No campaign will message them; their unsent queue rows are skipped now.`, done: 'opted out' },
  'opt-in': { label: 'Opt in', text: (n) => `Record that ${n} opted in again? Only do this when the person asked for it.`, done: 'opted in again' },
};

function contactButtons(c, after) {
  const names = [c.suppressed ? 'unsuppress' : 'suppress', c.optedOut ? 'opt-in' : 'opt-out'];
  const who = `contact #${c.id} ${c.name ?? c.phone ?? ''}`.trim();
  return h(
    'div',
    { class: 'actions' },
    names.map((name) => {
      const spec = CONTACT_ACTIONS[name];
      return h('button', {
        type: 'button',
        class: spec.danger ? 'danger' : null,
        'data-action': name,
        'aria-label': `${spec.label} ${who}`,
        onclick: async () => {
          const a = await confirmDialog(spec.text(who), { title: `${spec.label} ${who}`, reason: spec.reason ?? false, okLabel: spec.label, danger: spec.danger });
          if (!a.ok) return;
          const status = document.getElementById('contact-status');
          try {
            const r = await post(`/api/contacts/${encodeURIComponent(`#${c.id}`)}/${name}`, spec.reason ? { reason: a.reason } : {});
            const rows = num(r?.skippedRows);
            const text = r?.changed === false && rows === 0 ? `${who} was already ${spec.done}; nothing changed.` : `${who}: ${spec.done}.${rows ? ` ${rows} unsent queue row(s) skipped (campaigns ${(r.campaignIds ?? []).join(', ')}).` : ''}`;
            await after();
            if (status) fill(status, h('div', { class: 'msg ok', role: 'status' }, text));
          } catch (err) {
            if (status) fill(status, errorBox(err));
            else flash(err, 'error');
          }
        },
      }, spec.label);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// pages: media gallery

function fmtBytes(n) {
  const b = num(n);
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

async function pageMedia(ctx) {
  const { view } = ctx;
  const listEl = h('div', { id: 'media-list' });
  const status = h('div', { id: 'media-status', 'aria-live': 'polite' });
  const fields = {
    file: field('m-file', 'File', h('input', { type: 'file', name: 'file' }), 'Image (JPEG, PNG, WEBP) up to 5 MB, audio or video up to 16 MB, a document up to 100 MB. The kind is read from the file itself, not its name.'),
    name: field('m-name', 'Name in the gallery (optional)', h('input', { name: 'name', autocomplete: 'off', maxlength: '255' }), 'Defaults to the file name.'),
  };
  const form = issueForm({
    id: 'media-upload',
    label: 'Upload a file',
    statusId: 'm-upload-status',
    submitLabel: 'Upload',
    fields,
    issueFields: { ...fields, filename: fields.file },
    lead: 'Not uploaded.',
    submit: async (uStatus) => {
      const file = fields.file.input.files?.[0];
      if (!file) {
        fields.file.error.textContent = 'Choose a file to upload.';
        fields.file.error.hidden = false;
        fields.file.input.setAttribute('aria-invalid', 'true');
        fields.file.input.focus();
        return;
      }
      const fd = new FormData();
      if (fields.name.input.value.trim()) fd.append('name', fields.name.input.value.trim());
      fd.append('file', file, file.name);
      fill(uStatus, h('p', { class: 'muted' }, `Uploading ${file.name} (${fmtBytes(file.size)})…`));
      const r = await api('/api/media', { method: 'POST', body: fd });
      const a = r?.asset ?? r;
      fill(uStatus, h('div', { class: 'msg ok', role: 'status' },
        r?.created === false
          ? `That file is already in the gallery as #${a.id} "${a.name}"; nothing new was stored.`
          : `Uploaded #${a.id} "${a.name}": ${r?.detected?.format ?? a.kind}, ${fmtBytes(a.sizeBytes)}. Use it in a template as `, h('code', {}, a.reference ?? `media-asset://${a.id}`), '.'));
      form.reset();
      await draw();
    },
  });
  fill(view,
    h('h1', {}, 'Media'),
    h('p', { class: 'muted' }, 'The Media Gallery: files that media campaigns send. The same gallery as ', h('code', {}, 'campaign media'), '.'),
    h('h2', {}, 'Upload'),
    form,
    h('h2', {}, 'Gallery'),
    status,
    listEl,
  );
  const remove = async (a) => {
    const ok = await confirmDialog(`Delete media asset #${a.id} "${a.name}" and its file? This cannot be undone. A campaign that uses it blocks the delete.`, { title: `Delete media #${a.id}`, okLabel: 'Delete', danger: true });
    if (!ok.ok) return;
    try {
      const r = await api(`/api/media/${encodeURIComponent(a.id)}`, { method: 'DELETE' });
      fill(status, h('div', { class: 'msg ok', role: 'status' }, `Deleted media asset #${a.id} "${a.name}"${r?.fileRemoved === false ? ' (its file was already gone)' : ''}.`));
      await draw();
    } catch (err) {
      const box = errorBox(err);
      const uses = err instanceof ApiError && Array.isArray(err.details?.campaigns) ? err.details.campaigns : [];
      if (uses.length) {
        box.append(h('p', {}, 'Used by:'), h('ul', { class: 'media-uses' }, uses.map((u) => h('li', {}, h('a', { href: `#/campaigns/${u.campaignId}` }, `${u.campaignId} · ${u.campaignName}`), ' ', badge(u.status), u.archived ? [' ', badge('archived', 'warn')] : null, u.via?.length ? h('span', { class: 'muted small' }, ` (via ${u.via.join(', ').replace(/_/g, ' ')})`) : null))));
      }
      fill(status, box);
      status.scrollIntoView({ block: 'nearest' });
    }
  };
  const draw = async () => {
    const r = await api('/api/media');
    if (!ctx.alive()) return;
    const rows = pickArray(r, 'assets');
    fill(listEl,
      h('p', { class: 'muted small' }, `${rows.length} asset(s).`),
      dataTable('Media assets', [
        { label: 'ID', num: true, value: (a) => String(a.id) },
        { label: 'Name', value: (a) => a.name },
        { label: 'Kind', value: (a) => badge(a.kind, 'ok') },
        { label: 'Type', value: (a) => a.mimetype },
        { label: 'Size', num: true, value: (a) => fmtBytes(a.sizeBytes) },
        { label: 'Reference', value: (a) => h('code', {}, a.reference ?? `media-asset://${a.id}`) },
        { label: 'Added', value: (a) => [timeEl(a.createdAt, false), a.createdBy ? ` by ${a.createdBy}` : ''] },
        { label: 'Actions', value: (a) => h('div', { class: 'actions' },
          downloadButton('Download', `/api/media/${a.id}/file`, a.originalFilename ?? a.name),
          h('button', { type: 'button', class: 'danger', 'data-action': 'delete-media', 'data-id': String(a.id), 'aria-label': `Delete ${a.name}`, onclick: () => remove(a) }, 'Delete')) },
      ], rows, 'The gallery is empty. Upload a file above.'),
    );
  };
  try {
    await draw();
  } catch (e) {
    fill(listEl, errorBox(e));
  }
}

// ---------------------------------------------------------------------------------------------
// pages: settings

function settingText(v) {
  return Array.isArray(v) ? v.join(', ') : String(v ?? '');
}

/** Form text back to a value of the setting's type; the server's rules judge the result. */
function settingValue(text, like) {
  const t = text.trim();
  const asNum = (p) => (/^-?\d+(\.\d+)?$/.test(p) ? Number(p) : p);
  if (Array.isArray(like)) {
    const parts = t === '' ? [] : t.split(',').map((p) => p.trim());
    return typeof like[0] === 'number' ? parts.map(asNum) : parts;
  }
  if (typeof like === 'number') return asNum(t);
  return t;
}

async function pageSettings(ctx) {
  const { view } = ctx;
  const data = await api('/api/settings');
  if (!ctx.alive()) return;
  drawSettings(ctx, data);
}

function drawSettings(ctx, data, issues = [], message = null, typed = null) {
  const { view } = ctx;
  const settings = data.settings ?? data;
  const changed = new Set(data.changed ?? []);
  const help = data.help ?? {};
  const inputs = {};
  const byKey = new Map();
  for (const i of issues) byKey.set(i.path, [...(byKey.get(i.path) ?? []), i.message]);
  const status = h('div', { id: 'settings-status', 'aria-live': 'polite' }, message);
  const rows = Object.entries(settings).map(([key, value]) => {
    const id = `setting-${key}`;
    const errs = byKey.get(key) ?? [];
    const input = h('input', {
      id,
      name: key,
      value: typed && key in typed ? typed[key] : settingText(value),
      inputmode: typeof value === 'number' ? 'decimal' : null,
      'aria-describedby': `${id}-help${errs.length ? ` ${id}-error` : ''}`,
      'aria-invalid': errs.length ? 'true' : null,
      autocomplete: 'off',
    });
    inputs[key] = { input, value };
    return h(
      'div',
      { class: 'card setting', 'data-key': key },
      h('label', { for: id }, key, changed.has(key) ? [' ', badge('changed', 'warn')] : null),
      h('div', {}, input),
      h('p', { class: 'muted small', id: `${id}-help` }, help[key] ?? ''),
      errs.length ? h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' }, errs.join('; ')) : null,
    );
  });
  const save = async (e) => {
    e.preventDefault();
    const patch = {};
    for (const [key, { input, value }] of Object.entries(inputs)) {
      const next = settingValue(input.value, value);
      if (JSON.stringify(next) !== JSON.stringify(value)) patch[key] = next;
    }
    if (Object.keys(patch).length === 0) {
      fill(status, h('div', { class: 'msg info' }, 'Nothing changed.'));
      return;
    }
    try {
      const r = await api('/api/settings', { method: 'PATCH', body: patch });
      const changes = r?.changes ?? [];
      const text = changes.length ? `Saved: ${changes.map((c) => `${c.key} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join(', ')}` : 'Saved.';
      drawSettings(ctx, r?.settings ? r : await api('/api/settings'), [], h('div', { class: 'msg ok', role: 'status' }, text));
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        // Keep what the operator typed, show each rule next to its field; the stored values stay the baseline.
        const typedNow = Object.fromEntries(Object.entries(inputs).map(([key, { input }]) => [key, input.value]));
        drawSettings(ctx, data, err.issues, h('div', { class: 'msg error', role: 'alert' }, `Not saved; nothing was changed. ${err.message}`), typedNow);
        const first = view.querySelector('[aria-invalid="true"]');
        first?.focus();
      } else fill(status, errorBox(err));
    }
  };
  const presetButtons = PRESET_NAMES.map((name) =>
    h('button', {
      type: 'button',
      'data-preset': name,
      'aria-pressed': data.preset === name ? 'true' : 'false',
      class: data.preset === name ? 'primary' : null,
      onclick: async () => {
        const a = await confirmDialog(`Apply the "${name}" preset? It changes the daily and hourly limits and the delays.`, { title: `Preset ${name}`, okLabel: 'Apply preset' });
        if (!a.ok) return;
        try {
          const r = await post('/api/settings/preset', { name });
          drawSettings(ctx, r?.settings ? r : await api('/api/settings'), [], h('div', { class: 'msg ok', role: 'status' }, `Applied preset ${name}.`));
        } catch (err) {
          fill(status, errorBox(err));
        }
      },
    }, name),
  );
  fill(view, 
    h('h1', {}, 'Settings'),
    h('p', { class: 'muted' }, 'Pacing and safety settings. The server checks every change against the same rules as ', h('code', {}, 'campaign settings set'), '; a change that breaks one is not saved.'),
    h('h2', {}, 'Presets'),
    h('div', { class: 'actions' }, presetButtons, h('span', { class: 'muted small' }, data.preset ? `current limits match “${data.preset}”` : 'current limits match no preset')),
    status,
    h('form', { id: 'settings-form', onsubmit: save, novalidate: true },
      h('div', { class: 'grid' }, rows),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save changes'), h('button', { type: 'button', onclick: () => pageSettings(ctx).catch((e) => fill(status, errorBox(e))) }, 'Discard edits'))),
  );
}

// ---------------------------------------------------------------------------------------------
// pages: admin activity

async function pageActivity(ctx) {
  const { view, params } = ctx;
  const actor = h('input', { id: 'a-actor', value: params.actor ?? '' });
  const action = h('input', { id: 'a-action', value: params.action ?? '', placeholder: 'campaign.* or settings.update' });
  const campaign = h('input', { id: 'a-campaign', value: params.campaign ?? '', inputmode: 'numeric' });
  const since = h('input', { id: 'a-since', value: params.since ?? '', placeholder: '1d' });
  const tableEl = h('div', { id: 'activity-table' });
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const p = { actor: actor.value.trim(), action: action.value.trim(), campaign: campaign.value.trim(), since: since.value.trim() };
        setQuery('/activity', p);
        Object.assign(params, p);
        draw().catch((e2) => fill(tableEl, errorBox(e2)));
      },
    },
    h('div', {}, h('label', { for: 'a-actor' }, 'Actor'), actor),
    h('div', {}, h('label', { for: 'a-action' }, 'Action'), action),
    h('div', {}, h('label', { for: 'a-campaign' }, 'Campaign id'), campaign),
    h('div', {}, h('label', { for: 'a-since' }, 'Since'), since),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Apply filters')),
  );
  fill(view, h('h1', {}, 'Admin activity'), h('p', { class: 'muted' }, 'Every change from any surface (CLI, API, dashboard), newest first.'), form, tableEl);
  const draw = async () => {
    const data = await api(`/api/audit${qs({ actor: params.actor, action: params.action, campaign: params.campaign, since: params.since, limit: 200 })}`);
    if (!ctx.alive()) return;
    const rows = pickArray(data, 'activity', 'entries', 'items');
    fill(tableEl, 
      dataTable('Admin activity', [
        { label: 'At', value: (a) => timeEl(a.at, false) },
        { label: 'Actor', value: (a) => a.actor },
        { label: 'Action', value: (a) => h('code', {}, a.action) },
        { label: 'Campaign', value: (a) => (a.campaignId ? h('a', { href: `#/campaigns/${a.campaignId}` }, String(a.campaignId)) : '—') },
        { label: 'Summary', value: (a) => a.summary },
        { label: 'Details', value: (a) => (a.details && Object.keys(a.details).length ? h('details', {}, h('summary', {}, 'show'), h('pre', {}, JSON.stringify(a.details, null, 2))) : '') },
      ], rows, 'No activity matches.'),
    );
  };
  try {
    await draw();
  } catch (e) {
    fill(tableEl, errorBox(e));
  }
}

// ---------------------------------------------------------------------------------------------
// pages: docs, with a tiny Markdown renderer (headings, paragraphs, code, tables, lists, quotes)

export function slug(text) {
  return text.toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s-]/gu, '').trim().replace(/\s/g, '-');
}

function safeUrl(url) {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u) || u.startsWith('#') || /^[\w./-][^:]*$/.test(u)) return u;
  return '#';
}

export function inlineMd(text) {
  const codes = [];
  let s = text.replace(/`([^`]+)`/g, (_, c) => {
    codes.push(`<code>${escapeHtml(c)}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  s = escapeHtml(s);
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, url) => {
    const href = safeUrl(url.replace(/&amp;/g, '&'));
    const external = /^https?:/i.test(href);
    return `<a href="${escapeHtml(href)}"${external ? ' rel="noopener noreferrer" target="_blank"' : ''}>${label}</a>`;
  });
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[^\w*])\*([^*\s][^*]*)\*(?!\w)/g, '$1<em>$2</em>').replace(/(^|\W)_([^_\s][^_]*)_(?!\w)/g, '$1<em>$2</em>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => codes[Number(i)]);
}

const splitRow = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
const LIST_RE = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

export function renderMarkdown(md) {
  const lines = String(md).replace(/\r\n?/g, '\n').split('\n');
  return renderBlocks(lines);
}

function renderBlocks(lines) {
  const out = [];
  let i = 0;
  const isBlockStart = (l, next) => /^\s*(```|~~~)/.test(l) || /^#{1,6}\s/.test(l) || LIST_RE.test(l) || /^\s*>/.test(l) || /^\s*([-*_])(\s*\1){2,}\s*$/.test(l) || (l.includes('|') && next !== undefined && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(next));
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) {
      i++;
      continue;
    }
    const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      out.push(`<pre><code${fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : ''}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level} id="${escapeHtml(slug(heading[2]))}">${inlineMd(heading[2])}</h${level}>`);
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(lines[i + 1])) {
      const head = splitRow(line);
      const aligns = splitRow(lines[i + 1]).map((c) => (c.endsWith(':') ? (c.startsWith(':') ? 'center' : 'right') : null));
      i += 2;
      const rows = [];
      while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') rows.push(splitRow(lines[i++]));
      // A class, not a style attribute: the Content-Security-Policy refuses inline styles.
      const cell = (tag, c, k) => `<${tag}${aligns[k] ? ` class="align-${aligns[k]}"` : ''}>${inlineMd(c)}</${tag}>`;
      out.push(
        `<div class="table-wrap" role="region" tabindex="0" aria-label="table"><table><thead><tr>${head.map((c, k) => cell('th', c, k)).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${head.map((_, k) => cell('td', r[k] ?? '', k)).join('')}</tr>`)
          .join('')}</tbody></table></div>`,
      );
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ''));
      out.push(`<blockquote>${renderBlocks(body)}</blockquote>`);
      continue;
    }
    const item = LIST_RE.exec(line);
    if (item) {
      const indent = item[1].length;
      const ordered = /\d/.test(item[2]);
      const items = [];
      while (i < lines.length) {
        const m = LIST_RE.exec(lines[i]);
        if (m && m[1].length === indent && /\d/.test(m[2]) === ordered) {
          items.push([m[3]]);
          i++;
          continue;
        }
        if (items.length && (/^\s*$/.test(lines[i]) ? i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]) && lines[i + 1].search(/\S/) > indent : lines[i].search(/\S/) > indent)) {
          items[items.length - 1].push(lines[i].slice(Math.min(indent + 2, lines[i].search(/\S/) < 0 ? 0 : lines[i].search(/\S/))));
          i++;
          continue;
        }
        break;
      }
      const tag = ordered ? 'ol' : 'ul';
      out.push(
        `<${tag}>${items
          .map(([first, ...rest]) => {
            const sub = rest.filter((l) => l.trim() !== '');
            const nestedAt = sub.findIndex((l) => LIST_RE.test(l) || /^\s*(```|~~~)/.test(l));
            const textLines = [first, ...(nestedAt < 0 ? sub : sub.slice(0, nestedAt))].map((l) => l.trim());
            const nested = nestedAt < 0 ? '' : renderBlocks(sub.slice(nestedAt));
            return `<li>${inlineMd(textLines.join(' '))}${nested}</li>`;
          })
          .join('')}</${tag}>`,
      );
      continue;
    }
    const para = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && !(para.length && isBlockStart(lines[i], lines[i + 1]))) para.push(lines[i++].trim());
    out.push(`<p>${inlineMd(para.join(' '))}</p>`);
  }
  return out.join('\n');
}

async function pageDocs(ctx) {
  const { view } = ctx;
  const data = await api('/api/docs');
  if (!ctx.alive()) return;
  const md = typeof data === 'string' ? data : (data?.markdown ?? data?.text ?? data?.content ?? data?.readme ?? '');
  if (!md.trim()) {
    fill(view, h('h1', {}, 'Docs'), errorBox('The server returned no manual text.'));
    return;
  }
  const doc = h('article', { class: 'doc', id: 'doc' });
  doc.innerHTML = renderMarkdown(md);
  // In-page links (#configuration) scroll instead of changing the route.
  doc.addEventListener('click', (e) => {
    const a = e.target.closest('a[href^="#"]');
    if (!a || a.getAttribute('href').startsWith('#/')) return;
    e.preventDefault();
    const target = doc.querySelector(`[id="${CSS.escape(decodeURIComponent(a.getAttribute('href').slice(1)))}"]`);
    target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    target?.setAttribute('tabindex', '-1');
    target?.focus({ preventScroll: true });
  });
  if (!doc.querySelector('h1')) doc.prepend(h('h1', {}, 'Docs'));
  fill(view, doc);
}

// ---------------------------------------------------------------------------------------------
// start

function boot() {
  document.getElementById('logout').addEventListener('click', () => {
    token.clear();
    stopLive();
    flash('Logged out.', 'ok', true);
    go('/login');
  });
  const toggle = document.getElementById('menu-toggle');
  toggle.addEventListener('click', () => {
    const nav = document.getElementById('nav');
    const open = nav.classList.toggle('open');
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  });
  window.addEventListener('hashchange', () => render());
  window.addEventListener('error', (e) => flash(`Unexpected error: ${e.message}`, 'error'));
  window.addEventListener('unhandledrejection', (e) => {
    if (e.reason instanceof ApiError && e.reason.status === 401) return;
    flash(e.reason instanceof Error ? e.reason : `Unexpected error: ${e.reason}`, 'error');
  });
  render();
}

if (typeof document !== 'undefined' && document.getElementById('main')) boot();
