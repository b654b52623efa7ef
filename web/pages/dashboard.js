// The account's dashboard: counts, recent audit records, and the steps that
// connect vCenter.

import * as api from '../api.js';
import { h, card, downloadLink, errorBanner, num, pageHead, stateBadge, STATES } from '../ui.js';
import { auditTable } from './audit.js';

function count(label, value, test, href) {
  const body = [h('span', { class: 'count-value', test }, num(value)), h('span', { class: 'count-label' }, label)];
  return href ? h('a', { class: 'count', href }, body) : h('div', { class: 'count' }, body);
}

/** #/dashboard */
export async function page() {
  const id = api.accountId();
  const [usage, recent, apps] = await Promise.all([
    api.get(`/v1/accounts/${id}/usage`).catch((e) => ({ error: e })),
    api.mayReadAudit() ? api.get('/v1/audit', { limit: 10 }).catch((e) => ({ error: e })) : null,
    api.appNames(true),
  ]);

  let counts;
  if (usage.error) {
    counts = errorBanner(usage.error);
  } else {
    const by = usage.objects_by_state || {};
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    counts = h('div', null,
      h('div', { class: 'counts', test: 'dashboard-counts' },
        count('Security objects', total, 'count-objects', '#/objects'),
        count('Active keys', by.Active || 0, 'count-active', '#/objects?state=Active'),
        count('Apps', usage.apps, 'count-apps', '#/apps'),
        count('Groups', usage.groups, 'count-groups', '#/groups'),
        count('Users', usage.users, 'count-users', api.isAdmin() ? '#/users' : null)),
      h('ul', { class: 'state-counts', 'aria-label': 'Objects by state' },
        STATES.filter((s) => by[s]).map((s) => h('li', null,
          h('a', { href: `#/objects?state=${s}`, class: 'state-link', test: `count-state-${s}` }, stateBadge(s), h('span', null, num(by[s])))))));
  }

  const steps = api.isAdmin() && card('Connect vCenter',
    h('ol', { class: 'steps' },
      h('li', null, h('a', { href: '#/apps' }, 'Create an app'), ' with interface KMIP and authentication “API key”.'),
      h('li', null, 'On the app\'s page, “View credentials”: paste the username and password into vCenter\'s Standard Key Provider (port 5696).'),
      h('li', null, 'Make vCenter trust the server: download the ',
        h('a', { href: '/v1/server-certificate', download: 'skms-server.crt' }, 'server certificate chain'), '.'),
      h('li', null, 'Or authenticate with a certificate: on the app\'s Certificates tab, upload vCenter\'s certificate, trust its CA, sign its CSR, or issue a certificate and key.'),
      h('li', null, 'Encrypt a VM: its key shows up under ', h('a', { href: '#/objects' }, 'Security objects'),
        ', every operation in the audit log.')));

  let audit = null;
  if (recent) {
    audit = card('Recent activity',
      recent.error ? errorBanner(recent.error) : auditTable(recent.records, 'dashboard-audit', apps),
      h('p', null, h('a', { href: '#/audit' }, 'The whole audit log →')));
  }

  // A new account (no app yet) sees how to connect vCenter first.
  const fresh = !usage.error && usage.apps === 0;
  return h('div', null,
    pageHead('Dashboard', 'What this account holds and what happened lately.',
      api.isAdmin() && downloadLink('/v1/account-ca', 'account-ca.crt', 'Account CA', 'download-account-ca')),
    card(null, counts),
    fresh ? [steps, audit] : [audit, steps]);
}
