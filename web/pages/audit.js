// The audit log: filters, paging (newest first), export and chain check.

import * as api from '../api.js';
import { h, icon, badge, button, card, errorBanner, field, pageHead, pager, showError, spinner, table, when } from '../ui.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A table of audit records (also on the dashboard and an object's page). */
export function auditTable(records, test = 'audit-table', apps = new Map()) {
  const actor = (r) => {
    const name = r.actor_kind === 'app' && apps.get(r.actor);
    return h('span', { title: r.actor },
      h('span', { class: 'muted' }, `${r.actor_kind} `),
      name ? h('a', { href: `#/apps/${r.actor}` }, name) : h('span', { class: r.actor_kind === 'app' ? 'mono' : null }, r.actor));
  };
  const objectCell = (r) => {
    if (!r.object) return h('span', { class: 'muted' }, '—');
    const short = r.object.length > 20 ? `${r.object.slice(0, 8)}…` : r.object;
    if (UUID.test(r.object) && !api.isSysadmin()) {
      if (apps.has(r.object) || /\/apps\//.test(r.operation)) return h('a', { href: `#/apps/${r.object}`, class: 'mono', title: r.object }, apps.get(r.object) || short);
      if (/kmip|objects/i.test(r.operation)) return h('a', { href: `#/objects/${r.object}`, class: 'mono', title: r.object }, short);
    }
    return h('span', { class: 'mono', title: r.object }, short);
  };
  return table({
    test,
    rowTest: 'audit-row',
    rows: records,
    empty: 'No audit records.',
    rowClass: (r) => r.result !== 'success' && 'row-failure',
    columns: [
      { label: 'Time', cell: (r) => when(r.time_ms, true) },
      { label: 'Actor', cell: actor },
      { label: 'Operation', cell: (r) => h('span', { class: 'mono' }, r.operation) },
      { label: 'Object', cell: objectCell },
      { label: 'Result', cell: (r) => (r.result === 'success' ? badge('Success', 'ok') : badge('Failure', 'bad')) },
      { label: 'Source', cell: (r) => h('span', { class: 'mono' }, r.source) },
      { label: 'Detail', class: 'wrap', cell: (r) => [r.reason, r.message].filter(Boolean).join(' — ') || h('span', { class: 'muted' }, '—') },
    ],
  });
}

// The filters survive leaving the page.
const state = { actor: '', object: '', operation: '', from: '', to: '', before: null, stack: [] };
const LIMIT = 100;

/** A datetime-local value as milliseconds, or undefined. */
const ms = (v) => (v ? new Date(v).getTime() : undefined);

/** #/audit */
export async function page({ query }) {
  if (query.get('object')) {
    Object.assign(state, { actor: '', operation: '', from: '', to: '', object: query.get('object'), before: null, stack: [] });
    history.replaceState(null, '', '#/audit');
  }
  const filters = () => ({
    actor: state.actor, object: state.object, operation: state.operation, from: ms(state.from), to: ms(state.to),
  });
  const apps = await api.appNames();
  const results = h('div', { class: 'results' });
  const verifyOut = h('div', { class: 'verify-out', test: 'audit-verify-result', 'aria-live': 'polite' });

  const inputs = {
    actor: h('input', { type: 'search', value: state.actor, test: 'audit-filter-actor', placeholder: 'App id or user name', autocomplete: 'off' }),
    object: h('input', { type: 'search', value: state.object, test: 'audit-filter-object', placeholder: 'Object id', autocomplete: 'off', spellcheck: 'false' }),
    operation: h('input', { type: 'search', value: state.operation, test: 'audit-filter-operation', placeholder: 'e.g. kmip.Create', autocomplete: 'off', spellcheck: 'false' }),
    from: h('input', { type: 'datetime-local', value: state.from, test: 'audit-filter-from' }),
    to: h('input', { type: 'datetime-local', value: state.to, test: 'audit-filter-to' }),
  };
  const exportLink = h('a', { class: 'btn', test: 'audit-export', download: 'audit.jsonl' });
  const setExport = () => {
    exportLink.href = api.url('/v1/audit/export', { ...filters(), limit: 100000 });
    exportLink.replaceChildren(icon('download'), 'Export (JSON lines)');
  };
  setExport();

  const form = h('form', { class: 'filters', test: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', inputs.actor),
    field('Object', inputs.object),
    field('Operation', inputs.operation),
    field('From', inputs.from),
    field('To', inputs.to),
    h('div', { class: 'filter-buttons' },
      button('Apply', null, { type: 'submit', kind: 'primary', test: 'audit-filter-apply' }),
      button('Clear', () => {
        for (const i of Object.values(inputs)) i.value = '';
        apply();
      }, { test: 'audit-filter-clear' })));
  const apply = () => {
    for (const k of Object.keys(inputs)) state[k] = inputs[k].value.trim();
    state.before = null;
    state.stack = [];
    setExport();
    load();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });

  async function load(first = false) {
    results.classList.add('busy');
    results.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get('/v1/audit', { ...filters(), limit: LIMIT, before: state.before });
      const start = state.stack.length * LIMIT;
      results.replaceChildren(auditTable(page.records, 'audit-table', apps),
        h('div', { class: 'table-foot' }, h('span'),
          pager({
            test: 'audit',
            text: page.records.length ? `Records ${start + 1}–${start + page.records.length}, newest first` : 'No records',
            hasPrev: state.stack.length > 0,
            hasNext: page.next_before !== null && page.next_before !== undefined,
            onPrev: () => {
              state.before = state.stack.pop() ?? null;
              load();
            },
            onNext: () => {
              state.stack.push(state.before);
              state.before = page.next_before;
              load();
            },
          })));
    } catch (e) {
      if (first) throw e;
      showError(e);
    } finally {
      results.classList.remove('busy');
      results.removeAttribute('aria-busy');
    }
  }
  await load(true);

  const verify = async () => {
    verifyOut.replaceChildren(spinner('Checking'), ' Checking the chain…');
    try {
      const v = await api.get('/v1/audit/verify');
      verifyOut.replaceChildren(v.intact
        ? h('div', { class: 'banner banner-ok', 'data-intact': 'true' }, h('strong', null, 'Chain intact.'), ` ${v.records.toLocaleString()} records checked from the first to the last.`)
        : h('div', { class: 'banner banner-error', 'data-intact': 'false' }, h('strong', null, 'Chain broken. '), v.problem || 'A record was changed, removed or reordered.'));
    } catch (e) {
      verifyOut.replaceChildren(errorBanner(e));
    }
  };

  return h('div', null,
    pageHead('Audit log', api.isSysadmin()
      ? 'The provider\'s own log: accounts, sysadmins and sign-ins. Each record is chained to the previous one by its hash.'
      : 'Every authentication, administrative and cryptographic operation of this account, hash-chained so tampering shows.',
    button('Verify chain', verify, { test: 'audit-verify', iconName: 'check' }),
    exportLink),
    verifyOut,
    form,
    card(null, results));
}
