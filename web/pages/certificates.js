// The account's certificates with their expiry, and the CA downloads.

import * as api from '../api.js';
import { h, badge, card, downloadLink, pageHead, table, when } from '../ui.js';

const ROLE = { 'account-ca': 'Account CA', pinned: 'Pinned', 'trusted-ca': 'Trusted CA', issued: 'Issued' };
const ORIGIN = { uploaded: 'Uploaded', issued: 'Issued here', signed: 'Signed from a CSR' };

function expiry(c) {
  if (c.days_left === null || c.days_left === undefined) return h('span', { class: 'muted' }, 'unknown');
  if (c.days_left < 0) return badge('Expired', 'bad', 'cert-expired');
  const text = `${c.days_left} day${c.days_left === 1 ? '' : 's'} left`;
  return c.expires_soon ? badge(text, 'warn', 'cert-expires-soon') : h('span', null, text);
}

/** A table of certificates (GET /v1/certificates), soonest to expire first. */
export function certTable(certs, test = 'certs-table', withApp = true) {
  return table({
    test,
    rowTest: 'cert-row',
    rows: certs,
    empty: 'No certificates yet.',
    rowClass: (c) => c.expires_soon && 'row-warn',
    columns: [
      { label: 'Subject', class: 'wrap', cell: (c) => c.subject || h('span', { class: 'muted' }, 'unknown') },
      { label: 'Role', cell: (c) => ROLE[c.role] || c.role },
      withApp && { label: 'App', cell: (c) => (c.app ? h('a', { href: `#/apps/${c.app}?tab=certificates` }, c.app_name || c.app) : h('span', { class: 'muted' }, '—')) },
      { label: 'Origin', cell: (c) => ORIGIN[c.origin] || h('span', { class: 'muted' }, '—') },
      { label: 'SHA-256', cell: (c) => h('span', { class: 'mono', title: c.sha256 }, `${c.sha256.slice(0, 16)}…`) },
      { label: 'Expires', cell: (c) => when(c.not_after) },
      { label: 'Validity', cell: expiry },
    ].filter(Boolean),
  });
}

/** #/certificates */
export async function page() {
  const certs = await api.get('/v1/certificates');
  const soon = certs.filter((c) => c.expires_soon).length;
  return h('div', null,
    pageHead('Certificates', 'Every certificate of the account: its CA, and the certificates its apps pin, trust or were issued.',
      downloadLink('/v1/account-ca', 'account-ca.crt', 'Account CA', 'download-account-ca')),
    soon > 0 && h('p', { class: 'banner banner-warn', test: 'certs-expiring' },
      `${soon} certificate${soon === 1 ? '' : 's'} expire${soon === 1 ? 's' : ''} within 30 days or ha${soon === 1 ? 's' : 've'} expired.`),
    card(null, certTable(certs)),
    card('Trust this server',
      h('p', null, 'What vCenter needs for “Make vCenter trust KMS”:'),
      h('div', { class: 'row' },
        downloadLink('/v1/server-certificate', 'skms-server.crt', 'Server certificate chain', 'download-server-chain'),
        downloadLink('/v1/ca-certificate', 'skms-ca.crt', 'Server CA', 'download-server-ca'))));
}
