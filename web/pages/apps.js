// Apps (machine identities such as vCenter): the list, create, and one app's
// page with its settings, credentials and certificates.

import * as api from '../api.js';
import {
  h, ask, badge, button, card, checked, choices, copyButton, errorBanner, facts, field, idText, notify,
  pageHead, pemBox, pemFileInput, saveBlob, secretField, select, spinner, table, when,
} from '../ui.js';
import { certTable } from './certificates.js';

const AUTH = { 'api-key': 'API key', certificate: 'Certificate' };
const interfaces = (a) => a.interfaces.map((i) => badge(i.toUpperCase(), 'info'));

/** #/apps */
export async function list() {
  const [apps, groups] = await Promise.all([api.get('/v1/apps'), api.groups()]);
  const names = new Map(groups.map((g) => [g.id, g.name]));

  const create = async () => {
    const name = h('input', { required: true, test: 'app-name', autocomplete: 'off' });
    const description = h('input', { test: 'app-description', autocomplete: 'off' });
    const made = await ask({
      title: 'Create app',
      content: [
        field('Name', name, 'e.g. “vcenter-prod”.'),
        field('Description (optional)', description),
        choices('Interface', 'checkbox', 'iface', [
          { value: 'kmip', label: 'KMIP (vCenter, port 5696)', checked: true, test: 'app-iface-kmip' },
          { value: 'rest', label: 'REST API', test: 'app-iface-rest' },
        ]),
        choices('Authentication method', 'radio', 'auth', [
          { value: 'api-key', label: 'API key (username and password)', checked: true, test: 'app-auth-api-key' },
          { value: 'certificate', label: 'Certificate', test: 'app-auth-certificate' },
        ]),
        choices('Groups', 'checkbox', 'groups', groups.map((g, i) => ({ value: g.id, label: g.name, checked: i === 0, test: 'app-group' }))),
      ],
      ok: 'Create app',
      test: 'dialog-app-create',
      action: (form) => {
        const ifaces = checked(form, 'iface');
        const gs = checked(form, 'groups');
        if (!ifaces.length) throw new Error('Choose at least one interface.');
        if (!gs.length) throw new Error('Choose at least one group.');
        return api.post('/v1/apps', {
          name: name.value.trim(),
          description: description.value.trim() || undefined,
          interfaces: ifaces,
          auth_method: checked(form, 'auth')[0],
          groups: gs,
          default_group: gs[0],
        });
      },
    });
    if (made) {
      api.appNames(true);
      notify(`App ${made.app.name} created.`);
      location.hash = `#/apps/${made.app.id}?tab=credentials`;
    }
  };

  return h('div', null,
    pageHead('Apps', 'Machine identities: each vCenter (or other KMIP or REST client) is an app with its own credentials.',
      api.isAdmin() && button('Create app', create, { kind: 'primary', iconName: 'plus', test: 'app-create' })),
    table({
      test: 'apps-table',
      rowTest: 'app-row',
      rows: apps,
      empty: 'No apps yet — create one for each vCenter that uses this account.',
      rowClass: (a) => !a.enabled && 'row-off',
      columns: [
        { label: 'Name', cell: (a) => h('a', { href: `#/apps/${a.id}`, test: 'app-link', class: 'strong' }, a.name) },
        { label: 'Username (app id)', cell: (a) => idText(a.id) },
        { label: 'Interfaces', cell: interfaces },
        { label: 'Authentication', cell: (a) => AUTH[a.auth_method] || a.auth_method },
        { label: 'Groups', cell: (a) => a.groups.map((g) => names.get(g) || g).join(', ') },
        { label: 'Status', cell: (a) => (a.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'off')) },
        { label: 'Created', cell: (a) => when(a.created) },
        api.isAdmin() && {
          label: 'Credentials',
          cell: (a) => h('a', { href: `#/apps/${a.id}?tab=credentials`, class: 'btn small', test: 'app-row-credentials' }, 'View credentials'),
        },
      ].filter(Boolean),
    }));
}

// ---- one app

function settingsTab(app, groups, reload) {
  const names = new Map(groups.map((g) => [g.id, g.name]));
  if (!api.isAdmin()) {
    return card('Settings', facts([
      ['Description', app.description || '—'],
      ['Interfaces', interfaces(app)],
      ['Authentication', AUTH[app.auth_method]],
      ['Groups', app.groups.map((g) => names.get(g) || g).join(', ')],
      ['Default group', names.get(app.default_group) || app.default_group],
      ['Status', app.enabled ? 'Enabled' : 'Disabled'],
    ]));
  }
  const description = h('input', { value: app.description, test: 'app-description', autocomplete: 'off' });
  const def = select(groups.map((g) => [g.id, g.name]), { value: app.default_group, test: 'app-default-group' });
  const enabled = h('input', { type: 'checkbox', checked: app.enabled, test: 'app-enabled' });
  const errors = h('div');
  const form = h('form', { class: 'settings-form' },
    errors,
    field('Description', description),
    choices('Interfaces', 'checkbox', 'iface', [
      { value: 'kmip', label: 'KMIP', checked: app.interfaces.includes('kmip'), test: 'app-iface-kmip' },
      { value: 'rest', label: 'REST API', checked: app.interfaces.includes('rest'), test: 'app-iface-rest' },
    ]),
    choices('Groups it may use', 'checkbox', 'groups', groups.map((g) => ({ value: g.id, label: g.name, checked: app.groups.includes(g.id), test: 'app-group' }))),
    field('Default group (where its new keys go)', def),
    h('label', { class: 'choice' }, enabled, 'Enabled (a disabled app cannot authenticate)'),
    h('div', null, button('Save', null, { type: 'submit', kind: 'primary', test: 'app-settings-save' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    try {
      await api.patch(`/v1/apps/${app.id}`, {
        description: description.value.trim(),
        interfaces: checked(form, 'iface'),
        groups: checked(form, 'groups'),
        default_group: def.value,
        enabled: enabled.checked,
      });
      notify('Settings saved.');
      reload();
    } catch (e) {
      errors.replaceChildren(errorBanner(e));
    }
  });
  return card('Settings', form);
}

function credentialsTab(app) {
  const out = h('div', { class: 'credentials', 'aria-live': 'polite' });
  const showCreds = (c) => out.replaceChildren(
    secretField('Username', c.username, 'credential-username'),
    secretField('Password', c.password, 'credential-password'),
    h('p', { class: 'hint' }, 'Paste both into vCenter\'s “Add Standard Key Provider” (KMIP, port 5696) as the user name and password.'),
    button('Hide', hide, { test: 'app-credentials-hide' }));
  const view = async () => {
    out.replaceChildren(spinner(), ' Fetching…');
    try {
      showCreds(await api.get(`/v1/apps/${app.id}/credentials`));
    } catch (e) {
      out.replaceChildren(errorBanner(e));
    }
  };
  function hide() {
    out.replaceChildren(
      h('p', null, 'The password is shown only when you ask; each view is recorded in the audit log.'),
      button('View credentials', view, { kind: 'primary', iconName: 'eye', test: 'app-credentials-show' }));
  }
  hide();
  const reset = async () => {
    const c = await ask({
      title: `Reset the secret of “${app.name}”?`,
      content: h('p', null, `App ${app.name} (${app.id}) gets a new password at once; the old one stops working, so vCenter loses access until you enter the new one in its key provider.`),
      ok: 'Reset secret',
      danger: true,
      test: 'dialog-app-secret-reset',
      action: () => api.post(`/v1/apps/${app.id}/secret`),
    });
    if (c) {
      notify('New secret made.');
      showCreds(c);
    }
  };
  return card('Credentials',
    app.auth_method !== 'api-key' && h('p', { class: 'banner banner-info' }, 'This app authenticates with a certificate; switch its method to API key on the Certificates tab to use a password.'),
    out,
    h('div', { class: 'danger-zone' },
      h('p', null, 'Lost or leaked? Make a new secret.'),
      button('Reset secret', reset, { kind: 'danger', test: 'app-secret-reset' })));
}

/** A card with a PEM text area, a file picker and a submit button. */
function pemForm({ title, intro, label, test, submit, extra = [], onSubmit }) {
  const text = h('textarea', { rows: 6, class: 'mono', test: `${test}-pem`, spellcheck: 'false', placeholder: '-----BEGIN …-----' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', null,
    h('p', null, intro),
    field(label, text),
    field('Or read it from a file', pemFileInput(text, `${test}-file`)),
    extra,
    h('div', null, button(submit, null, { type: 'submit', kind: 'primary', test: `${test}-submit` })),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren(spinner());
    try {
      out.replaceChildren(await onSubmit(text.value));
    } catch (e) {
      out.replaceChildren(errorBanner(e));
    }
  });
  return card(title, form);
}

function days(test) {
  return h('input', { type: 'number', min: 1, max: 3650, value: 365, required: true, test, class: 'short' });
}

function certificatesTab(app, certs, reload) {
  const admin = api.isAdmin();
  const method = h('form', { class: 'row' },
    choices('Authentication method', 'radio', 'auth', [
      { value: 'api-key', label: 'API key', checked: app.auth_method === 'api-key', test: 'app-auth-api-key' },
      { value: 'certificate', label: 'Certificate', checked: app.auth_method === 'certificate', test: 'app-auth-certificate' },
    ]),
    admin && button('Save method', null, { type: 'submit', test: 'app-auth-method-save' }));
  method.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api.put(`/v1/apps/${app.id}/auth-method`, { auth_method: checked(method, 'auth')[0] });
      notify('Authentication method saved.');
      reload();
    } catch (e) {
      method.append(errorBanner(e));
    }
  });
  if (!admin) for (const i of method.querySelectorAll('input')) i.disabled = true;

  const held = card('What this app holds', facts([
    ['Pinned certificates (SHA-256)', app.pinned_certificates.length
      ? h('ul', { class: 'plain mono' }, app.pinned_certificates.map((f) => h('li', { class: 'wrap' }, f)))
      : h('span', { class: 'muted' }, 'none')],
    ['Trusted CAs', app.trusted_cas.length
      ? h('ul', { class: 'plain' }, app.trusted_cas.map((s) => h('li', null, s)))
      : h('span', { class: 'muted' }, 'none')],
  ]));

  if (!admin) return h('div', null, card('Authentication', method), held);

  const mine = (all) => certTable(all.filter((c) => c.app === app.id), 'app-certs-table', false);
  const certsBox = h('div', null, mine(certs));
  const refreshCerts = () => api.get('/v1/certificates').then((all) => certsBox.replaceChildren(mine(all)), () => {});

  const issueDays = days('app-issue-days');
  const issueFormat = select([['pem', 'PEM: certificate and key, shown here'], ['pkcs12', 'PKCS#12 file (.p12), password-protected']], { test: 'app-issue-format' });
  const issuePassword = h('input', { type: 'password', minlength: 8, autocomplete: 'new-password', test: 'app-issue-password' });
  const passwordField = field('PKCS#12 password (8 characters at least)', issuePassword);
  passwordField.hidden = true;
  issueFormat.addEventListener('change', () => {
    passwordField.hidden = issueFormat.value !== 'pkcs12';
    issuePassword.required = !passwordField.hidden;
  });
  const issue = h('form', null,
    h('p', null, 'The account CA issues a client certificate (CN = this app\'s id) and a new private key, for vCenter\'s “KMS certificate and private key”. The key is shown only now; the server does not keep it.'),
    field('Valid for (days)', issueDays),
    field('Format', issueFormat),
    passwordField,
    button('Issue certificate and key', null, { type: 'submit', kind: 'primary', test: 'app-issue-submit' }));
  const issued = h('div', { 'aria-live': 'polite' });
  issue.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    issued.replaceChildren(spinner());
    try {
      if (issueFormat.value === 'pkcs12') {
        const file = await api.postBlob(`/v1/apps/${app.id}/certificates`, {
          validity_days: Number(issueDays.value), format: 'pkcs12', password: issuePassword.value,
        });
        issuePassword.value = '';
        saveBlob(file, `${app.name}.p12`);
        issued.replaceChildren(h('p', { class: 'banner banner-warn', test: 'issued-p12' },
          `Downloaded ${app.name}.p12: the certificate, its private key and the account CA. The key is not kept by the server.`));
        refreshCerts();
        return;
      }
      const r = await api.post(`/v1/apps/${app.id}/certificates`, { validity_days: Number(issueDays.value), format: 'pem' });
      issued.replaceChildren(
        h('p', { class: 'banner banner-warn' }, 'Save the private key now: it is not shown again.'),
        pemBox('Certificate', r.certificate_pem, `${app.name}.crt`, 'issued-cert'),
        pemBox('Private key', r.private_key_pem, `${app.name}.key`, 'issued-key'),
        pemBox('Account CA', r.ca_chain_pem, 'account-ca.crt', 'issued-chain'));
      refreshCerts();
    } catch (e) {
      issued.replaceChildren(errorBanner(e));
    }
  });

  const csrDays = days('app-csr-days');
  return h('div', null,
    card('Authentication', method,
      h('p', { class: 'hint' }, 'With “Certificate”, the app signs in with a client certificate that is pinned below, issued by a trusted CA with its id as CN, or issued here.')),
    held,
    h('div', { class: 'grid-2' },
      pemForm({
        title: 'Upload and pin a certificate',
        intro: 'vCenter\'s own certificate (self-signed is fine): the app is then known by it.',
        label: 'Certificate (PEM)',
        test: 'app-pin',
        submit: 'Pin certificate',
        onSubmit: async (pem) => {
          const r = await api.postPem(`/v1/apps/${app.id}/pinned-certificates`, pem);
          notify(`Pinned ${r.pinned.length} certificate${r.pinned.length === 1 ? '' : 's'}.`);
          reload();
          return h('p', null, 'Pinned.');
        },
      }),
      pemForm({
        title: 'Trust a CA',
        intro: 'vCenter\'s root CA: certificates it issues with this app\'s id as CN are accepted.',
        label: 'CA certificate (PEM)',
        test: 'app-trust',
        submit: 'Trust CA',
        onSubmit: async (pem) => {
          const r = await api.postPem(`/v1/apps/${app.id}/trusted-cas`, pem);
          notify(`Trusted ${r.trusted.join(', ')}.`);
          reload();
          return h('p', null, 'Trusted.');
        },
      }),
      card('Issue a certificate and key', issue, issued),
      pemForm({
        title: 'Sign a CSR',
        intro: 'vCenter\'s “New Certificate Signing Request”: the account CA signs it and the certificate is pinned to this app.',
        label: 'Certificate signing request (PEM)',
        test: 'app-csr',
        submit: 'Sign CSR',
        extra: [field('Valid for (days)', csrDays)],
        onSubmit: async (pem) => {
          const r = await api.post(`/v1/apps/${app.id}/csr`, { csr_pem: pem, validity_days: Number(csrDays.value) });
          refreshCerts();
          return h('div', null,
            pemBox('Signed certificate', r.certificate_pem, `${app.name}-signed.crt`, 'signed-cert'),
            pemBox('Account CA', r.ca_chain_pem, 'account-ca.crt', 'signed-chain'));
        },
      })),
    card('Certificates of this app', certsBox));
}

/** #/apps/<id> */
export async function detail({ params, query, reload }) {
  const admin = api.isAdmin();
  const [app, groups, certs] = await Promise.all([
    api.get(`/v1/apps/${encodeURIComponent(params.id)}`),
    api.groups(),
    admin ? api.get('/v1/certificates').catch(() => []) : [],
  ]);

  const tabs = [
    ['settings', 'Settings', () => settingsTab(app, groups, reload)],
    admin && ['credentials', 'Credentials', () => credentialsTab(app)],
    ['certificates', 'Certificates', () => certificatesTab(app, certs, reload)],
  ].filter(Boolean);
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: 'app-tab-panel' });
  const tabButtons = tabs.map(([key, label]) => h('button', {
    type: 'button', role: 'tab', class: 'tab', test: `app-tab-${key}`, 'data-key': key,
    'aria-controls': 'app-tab-panel', onclick: () => show(key),
  }, label));
  function show(key) {
    const tab = tabs.find((t) => t[0] === key) || tabs[0];
    for (const b of tabButtons) {
      const on = b.dataset.key === tab[0];
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    history.replaceState(null, '', `#/apps/${app.id}?tab=${tab[0]}`);
    panel.replaceChildren(tab[2]());
  }
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'App' }, tabButtons);
  tablist.addEventListener('keydown', (ev) => {
    const i = tabButtons.indexOf(document.activeElement);
    if (i < 0 || (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft')) return;
    const next = tabButtons[(i + (ev.key === 'ArrowRight' ? 1 : tabButtons.length - 1)) % tabButtons.length];
    next.focus();
    next.click();
  });
  show(query.get('tab') || 'settings');

  return h('div', null,
    h('p', { class: 'crumbs' }, h('a', { href: '#/apps' }, '← Apps')),
    pageHead(app.name, app.description || null),
    h('div', { class: 'object-id' },
      app.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'off'),
      interfaces(app),
      badge(AUTH[app.auth_method], 'neutral'),
      h('span', { class: 'muted' }, 'Username / app id'),
      h('span', { class: 'mono', test: 'app-id' }, app.id), copyButton(app.id, 'app-id-copy', 'app id'),
      h('span', { class: 'muted' }, 'created'), when(app.created)),
    tablist,
    panel);
}
