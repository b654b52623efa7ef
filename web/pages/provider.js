// The provider's pages (sysadmin): accounts with their usage and the
// server's health; the server certificate and the CA downloads.

import * as api from '../api.js';
import {
  h, ask, badge, button, card, downloadLink, facts, field, idText, notify, num, pageHead,
  pemBox, secretField, showOnce, stateLabel, table, when,
} from '../ui.js';

/** Total objects and a "2 active, 1 destroyed" line from a usage answer. */
function objectCounts(usage) {
  const by = usage?.objects_by_state || {};
  const total = Object.values(by).reduce((a, b) => a + b, 0);
  const parts = Object.entries(by).filter(([, n]) => n > 0).map(([s, n]) => `${num(n)} ${stateLabel(s).toLowerCase()}`);
  return { total, text: parts.join(', ') };
}

async function health() {
  try {
    const r = await fetch('/v1/ready', { cache: 'no-store', credentials: 'same-origin' });
    const body = await r.json().catch(() => ({}));
    return { ready: r.ok, problem: body.problem || (r.ok ? null : `HTTP ${r.status}`) };
  } catch (e) {
    return { ready: false, problem: e.message };
  }
}

/** #/accounts */
export async function accounts({ reload }) {
  const [list, ready] = await Promise.all([api.get('/v1/accounts'), health()]);
  const usage = new Map(await Promise.all(list.map(async (a) => {
    try {
      return [a.id, await api.get(`/v1/accounts/${a.id}/usage`)];
    } catch {
      return [a.id, null];
    }
  })));

  const setEnabled = (a, enabled) => ask({
    title: `${enabled ? 'Enable' : 'Disable'} account “${a.name}”?`,
    content: h('p', null, enabled
      ? `The apps and users of ${a.name} (${a.id}) can sign in again.`
      : `The apps and users of ${a.name} (${a.id}) can no longer sign in: vCenter loses access to its keys until the account is enabled again.`),
    ok: enabled ? 'Enable' : 'Disable',
    danger: !enabled,
    test: 'dialog-account-enabled',
    action: () => api.patch(`/v1/accounts/${a.id}`, { enabled }),
  }).then((done) => done !== null && reload());

  const remove = (a) => ask({
    title: `Delete account “${a.name}”?`,
    content: [h('p', null, `Account ${a.name} (${a.id}) and its groups, apps and users are deleted. `,
      'The server refuses while it holds objects that are not destroyed. Its audit log stays.')],
    ok: 'Delete account',
    danger: true,
    test: 'dialog-account-delete',
    action: () => api.del(`/v1/accounts/${a.id}`),
  }).then((done) => {
    if (done !== null) {
      notify(`Account ${a.name} deleted.`);
      reload();
    }
  });

  const create = async () => {
    const name = h('input', { name: 'name', required: true, test: 'account-name', autocomplete: 'off' });
    const admin = h('input', { name: 'admin', test: 'account-admin-name', autocomplete: 'off', spellcheck: 'false' });
    const made = await ask({
      title: 'Create account',
      content: [field('Account name', name, 'A customer (tenant). Unique on this server.'),
        field('Admin login name (optional)', admin, 'The first account admin. Left empty, the server chooses one.')],
      ok: 'Create account',
      test: 'dialog-account-create',
      action: () => api.post('/v1/accounts', { name: name.value.trim(), admin: admin.value.trim() || undefined }),
    });
    if (!made) return;
    await showOnce({
      title: `Account “${made.account.name}” created`,
      test: 'dialog-account-created',
      content: [
        h('p', { class: 'banner banner-warn' }, 'Give this login to the customer\'s admin. The password is shown only now; it must be changed at the first sign-in.'),
        secretField('Admin user name', made.admin.username, 'account-admin-username'),
        secretField('One-time password', made.admin.password, 'account-admin-password'),
      ],
    });
    reload();
  };

  const rows = list.map((a) => ({ ...a, usage: usage.get(a.id) }));
  return h('div', null,
    pageHead('Accounts', 'Each customer is an account: its keys, apps and audit log are separate from every other.',
      button('Create account', create, { kind: 'primary', iconName: 'plus', test: 'account-create' })),
    h('div', { class: 'health', test: 'health-status', 'data-ready': String(ready.ready) },
      ready.ready ? badge('Ready', 'ok') : badge('Not ready', 'bad'),
      h('span', null, ready.ready ? 'The store answers and the root of trust unwraps.' : ready.problem)),
    table({
      test: 'accounts-table',
      rowTest: 'account-row',
      empty: 'No accounts yet — create one for each customer.',
      rows,
      rowClass: (a) => !a.enabled && 'row-off',
      columns: [
        { label: 'Name', cell: (a) => h('strong', null, a.name) },
        { label: 'Id', cell: (a) => idText(a.id) },
        { label: 'Status', cell: (a) => (a.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'off')) },
        { label: 'Apps', class: 'num', cell: (a) => num(a.usage?.apps) },
        { label: 'Users', class: 'num', cell: (a) => num(a.usage?.users) },
        { label: 'Groups', class: 'num', cell: (a) => num(a.usage?.groups) },
        {
          label: 'Objects', class: 'num',
          cell: (a) => {
            const c = objectCounts(a.usage);
            return h('span', { title: c.text || 'none' }, a.usage ? num(c.total) : '—');
          },
        },
        { label: 'Created', cell: (a) => when(a.created) },
        {
          label: 'Actions', class: 'actions-cell',
          cell: (a) => h('div', { class: 'row' },
            a.enabled
              ? button('Disable', () => setEnabled(a, false), { test: 'account-disable', kind: 'small' })
              : button('Enable', () => setEnabled(a, true), { test: 'account-enable', kind: 'small' }),
            button('Delete', () => remove(a), { test: 'account-delete', kind: 'small danger-text' })),
        },
      ],
    }));
}

function certFacts(c) {
  return facts([
    ['Subject', c.subject],
    ['Issuer', c.issuer],
    ['Names', c.names?.length ? c.names.join(', ') : '—'],
    ['Serial', h('span', { class: 'mono' }, c.serial)],
    ['Valid from', when(c.not_before)],
    ['Valid until', when(c.not_after)],
    ['SHA-256', h('span', { class: 'mono wrap' }, c.sha256)],
  ]);
}

/** #/server */
export async function server({ reload }) {
  const tls = await api.get('/v1/server/certificate');
  const rotate = () => ask({
    title: 'Rotate the server certificate?',
    content: h('p', null, 'The server CA issues a new server certificate (same names, new key). Every new KMIP and HTTPS connection gets it at once; open connections keep theirs. Clients that pin the certificate itself (not the CA) must pin the new one.'),
    ok: 'Rotate',
    danger: true,
    test: 'dialog-server-rotate',
    action: () => api.post('/v1/server/certificate/rotate'),
  }).then((done) => {
    if (done) {
      notify('Server certificate rotated.');
      reload();
    }
  });

  return h('div', null,
    pageHead('Server', 'The certificate KMIP (port 5696) and HTTPS present, and what clients must trust.',
      button('Rotate certificate', rotate, { test: 'server-cert-rotate', iconName: 'refresh' })),
    h('div', { class: 'grid-2' },
      card('Server certificate', h('div', { test: 'server-cert' }, certFacts(tls.certificate))),
      card('Trust this server',
        h('p', null, 'vCenter\'s “Make vCenter trust KMS” needs the server certificate chain, or the server CA that issued it.'),
        h('div', { class: 'row' },
          downloadLink('/v1/ca-certificate', 'skms-ca.crt', 'Server CA', 'download-server-ca'),
          downloadLink('/v1/server-certificate', 'skms-server.crt', 'Server certificate chain', 'download-server-chain')))),
    tls.rsa_certificate && card('RSA certificate (legacy KMIP cipher suites)', certFacts(tls.rsa_certificate)),
    card('Chain as presented', pemBox('Chain (leaf first)', tls.chain_pem, 'server-chain.pem', 'server-chain')));
}
