// Security objects: the list (filters, sorting, keyset paging: one page of
// rows at a time, however many objects), create, import (BYOK), and one
// object's page with its attributes, history, audit trail and actions.

import * as api from '../api.js';
import {
  h, ask, button, card, choices, copyButton, errorBanner, facts, field, idText, notify, pageHead,
  pager, select, showError, shortId, stateBadge, stateLabel, STATES, table, when, num,
} from '../ui.js';
import { auditTable } from './audit.js';

const TYPES = ['SymmetricKey', 'SecretData', 'PrivateKey', 'PublicKey', 'Certificate', 'OpaqueObject'];
const TYPE_LABEL = {
  SymmetricKey: 'Symmetric key', SecretData: 'Secret', PrivateKey: 'Private key', PublicKey: 'Public key',
  Certificate: 'Certificate', OpaqueObject: 'Opaque object',
};
const ALGORITHMS = ['AES', 'DES3', 'ChaCha20', 'HMAC_SHA256', 'HMAC_SHA384', 'HMAC_SHA512', 'RSA', 'EC', 'ECDSA'];
const LENGTHS = ['128', '192', '256', '2048', '3072', '4096'];
const REASONS = [
  ['CessationOfOperation', 'Cessation of operation'], ['Superseded', 'Superseded'],
  ['KeyCompromise', 'Key compromise'], ['AffiliationChanged', 'Affiliation changed'],
  ['PrivilegeWithdrawn', 'Privilege withdrawn'], ['Unspecified', 'Unspecified'],
];

const typeLabel = (t) => TYPE_LABEL[t] || t;
const algoText = (o) => (o.algorithm ? `${o.algorithm}${o.length ? `-${o.length}` : ''}` : '—');
/** An object's name for people: its Name, else vCenter's x-Name, else its id. */
const title = (o) => o.name || o.tags?.['x-Name'] || shortId(o.id);

// The list's state survives going to an object and back.
const blank = () => ({ name: '', type: '', algorithm: '', length: '', state: '', group: '', attrKey: 'x-Name', attrValue: '' });
const list$ = { filters: blank(), sort: 'created', order: 'desc', limit: 50, after: null, stack: [] };

function groupNamer(groups) {
  const names = new Map(groups.map((g) => [g.id, g.name]));
  return (id) => names.get(id) || shortId(id);
}

/** #/objects */
export async function list({ query, reload }) {
  // A link such as #/objects?group=… or ?state=Active starts a filtered list.
  if ([...query.keys()].length) {
    list$.filters = blank();
    for (const k of Object.keys(list$.filters)) if (query.get(k)) list$.filters[k] = query.get(k);
    list$.after = null;
    list$.stack = [];
    history.replaceState(null, '', '#/objects');
  }
  const groups = await api.groups();
  const groupName = groupNamer(groups);
  const f = list$.filters;
  const results = h('div', { class: 'results' });

  // ---- filters
  const inputs = {
    name: h('input', { type: 'search', value: f.name, test: 'objects-filter-name', placeholder: 'Exact name', autocomplete: 'off' }),
    type: select([['', 'Any type'], ...TYPES.map((t) => [t, typeLabel(t)])], { value: f.type, test: 'objects-filter-type' }),
    algorithm: select([['', 'Any algorithm'], ...ALGORITHMS], { value: f.algorithm, test: 'objects-filter-algorithm' }),
    length: select([['', 'Any length'], ...LENGTHS.map((l) => [l, `${l} bits`])], { value: f.length, test: 'objects-filter-length' }),
    state: select([['', 'Any state'], ...STATES.map((s) => [s, stateLabel(s)])], { value: f.state, test: 'objects-filter-state' }),
    group: select([['', 'Any group'], ...groups.map((g) => [g.id, g.name])], { value: f.group, test: 'objects-filter-group' }),
    attrKey: h('input', { value: f.attrKey, test: 'objects-filter-attr-key', list: 'known-attrs', autocomplete: 'off', spellcheck: 'false', pattern: 'x-.+' }),
    attrValue: h('input', { type: 'search', value: f.attrValue, test: 'objects-filter-attr-value', placeholder: 'e.g. a VM name', autocomplete: 'off' }),
  };
  const form = h('form', { class: 'filters', test: 'objects-filters', role: 'search', 'aria-label': 'Filter security objects' },
    field('Name', inputs.name),
    field('Type', inputs.type),
    field('Algorithm', inputs.algorithm),
    field('Length', inputs.length),
    field('State', inputs.state),
    field('Group', inputs.group),
    field('Custom attribute', inputs.attrKey),
    field('Value', inputs.attrValue),
    h('datalist', { id: 'known-attrs' }, ['x-Name', 'x-Component', 'x-Identifier'].map((v) => h('option', { value: v }))),
    h('div', { class: 'filter-buttons' },
      button('Apply', null, { type: 'submit', kind: 'primary', test: 'objects-filter-apply' }),
      button('Clear', () => {
        list$.filters = blank();
        list$.after = null;
        list$.stack = [];
        reload();
      }, { test: 'objects-filter-clear' })));
  const apply = () => {
    for (const k of Object.keys(inputs)) list$.filters[k] = inputs[k].value.trim();
    list$.after = null;
    list$.stack = [];
    load();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  for (const k of ['type', 'algorithm', 'length', 'state', 'group']) inputs[k].addEventListener('change', apply);

  function params() {
    const v = list$.filters;
    const q = {
      name: v.name, type: v.type, algorithm: v.algorithm, length: v.length, state: v.state, group: v.group,
      sort: list$.sort, order: list$.order, limit: list$.limit, after: list$.after,
    };
    if (v.attrKey.startsWith('x-') && v.attrValue) q[v.attrKey] = v.attrValue;
    return q;
  }

  const sortBy = (key) => {
    if (list$.sort === key) list$.order = list$.order === 'asc' ? 'desc' : 'asc';
    else {
      list$.sort = key;
      list$.order = key === 'name' ? 'asc' : 'desc';
    }
    list$.after = null;
    list$.stack = [];
    load();
  };

  function render(page) {
    const filtered = Object.entries(list$.filters).some(([k, v]) => v && k !== 'attrKey');
    const start = list$.stack.length * list$.limit;
    const range = page.objects.length
      ? `${num(start + 1)}–${num(start + page.objects.length)} of ${num(page.total)}`
      : `0 of ${num(page.total)}`;
    const size = select(['25', '50', '100', '250'].map((n) => [n, `${n} a page`]),
      { value: String(list$.limit), test: 'objects-page-size', 'aria-label': 'Rows a page' });
    size.addEventListener('change', () => {
      list$.limit = Number(size.value);
      list$.after = null;
      list$.stack = [];
      load();
    });
    results.replaceChildren(
      table({
        test: 'objects-table',
        rowTest: 'object-row',
        rows: page.objects,
        empty: filtered
          ? 'No security objects match these filters.'
          : 'No security objects yet — vCenter creates them when you encrypt a VM.',
        sort: { key: list$.sort, order: list$.order, onSort: sortBy },
        rowClass: (o) => o.state.startsWith('Destroyed') && 'row-off',
        columns: [
          {
            label: 'Name', sort: 'name',
            cell: (o) => h('a', { href: `#/objects/${o.id}`, test: 'object-link', class: o.name ? 'strong' : 'mono', title: o.name ? o.id : `No Name: ${o.id}` },
              o.name || shortId(o.id)),
          },
          { label: 'Type', cell: (o) => typeLabel(o.object_type) },
          { label: 'Algorithm', cell: algoText },
          { label: 'State', cell: (o) => stateBadge(o.state) },
          { label: 'Group', cell: (o) => groupName(o.group) },
          { label: 'VM / host (x-Name)', cell: (o) => o.tags?.['x-Name'] || h('span', { class: 'muted' }, '—') },
          { label: 'x-Component', cell: (o) => o.tags?.['x-Component'] || h('span', { class: 'muted' }, '—') },
          { label: 'Created', sort: 'created', cell: (o) => when(o.created) },
          { label: 'Updated', sort: 'updated', cell: (o) => when(o.updated) },
        ],
      }),
      h('div', { class: 'table-foot' },
        size,
        pager({
          test: 'objects',
          text: range,
          hasPrev: list$.stack.length > 0,
          hasNext: Boolean(page.next),
          onPrev: () => {
            list$.after = list$.stack.pop() ?? null;
            load();
          },
          onNext: () => {
            list$.stack.push(list$.after);
            list$.after = page.next;
            load();
          },
        })));
  }

  async function load(first = false) {
    results.classList.add('busy');
    results.setAttribute('aria-busy', 'true');
    try {
      render(await api.get('/v1/objects', params()));
    } catch (e) {
      if (first) throw e;
      showError(e);
    } finally {
      results.classList.remove('busy');
      results.removeAttribute('aria-busy');
    }
  }
  await load(true);

  const manage = api.mayManageObjects();
  return h('div', null,
    pageHead('Security objects', 'Keys and secrets of this account. vCenter tags each key with the VM or host it protects (x-Name).',
      manage && button('Import key', () => importKey(groups), { iconName: 'upload', test: 'object-import' }),
      manage && button('Create key', () => createKey(groups), { kind: 'primary', iconName: 'plus', test: 'object-create' })),
    form,
    results);
}

function groupSelect(groups, value) {
  return select(groups.map((g) => [g.id, g.name]), { required: true, test: 'object-group', value: value || groups[0]?.id });
}

async function createKey(groups) {
  const group = groupSelect(groups, api.isAdmin() ? undefined : list$.filters.group);
  const name = h('input', { test: 'object-name', autocomplete: 'off' });
  const lengths = choices('AES key length', 'radio', 'length', [
    { value: '256', label: 'AES-256', checked: true, test: 'object-length-256' },
    { value: '128', label: 'AES-128', test: 'object-length-128' },
  ]);
  const made = await ask({
    title: 'Create key',
    content: [field('Group', group), field('Name (optional)', name), lengths],
    ok: 'Create key',
    test: 'dialog-object-create',
    action: (form) => api.post('/v1/objects', {
      group: group.value,
      name: name.value.trim() || undefined,
      algorithm: 'AES',
      length: Number(form.querySelector('input[name="length"]:checked').value),
    }),
  });
  if (made) {
    notify(`Key ${title(made)} created (pre-active).`);
    location.hash = `#/objects/${made.id}`;
  }
}

async function importKey(groups) {
  const type = select([['SymmetricKey', 'Symmetric key'], ['SecretData', 'Secret (password, seed)']], { test: 'object-import-type' });
  const group = groupSelect(groups);
  const name = h('input', { test: 'object-name', autocomplete: 'off' });
  const algorithm = select(['AES', 'ChaCha20', 'HMAC_SHA256', 'HMAC_SHA512', 'DES3'], { test: 'object-import-algorithm' });
  const algoField = field('Algorithm', algorithm);
  const material = h('textarea', { required: true, rows: 3, class: 'mono', test: 'object-import-material', spellcheck: 'false', autocomplete: 'off' });
  const size = h('p', { class: 'hint', 'aria-live': 'polite' });
  const decode = () => {
    try {
      return atob(material.value.replace(/\s+/g, ''));
    } catch {
      return null;
    }
  };
  material.addEventListener('input', () => {
    const bytes = decode();
    size.textContent = bytes === null ? 'Not base64.' : `${bytes.length} bytes (${bytes.length * 8} bits).`;
  });
  type.addEventListener('change', () => { algoField.hidden = type.value !== 'SymmetricKey'; });
  const made = await ask({
    title: 'Import a key (BYOK)',
    content: [
      h('p', null, 'Bring your own key: paste its raw bytes in base64. The server seals it under the account key at once; it is never shown again.'),
      field('What', type), field('Group', group), field('Name (optional)', name), algoField,
      field('Key material (base64)', material), size],
    ok: 'Import',
    test: 'dialog-object-import',
    action: () => {
      const bytes = decode();
      if (!bytes) throw new Error('The key material is not base64.');
      return api.post('/v1/objects/import', {
        type: type.value,
        group: group.value,
        name: name.value.trim() || undefined,
        algorithm: type.value === 'SymmetricKey' ? algorithm.value : undefined,
        material: material.value.replace(/\s+/g, ''),
      });
    },
  });
  material.value = '';
  if (made) {
    notify(`Imported ${title(made)}.`);
    location.hash = `#/objects/${made.id}`;
  }
}

// ---- one object

const DATES = [
  ['Initial Date', 'Created'],
  ['Activation Date', 'Activated'],
  ['Process Start Date', 'Process start'],
  ['Protect Stop Date', 'Protect stop'],
  ['Deactivation Date', 'Deactivated'],
  ['Compromise Occurrence Date', 'Compromise occurred'],
  ['Compromise Date', 'Compromised'],
  ['Destroy Date', 'Destroyed'],
  ['Archive Date', 'Archived'],
];

/** A KMIP JSON attribute value as text (a structure as "Field: value; …"). */
function valueText(v) {
  if (Array.isArray(v)) return v.map((f) => (f && typeof f === 'object' && 'tag' in f ? `${f.tag}: ${valueText(f.value)}` : valueText(f))).join('; ');
  if (v && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function stateHistory(attrs) {
  const events = [];
  for (const [attr, label] of DATES) {
    const a = attrs.find((x) => x.name === attr);
    if (a && typeof a.value === 'string') {
      const t = Date.parse(a.value);
      if (!Number.isNaN(t)) events.push({ t, label });
    }
  }
  events.sort((a, b) => a.t - b.t);
  if (!events.length) return h('p', { class: 'muted' }, 'No lifecycle dates recorded.');
  return h('ol', { class: 'timeline', test: 'object-history' },
    events.map((e) => h('li', null, h('span', { class: 'timeline-label' }, e.label), when(e.t, true))));
}

/** #/objects/<id> */
export async function detail({ params, reload }) {
  const id = params.id;
  const [{ object: o, attributes }, groups, trail, apps] = await Promise.all([
    api.get(`/v1/objects/${encodeURIComponent(id)}`),
    api.groups(),
    api.mayReadAudit() ? api.get('/v1/audit', { object: id, limit: 50 }).catch((e) => ({ error: e })) : null,
    api.appNames(),
  ]);
  const groupName = groupNamer(groups);
  const named = `“${title(o)}” (${o.id})`;
  const destroyed = o.state.startsWith('Destroyed');
  const isKey = o.object_type === 'SymmetricKey';

  const run = async (dialog) => {
    const done = await ask(dialog);
    if (done) {
      notify(dialog.done);
      if (done.id && done.id !== o.id) location.hash = `#/objects/${done.id}`;
      else reload();
    }
  };

  const actions = [];
  if (api.mayManageObjects()) {
    if (o.state === 'PreActive') {
      actions.push(button('Activate', () => run({
        title: 'Activate this object?',
        content: h('p', null, `Activate ${named}: it may then be used to protect data.`),
        done: 'Activated.', ok: 'Activate', test: 'dialog-object-activate',
        action: () => api.post(`/v1/objects/${o.id}/activate`),
      }), { test: 'object-action-activate', kind: 'primary' }));
    }
    if (o.state === 'PreActive' || o.state === 'Active') {
      actions.push(button('Revoke', () => {
        // KMIP revokes a pre-active object only as compromised.
        const pre = o.state === 'PreActive';
        const reason = select(pre ? REASONS.filter(([r]) => r === 'KeyCompromise') : REASONS, { test: 'revoke-reason' });
        const message = h('input', { test: 'revoke-message', autocomplete: 'off' });
        return run({
          title: 'Revoke this object?',
          content: [h('p', null, `Revoke ${named}. `, pre
            ? 'A pre-active key is revoked only as compromised: it becomes Compromised and is never used.'
            : 'A revoked key still decrypts what it protected but protects nothing new; with “Key compromise” it becomes Compromised.'),
            field('Reason', reason), field('Note (optional)', message)],
          done: 'Revoked.', ok: 'Revoke', danger: true, test: 'dialog-object-revoke',
          action: () => api.post(`/v1/objects/${o.id}/revoke`, { reason: reason.value, message: message.value.trim() || undefined }),
        });
      }, { test: 'object-action-revoke' }));
    }
    if (isKey && !destroyed) {
      actions.push(button('Rotate', () => run({
        title: 'Rotate this key?',
        content: h('p', null, `Rotate ${named}: a new key replaces it in the same group and takes its names; the old key links to the new one.`),
        done: 'Rotated: this is the new key.', ok: 'Rotate', test: 'dialog-object-rotate',
        action: () => api.post(`/v1/objects/${o.id}/rotate`),
      }), { test: 'object-action-rotate' }));
    }
    if (!destroyed && groups.length > 1) {
      actions.push(button('Move to group', () => {
        const target = select(groups.filter((g) => g.id !== o.group).map((g) => [g.id, g.name]), { test: 'move-group' });
        return run({
          title: 'Move to another group?',
          content: [h('p', null, `Move ${named} from group ${groupName(o.group)}. Apps see it only if they may use the new group.`), field('New group', target)],
          done: 'Moved.', ok: 'Move', test: 'dialog-object-move',
          action: () => api.put(`/v1/objects/${o.id}/group`, { group: target.value }),
        });
      }, { test: 'object-action-move' }));
    }
    if (!destroyed) {
      const active = o.state === 'Active';
      actions.push(button('Destroy', () => run({
        title: 'Destroy this object?',
        content: [h('p', { class: 'banner banner-warn' }, 'This cannot be undone.'),
          h('p', null, `Destroy ${named}: its key material is erased for good, and whatever it protects (VM disks, vSAN data) can no longer be decrypted. Its metadata and audit trail stay.`)],
        done: 'Destroyed.', ok: 'Destroy', danger: true, test: 'dialog-object-destroy',
        action: () => api.post(`/v1/objects/${o.id}/destroy`),
      }), { test: 'object-action-destroy', kind: 'danger', disabled: active, title: active ? 'Revoke it first: an active key cannot be destroyed' : null }));
    }
  }

  const tags = Object.entries(o.tags || {});
  const creator = o.creator
    ? h('a', { href: `#/apps/${o.creator}`, title: o.creator }, apps.get(o.creator) || idText(o.creator))
    : 'a user';
  return h('div', null,
    h('p', { class: 'crumbs' }, h('a', { href: '#/objects' }, '← Security objects')),
    pageHead(title(o), null, ...actions),
    h('div', { class: 'object-id' }, stateBadge(o.state),
      h('span', { class: 'mono', test: 'object-id' }, o.id), copyButton(o.id, 'object-id-copy', 'id')),
    o.state === 'Active' && api.mayManageObjects() && h('p', { class: 'hint' }, 'To destroy an active key, revoke it first.'),
    h('div', { class: 'grid-2' },
      card('Summary', facts([
        ['Name', o.name || h('span', { class: 'muted' }, 'none')],
        ['Type', typeLabel(o.object_type)],
        ['Algorithm', algoText(o)],
        ['Group', h('a', { href: `#/objects?group=${o.group}` }, groupName(o.group))],
        ['Created by', creator],
        ['Created', when(o.created)],
        ['Updated', when(o.updated)],
        ['Activation date', o.activation_date ? when(o.activation_date) : null],
        ['Deactivation date', o.deactivation_date ? when(o.deactivation_date) : null],
      ])),
      h('div', { class: 'stack' },
        card('vCenter tags and custom attributes', tags.length
          ? facts(tags.map(([k, v]) => [k, v]))
          : h('p', { class: 'muted' }, 'None.')),
        card('State history', stateHistory(attributes)))),
    card('Attributes', table({
      test: 'object-attributes',
      rowTest: 'attribute-row',
      rows: attributes,
      empty: 'No attributes.',
      columns: [
        { label: 'Attribute', cell: (a) => h('strong', null, a.name) },
        { label: 'Type', cell: (a) => h('span', { class: 'muted' }, a.type || '—') },
        { label: 'Value', class: 'wrap', cell: (a) => valueText(a.value) },
      ],
    })),
    trail && card('Audit trail of this object',
      trail.error ? errorBanner(trail.error) : auditTable(trail.records, 'object-audit', apps),
      h('p', null, h('a', { href: `#/audit?object=${encodeURIComponent(o.id)}` }, 'Open in the audit log →'))));
}
