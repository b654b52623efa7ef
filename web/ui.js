// The DOM helper h(), icons, the one table, dialogs, banners and small widgets.
// Nothing here parses HTML: text from the server always goes in as text.

import * as api from './api.js';

let nextId = 0;
/** A unique element id. */
export const uid = (prefix = 'el') => `${prefix}-${++nextId}`;

// Set as properties (after the children, so a <select> has its options).
const PROPS = new Set(['value', 'checked', 'selected', 'indeterminate']);

/**
 * Creates an element: h('button', {class: 'btn', test: 'x', onclick: fn}, 'Text', child…).
 * `test` becomes data-test; `on…` functions become listeners; false/null are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = [];
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'style' || k === 'innerHTML') throw new Error(`h(): ${k} is not allowed`);
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'test') el.dataset.test = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) props.push([k, v]);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  for (const [k, v] of props) el[k] = v;
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// ---- icons: 24×24 stroke paths, drawn by CSS (.icon)

const PATHS = {
  lock: 'M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4',
  dashboard: 'M3 3h7v8H3zM14 3h7v5h-7zM14 12h7v9h-7zM3 15h7v6H3z',
  key: 'M14.5 3a6.5 6.5 0 1 1-5.9 9.2L3 17.8V21h3.2v-2.2h2.2v-2.2h2.2l1.4-1.4A6.5 6.5 0 0 1 14.5 3zM16.5 7.5h.01',
  app: 'M4 4h16v16H4zM9 9h6v6H9zM9 1v3M15 1v3M9 20v3M15 20v3M20 9h3M20 14h3M1 9h3M1 14h3',
  group: 'M22 19a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h5l2 3h9a2 2 0 0 1 2 2z',
  cert: 'M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10zM9 12l2 2 4-4',
  users: 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM23 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8',
  audit: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
  accounts: 'M3 21h18M5 21V7l7-4 7 4v14M9 9h1M14 9h1M9 13h1M14 13h1M9 17h1M14 17h1',
  server: 'M2 3h20v7H2zM2 14h20v7H2zM6 6.5h.01M6 17.5h.01',
  signout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  copy: 'M9 9h12v12H9zM5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1',
  download: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3',
  plus: 'M12 5v14M5 12h14',
  upload: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M17 8l-5-5-5 5M12 3v12',
  check: 'M20 6L9 17l-5-5',
  alert: 'M12 9v4M12 17h.01M10.3 3.9L1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z',
  close: 'M18 6L6 18M6 6l12 12',
  eye: 'M1 12s4-8 11-8 11 8 11 8-4 8-11 8-11-8-11-8zM12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
  refresh: 'M23 4v6h-6M1 20v-6h6M3.5 9a9 9 0 0 1 14.9-3.4L23 10M1 14l4.6 4.4A9 9 0 0 0 20.5 15',
};

/** An inline SVG icon (decorative: hidden from screen readers). */
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', PATHS[name] || PATHS.alert);
  svg.append(path);
  return svg;
}

// ---- formatting

const pad = (n) => String(n).padStart(2, '0');

/** A <time> for seconds (or, with ms = true, milliseconds) since the epoch:
 * local "2024-03-20 14:05" (with seconds for ms), the UTC ISO time in its title. */
export function when(t, ms = false) {
  if (t === null || t === undefined) return h('span', { class: 'muted' }, '—');
  const d = new Date(ms ? t : t * 1000);
  let text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (ms) text += `:${pad(d.getSeconds())}`;
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, text);
}

export const num = (n) => (typeof n === 'number' ? n.toLocaleString() : '—');
export const shortId = (id) => (id ? `${String(id).slice(0, 8)}…` : '—');

/** An id in monospace, shortened, the whole id in its title. */
export const idText = (id) => h('span', { class: 'mono', title: id }, shortId(id));

const STATE_LABEL = {
  PreActive: 'Pre-active', Active: 'Active', Deactivated: 'Deactivated', Compromised: 'Compromised',
  Destroyed: 'Destroyed', DestroyedCompromised: 'Destroyed (compromised)',
};
export const STATES = Object.keys(STATE_LABEL);
export const stateLabel = (s) => STATE_LABEL[s] || s;

/** A colored badge: kind is ok, warn, bad, info, off or neutral. */
export const badge = (text, kind = 'neutral', test) => h('span', { class: `badge badge-${kind}`, test }, text);

/** A KMIP state as a colored badge. */
export function stateBadge(state) {
  const kind = {
    PreActive: 'info', Active: 'ok', Deactivated: 'warn', Compromised: 'bad',
    Destroyed: 'off', DestroyedCompromised: 'bad',
  }[state] || 'neutral';
  return h('span', { class: `badge badge-${kind}`, test: 'state-badge', 'data-state': state }, stateLabel(state));
}

// ---- layout pieces

/** The title row of a page, with its actions on the right. */
export function pageHead(title, subtitle, ...actions) {
  return h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { tabindex: '-1' }, title),
      subtitle && h('p', { class: 'subtitle' }, subtitle)),
    h('div', { class: 'actions' }, actions));
}

/** A titled card. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title && h('h2', null, title), children);
}

/** A definition list of [label, value] (null values skipped). */
export function facts(rows) {
  return h('dl', { class: 'facts' },
    rows.filter((r) => r && r[1] !== null && r[1] !== undefined)
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export const spinner = (label = 'Loading') =>
  h('span', { class: 'spinner', role: 'status', 'aria-label': label });

export const loading = () => h('div', { class: 'loading', test: 'loading' }, spinner(), 'Loading…');

/** A button: h('button') with type=button and an optional icon. */
export function button(label, onclick, { test, kind = '', iconName, disabled, title, type = 'button' } = {}) {
  return h('button', { type, class: ['btn', kind], test, onclick, disabled, title },
    iconName && icon(iconName), label);
}

// ---- the one table

/**
 * A table of `rows`. columns: [{label, cell: row => node|text, sort?: key, class?}].
 * sort: {key, order, onSort(key)} makes the columns with `sort` clickable.
 * empty: what an empty table says. test: data-test of the <table>; rowTest of each <tr>.
 */
export function table({ columns, rows, empty, test, rowTest = 'row', rowClass, sort }) {
  const head = columns.map((c) => {
    if (!c.sort || !sort) return h('th', { scope: 'col', class: c.class }, c.label);
    const active = sort.key === c.sort;
    const dir = active ? sort.order : null;
    return h('th', {
      scope: 'col', class: c.class,
      'aria-sort': active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none',
    }, h('button', {
      type: 'button', class: ['sort', active && 'active'], test: `sort-${c.sort}`,
      onclick: () => sort.onSort(c.sort),
    }, c.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (dir === 'asc' ? '▲' : '▼') : '↕')));
  });
  const body = rows.length
    ? rows.map((r) => h('tr', { test: rowTest, class: rowClass && rowClass(r), 'data-id': r.id },
      columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(r)))))
    : h('tr', { class: 'empty' }, h('td', { colspan: columns.length, test: `${test}-empty` }, empty));
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', test },
      h('thead', null, h('tr', null, head)),
      h('tbody', null, body)));
}

/** Previous / Next for keyset paging. */
export function pager({ text, hasPrev, hasNext, onPrev, onNext, test }) {
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'muted', test: `${test}-range` }, text),
    button('Previous', onPrev, { test: `${test}-prev`, disabled: !hasPrev }),
    button('Next', onNext, { test: `${test}-next`, disabled: !hasNext }));
}

// ---- errors and notices

/** An error banner: the message, and the request id small. */
export function errorBanner(err, onDismiss) {
  const box = h('div', { class: 'banner banner-error', role: 'alert', test: 'error-banner' },
    icon('alert'),
    h('div', { class: 'banner-text' },
      h('strong', { test: 'error-message' }, err?.message || String(err)),
      err?.requestId && h('small', { class: 'request-id', test: 'error-request-id' }, `Request id ${err.requestId}`)),
    onDismiss && h('button', {
      type: 'button', class: 'btn icon-only', 'aria-label': 'Dismiss', test: 'error-dismiss',
      onclick: () => { box.remove(); onDismiss(); },
    }, icon('close')));
  return box;
}

let bannerSlot = null;
/** Where showError puts the page's banner (set by the layout). */
export function setBannerSlot(el) {
  bannerSlot = el;
}
export function showError(err) {
  if (!bannerSlot) return;
  bannerSlot.replaceChildren(errorBanner(err, () => {}));
  bannerSlot.scrollIntoView({ block: 'nearest' });
}
export function clearBanner() {
  bannerSlot?.replaceChildren();
}

/** A short notice at the corner of the screen. */
export function notify(text) {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const t = h('div', { class: 'toast', test: 'toast' }, icon('check'), text);
  region.append(t);
  setTimeout(() => t.classList.add('gone'), 3500);
  setTimeout(() => t.remove(), 4000);
}

// ---- forms

/** A labelled control. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  const hintEl = hint && h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A <select> of options: strings, or [value, label] pairs. */
export function select(options, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v }, l);
  }));
}

/** A group of checkboxes or radios: items [{value, label, checked, test}]. */
export function choices(legend, type, name, items) {
  return h('fieldset', { class: 'choices' },
    h('legend', null, legend),
    items.map((i) => h('label', { class: 'choice' },
      h('input', { type, name, value: i.value, checked: Boolean(i.checked), test: i.test }),
      i.label)));
}

/** The checked values of the inputs named `name` in `form`. */
export const checked = (form, name) =>
  [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

// ---- copying and downloads

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

/** A Copy button for `text` (a string or a function answering it). */
export function copyButton(text, test, what = '') {
  const b = h('button', {
    type: 'button', class: 'btn small', test, 'aria-label': what ? `Copy ${what}` : 'Copy',
    onclick: async () => {
      await copyText(typeof text === 'function' ? text() : text);
      b.replaceChildren(icon('check'), 'Copied');
      setTimeout(() => b.replaceChildren(icon('copy'), 'Copy'), 1500);
    },
  }, icon('copy'), 'Copy');
  return b;
}

/** A read-only value with a Copy button (credentials, one-time passwords). */
export function secretField(label, value, test) {
  const input = h('input', { type: 'text', readonly: true, class: 'mono', value, test, spellcheck: 'false' });
  input.addEventListener('focus', () => input.select());
  return field(label, h('div', { class: 'copy-row' }, input, copyButton(value, `${test}-copy`, label.toLowerCase())));
}

/** Offers `text` as a file download (a blob: URL and <a download>). */
export function saveText(text, filename, type = 'application/x-pem-file') {
  saveBlob(new Blob([text], { type }), filename);
}

/** Offers `data` (a Blob) as a file download. */
export function saveBlob(data, filename) {
  const href = URL.createObjectURL(data);
  const a = h('a', { href, download: filename, class: 'offscreen' });
  document.body.append(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(href);
    a.remove();
  }, 2000);
}

/**
 * A download link to an API file. It works as a plain link with the cookie;
 * with JavaScript it fetches through the API wrapper (so an expired session
 * is refreshed and a refusal shows as an error, not as a downloaded file).
 */
export function downloadLink(path, filename, label, test) {
  return h('a', {
    href: path, download: filename, class: 'btn', test,
    onclick: async (ev) => {
      ev.preventDefault();
      try {
        saveBlob(await api.blob(path), filename);
      } catch (e) {
        showError(e);
      }
    },
  }, icon('download'), label);
}

/** PEM text: Download and Copy buttons and a read-only text area. */
export function pemBox(label, text, filename, test) {
  const ta = h('textarea', { readonly: true, class: 'mono pem', rows: 6, test, spellcheck: 'false' });
  ta.value = text;
  return h('div', { class: 'pem-box' },
    field(label, ta),
    h('div', { class: 'row' },
      button(`Download ${filename}`, () => saveText(text, filename), { iconName: 'download', test: `${test}-download`, kind: 'small' }),
      copyButton(text, `${test}-copy`, label)));
}

/** Reads a chosen file as text into `target` (a textarea). */
export function pemFileInput(target, test) {
  const input = h('input', { type: 'file', accept: '.pem,.crt,.cer,.csr,.txt', test });
  input.addEventListener('change', async () => {
    const f = input.files && input.files[0];
    if (f) target.value = await f.text();
  });
  return input;
}

// ---- dialogs (native <dialog>: focus stays inside, Escape closes)

/**
 * A modal form. content: nodes inside the form. action(form): async, its
 * answer (true for an empty one) resolves the promise and closes the dialog; an error it throws is
 * shown inside the dialog. Cancel or Escape resolves null.
 * The buttons are data-test confirm-ok and confirm-cancel.
 */
export function ask({ title, content, ok = 'OK', danger = false, test = 'dialog', action = async () => true, wide = false }) {
  return new Promise((resolve) => {
    let result = null;
    const errors = h('div', { class: 'dialog-errors' });
    const okBtn = h('button', { type: 'submit', class: ['btn', danger ? 'danger' : 'primary'], test: 'confirm-ok' }, ok);
    const form = h('form', { class: 'dialog-form' },
      h('header', null, h('h2', { id: `${test}-title` }, title)),
      h('div', { class: 'dialog-body' }, content, errors),
      h('footer', null,
        button('Cancel', () => dlg.close(), { test: 'confirm-cancel' }),
        okBtn));
    const dlg = h('dialog', { class: ['dialog', wide && 'wide'], test, 'aria-labelledby': `${test}-title` }, form);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      okBtn.disabled = true;
      okBtn.prepend(spinner('Working'));
      errors.replaceChildren();
      try {
        result = (await action(form)) ?? true;
        dlg.close();
      } catch (e) {
        errors.replaceChildren(errorBanner(e));
      } finally {
        okBtn.disabled = false;
        okBtn.querySelector('.spinner')?.remove();
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Shows values once (a new password, a secret): one Done button (data-test dialog-done). */
export function showOnce({ title, content, test = 'dialog-once' }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', test, 'aria-labelledby': `${test}-title` },
      h('div', { class: 'dialog-form' },
        h('header', null, h('h2', { id: `${test}-title` }, title)),
        h('div', { class: 'dialog-body' }, content),
        h('footer', null, button('Done', () => dlg.close(), { kind: 'primary', test: 'dialog-done' }))));
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
