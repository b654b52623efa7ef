// Sovereign KMS web console: the entry point, the layout and the hash router.
//
// Plain ES modules, no build step, nothing from the internet. Served at
// /console/ under a strict CSP: no inline script or style, so the DOM is
// built with h() (ui.js) and styled with classes only.
//
// data-test attributes (stable hooks for end-to-end tests). Tables: each
// <table> has its own data-test, each row <rowTest>, the empty state
// <table>-empty, sortable headers sort-name / sort-created / sort-updated.
// Secret and PEM fields have <field>-copy (and PEM boxes <field>-download).
//   layout:     nav-accounts nav-server nav-dashboard nav-objects nav-apps nav-groups
//               nav-certificates nav-users nav-audit topbar-account topbar-user signout
//               loading error-banner error-message error-request-id error-dismiss toast
//   dialogs:    confirm-ok confirm-cancel (every confirmation and form dialog), dialog-done
//               (a show-once dialog); the <dialog>s: dialog-account-create dialog-account-created
//               dialog-account-enabled dialog-account-delete dialog-server-rotate
//               dialog-group-create dialog-app-create dialog-app-secret-reset
//               dialog-object-create dialog-object-import dialog-object-activate
//               dialog-object-revoke dialog-object-rotate dialog-object-move dialog-object-destroy
//               dialog-user-create dialog-user-created dialog-user-role dialog-user-enabled
//               dialog-user-delete dialog-user-groups
//   sign-in:    signin-form signin-username signin-password signin-submit signin-notice
//   password:   password-old password-new password-confirm password-submit
//   accounts:   health-status accounts-table account-row account-create account-name
//               account-admin-name account-admin-username account-admin-password
//               account-disable account-enable account-delete
//   server:     server-cert server-cert-rotate download-server-ca download-server-chain server-chain
//   dashboard:  dashboard-counts count-objects count-active count-apps count-groups count-users
//               count-state-<State> dashboard-audit download-account-ca
//   groups:     groups-table group-row group-create group-name group-description
//   apps:       apps-table app-row app-link app-row-credentials app-create app-name
//               app-description app-iface-kmip app-iface-rest app-auth-api-key
//               app-auth-certificate app-group app-id app-id-copy
//               app-tab-settings app-tab-credentials app-tab-certificates
//               app-settings-save app-enabled app-default-group
//               app-credentials-show app-credentials-hide credential-username credential-password
//               app-secret-reset app-auth-method-save
//               app-pin-pem app-pin-file app-pin-submit app-trust-pem app-trust-file app-trust-submit
//               app-issue-days app-issue-format app-issue-password app-issue-submit issued-p12
//               issued-cert issued-key issued-chain
//               app-csr-pem app-csr-file app-csr-days app-csr-submit signed-cert signed-chain
//               app-certs-table
//   objects:    objects-filters objects-filter-name objects-filter-type objects-filter-algorithm
//               objects-filter-length objects-filter-state objects-filter-group
//               objects-filter-attr-key objects-filter-attr-value objects-filter-apply
//               objects-filter-clear objects-table object-row object-link objects-prev
//               objects-next objects-range objects-page-size object-create object-import
//               object-group object-name object-length-256 object-length-128 object-import-type
//               object-import-algorithm object-import-material state-badge (data-state)
//               object-id object-id-copy object-action-activate object-action-revoke
//               object-action-rotate object-action-move object-action-destroy revoke-reason
//               revoke-message move-group object-history object-attributes attribute-row
//               object-audit
//   certificates: certs-table cert-row cert-expires-soon cert-expired certs-expiring
//               download-account-ca download-server-chain download-server-ca
//   users:      users-table user-row user-create user-name user-role user-login user-password
//               user-action-role user-new-role user-action-groups group-role-<group id>
//               user-action-enable user-action-disable user-action-delete
//   audit:      audit-filters audit-filter-actor audit-filter-object audit-filter-operation
//               audit-filter-from audit-filter-to audit-filter-apply audit-filter-clear
//               audit-table audit-row audit-prev audit-next audit-range audit-export
//               audit-verify audit-verify-result (data-intact)

import * as api from './api.js';
import { h, icon, button, clearBanner, errorBanner, loading, setBannerSlot } from './ui.js';
import * as signin from './pages/signin.js';
import * as provider from './pages/provider.js';
import * as dashboard from './pages/dashboard.js';
import * as objects from './pages/objects.js';
import * as apps from './pages/apps.js';
import * as groups from './pages/groups.js';
import * as certificates from './pages/certificates.js';
import * as users from './pages/users.js';
import * as audit from './pages/audit.js';

// Who sees a route: 'provider' (sysadmin), 'account' (any account user),
// 'admin' (account admin), 'users' (account admin or sysadmin), 'audit'.
const ROUTES = [
  { path: 'accounts', page: provider.accounts, who: 'provider' },
  { path: 'server', page: provider.server, who: 'provider' },
  { path: 'dashboard', page: dashboard.page, who: 'account' },
  { path: 'objects', page: objects.list, who: 'account' },
  { path: 'objects/:id', page: objects.detail, who: 'account' },
  { path: 'apps', page: apps.list, who: 'account' },
  { path: 'apps/:id', page: apps.detail, who: 'account' },
  { path: 'groups', page: groups.page, who: 'account' },
  { path: 'certificates', page: certificates.page, who: 'admin' },
  { path: 'users', page: users.page, who: 'users' },
  { path: 'audit', page: audit.page, who: 'audit' },
];

const NAV = [
  { path: 'accounts', label: 'Accounts', icon: 'accounts', who: 'provider' },
  { path: 'server', label: 'Server', icon: 'server', who: 'provider' },
  { path: 'dashboard', label: 'Dashboard', icon: 'dashboard', who: 'account' },
  { path: 'objects', label: 'Security objects', icon: 'key', who: 'account' },
  { path: 'apps', label: 'Apps', icon: 'app', who: 'account' },
  { path: 'groups', label: 'Groups', icon: 'group', who: 'account' },
  { path: 'certificates', label: 'Certificates', icon: 'cert', who: 'admin' },
  { path: 'users', label: 'Users', providerLabel: 'Sysadmins', icon: 'users', who: 'users' },
  { path: 'audit', label: 'Audit log', icon: 'audit', who: 'audit' },
];

function allowed(who) {
  switch (who) {
    case 'provider': return api.isSysadmin();
    case 'account': return Boolean(api.role()) && !api.isSysadmin();
    case 'admin': return api.isAdmin();
    case 'users': return api.mayManageUsers();
    case 'audit': return api.mayReadAudit();
    default: return false;
  }
}

const home = () => (api.isSysadmin() ? 'accounts' : 'dashboard');

function match(path) {
  const parts = path.split('/');
  for (const r of ROUTES) {
    const want = r.path.split('/');
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((w, i) => (w.startsWith(':') ? (params[w.slice(1)] = decodeURIComponent(parts[i])) : w === parts[i]))) {
      return { route: r, params };
    }
  }
  return null;
}

const root = document.getElementById('app');
let shell = null; // {main, nav, banner} while the signed-in layout is shown
let returnTo = null; // the page to show after signing in
let seq = 0;
let lastPath = null; // the page last shown (to tell a reload from a new page)

function roleLabel(role) {
  return { sysadmin: 'Provider sysadmin', 'account-admin': 'Account admin', member: 'Member', auditor: 'Auditor' }[role] || role;
}

/** The signed-in layout: top bar, left navigation, main area. */
function buildShell(withNav) {
  const u = api.session.user;
  const where = api.isSysadmin() ? 'Provider' : (api.accountName() || `Account ${String(api.accountId() || '').slice(0, 8)}`);
  const nav = withNav
    ? h('nav', { class: 'sidenav', 'aria-label': 'Main' },
      h('ul', null, NAV.filter((n) => allowed(n.who)).map((n) =>
        h('li', null, h('a', { href: `#/${n.path}`, test: `nav-${n.path}`, 'data-path': n.path }, icon(n.icon), (api.isSysadmin() && n.providerLabel) || n.label)))))
    : null;
  const banner = h('div', { class: 'banner-slot' });
  const main = h('div', { class: 'page' });
  const accountTitle = api.isSysadmin() ? null : api.accountId();
  const top = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: `#/${home()}` }, icon('lock'), h('span', null, 'Sovereign KMS')),
    h('span', { class: 'account', test: 'topbar-account', title: accountTitle }, where),
    h('span', { class: 'spacer' }),
    h('span', { class: 'user', test: 'topbar-user' },
      h('span', { class: 'user-name' }, u?.name || ''),
      h('span', { class: 'user-role' }, roleLabel(u?.role))),
    button('Sign out', doSignOut, { iconName: 'signout', test: 'signout', kind: 'ghost' }));
  const mainEl = h('main', { id: 'main', tabindex: '-1' }, banner, main);
  const body = h('div', { class: ['shell', !withNav && 'no-nav'] }, nav, mainEl);
  root.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); mainEl.focus(); } }, 'Skip to content'),
    top, body);
  setBannerSlot(banner);
  shell = { main, nav, withNav };
  lastPath = null;
}

/** Shows the page of `path` (a hash change, or a render when it is already there). */
function go(path) {
  if (location.hash === `#/${path}`) route();
  else location.hash = `#/${path}`;
}

const NOTICES = {
  'signed-out': 'You are signed out.',
  expired: 'Your session ended. Sign in again.',
  'password-changed': 'Password changed. Sign in with your new password.',
};

/**
 * Back to the sign-in page by reloading the document: nothing of the last
 * session (cached lists, credentials shown, filters) survives in memory.
 */
function restart(notice, to) {
  const q = new URLSearchParams({ notice });
  if (to && to !== 'signin' && to !== 'password') q.set('to', to);
  location.replace(`#/signin?${q}`);
  location.reload();
}

async function doSignOut() {
  await api.signOut();
  restart('signed-out');
}

/** The session ended under us (a refresh failed): back to sign-in, then here again. */
api.setOnExpired(() => restart('expired', location.hash.replace(/^#\/?/, '')));

/** Renders the page the hash names. */
async function route() {
  const my = ++seq;
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');

  if (!api.session.user) {
    shell = null;
    setBannerSlot(null);
    const q = new URLSearchParams(search || '');
    if (path === 'signin') returnTo = q.get('to') || returnTo;
    else if (path && path !== 'password') returnTo = search ? `${path}?${search}` : path;
    if (path !== 'signin') history.replaceState(null, '', '#/signin');
    root.replaceChildren(signin.page({
      notice: NOTICES[q.get('notice')] || null,
      onSignedIn: () => {
        const m = returnTo && match(returnTo.split('?')[0]);
        const to = !api.session.mustChange && m && allowed(m.route.who) ? returnTo : null;
        returnTo = null;
        shell = null;
        go(api.session.mustChange ? 'password' : to || home());
      },
    }));
    return;
  }

  if (api.session.mustChange) {
    if (path !== 'password') {
      history.replaceState(null, '', '#/password');
    }
    if (!shell || shell.withNav) buildShell(false);
    shell.main.replaceChildren(signin.changePassword({
      onChanged: async () => {
        await api.signOut();
        restart('password-changed');
      },
    }));
    return;
  }

  const m = match(path);
  if (!m || !allowed(m.route.who)) {
    history.replaceState(null, '', `#/${home()}`);
    return route();
  }
  if (!shell || !shell.withNav) buildShell(true);
  const section = m.route.path.split('/')[0];
  for (const a of shell.nav.querySelectorAll('a')) {
    if (a.dataset.path === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clearBanner();
  if (path !== lastPath) shell.main.replaceChildren(loading());
  else shell.main.classList.add('reloading');
  try {
    const node = await m.route.page({ params: m.params, query: new URLSearchParams(search || ''), reload: route });
    if (my !== seq) return;
    shell.main.replaceChildren(node);
    // Focus goes to the heading (for keyboard and screen-reader users); a new
    // page starts at its top, a reload of the same one (after an action)
    // stays where the user was.
    shell.main.querySelector('h1')?.focus({ preventScroll: true });
    if (path !== lastPath) window.scrollTo(0, 0);
    lastPath = path;
  } catch (e) {
    if (my !== seq || !api.session.user) return;
    shell.main.replaceChildren(errorBanner(e));
    lastPath = null;
  } finally {
    if (my === seq) shell?.main.classList.remove('reloading');
  }
}

window.addEventListener('hashchange', route);

(async function start() {
  await api.restore();
  route();
})();
