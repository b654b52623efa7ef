// Users and roles: an account admin manages the account's users (a sysadmin
// manages the sysadmins).

import * as api from '../api.js';
import { h, ask, badge, button, field, notify, pageHead, secretField, select, showOnce, table, when } from '../ui.js';

const ROLES = [['account-admin', 'Account admin'], ['member', 'Member'], ['auditor', 'Auditor']];
const ROLE_HELP = 'Admin: everything in the account. Member: sees groups and apps, manages keys. Auditor: reads metadata and the audit log, changes nothing.';
const roleLabel = (r) => ({ sysadmin: 'Sysadmin', 'account-admin': 'Account admin', member: 'Member', auditor: 'Auditor' }[r] || r);

/** #/users */
export async function page({ reload }) {
  const provider = api.isSysadmin();
  const [users, groups] = await Promise.all([api.get('/v1/users'), provider ? [] : api.groups()]);
  const me = api.session.user?.name;

  const create = async () => {
    const name = h('input', { required: true, test: 'user-name', autocomplete: 'off', spellcheck: 'false' });
    const role = provider ? null : select(ROLES, { test: 'user-role', value: 'member' });
    const made = await ask({
      title: provider ? 'Create sysadmin' : 'Create user',
      content: [field('Login name', name, 'Letters, digits and - _ . @'), role && field('Role', role, ROLE_HELP)],
      ok: 'Create user',
      test: 'dialog-user-create',
      action: () => api.post('/v1/users', { name: name.value.trim(), role: provider ? 'sysadmin' : role.value }),
    });
    if (!made) return;
    await showOnce({
      title: `User ${made.user.name} created`,
      test: 'dialog-user-created',
      content: [
        h('p', { class: 'banner banner-warn' }, 'Give this one-time password to the user. It is shown only now and must be changed at the first sign-in.'),
        secretField('Login name', made.user.name, 'user-login'),
        secretField('One-time password', made.password, 'user-password'),
      ],
    });
    reload();
  };

  const changeRole = (u) => {
    const role = select(ROLES, { value: u.role, test: 'user-new-role' });
    return ask({
      title: `Change the role of ${u.name}?`,
      content: [field('Role', role, ROLE_HELP)],
      ok: 'Change role',
      test: 'dialog-user-role',
      action: () => api.patch(`/v1/users/${u.id}`, { role: role.value }),
    }).then((done) => done && reload());
  };

  const setEnabled = (u, enabled) => ask({
    title: `${enabled ? 'Enable' : 'Disable'} ${u.name}?`,
    content: h('p', null, enabled ? `${u.name} can sign in again.` : `${u.name} can no longer sign in; their sessions end at once.`),
    ok: enabled ? 'Enable' : 'Disable',
    danger: !enabled,
    test: 'dialog-user-enabled',
    action: () => api.patch(`/v1/users/${u.id}`, { enabled }),
  }).then((done) => done && reload());

  const remove = (u) => ask({
    title: `Delete ${u.name}?`,
    content: h('p', null, `User ${u.name} (${u.id}) is deleted and their sessions end. The audit log keeps their name.`),
    ok: 'Delete user',
    danger: true,
    test: 'dialog-user-delete',
    action: () => api.del(`/v1/users/${u.id}`),
  }).then((done) => {
    if (done !== null) {
      notify(`${u.name} deleted.`);
      reload();
    }
  });

  const groupRoles = async (u) => {
    const held = new Map((await api.get(`/v1/users/${u.id}/group-roles`)).map((r) => [r.group, r.role]));
    const selects = groups.map((g) => [g, select([['', 'No role'], ['admin', 'Admin'], ['member', 'Member'], ['auditor', 'Auditor']], { test: `group-role-${g.id}` })]);
    selects.forEach(([g, s]) => { s.value = held.get(g.id) || ''; });
    return ask({
      title: `Group roles of ${u.name}`,
      content: [
        h('p', null, `A role on a group raises what ${u.name} may do in that group above their account role (${roleLabel(u.role)}). Saving replaces every group role they hold.`),
        selects.map(([g, s]) => field(g.name, s)),
      ],
      ok: 'Save group roles',
      test: 'dialog-user-groups',
      action: () => api.put(`/v1/users/${u.id}/group-roles`, selects.filter(([, s]) => s.value).map(([g, s]) => ({ group: g.id, role: s.value }))),
    }).then((done) => done !== null && notify('Group roles saved.'));
  };

  return h('div', null,
    pageHead(provider ? 'Sysadmins' : 'Users and roles',
      provider ? 'The provider\'s administrators: they manage accounts, never an account\'s keys.' : ROLE_HELP,
      button(provider ? 'Create sysadmin' : 'Create user', create, { kind: 'primary', iconName: 'plus', test: 'user-create' })),
    table({
      test: 'users-table',
      rowTest: 'user-row',
      rows: users,
      empty: 'No users yet.',
      rowClass: (u) => !u.enabled && 'row-off',
      columns: [
        { label: 'Login name', cell: (u) => [h('strong', null, u.name), u.name === me && h('span', { class: 'muted' }, ' (you)')] },
        { label: 'Role', cell: (u) => roleLabel(u.role) },
        {
          label: 'Status',
          cell: (u) => [u.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'off'),
            u.must_change_password && badge('Must change password', 'warn')],
        },
        { label: 'Created', cell: (u) => when(u.created) },
        {
          label: 'Actions', class: 'actions-cell',
          cell: (u) => (u.name === me ? h('span', { class: 'muted' }, '—') : h('div', { class: 'row' },
            !provider && button('Role', () => changeRole(u), { kind: 'small', test: 'user-action-role' }),
            !provider && groups.length > 0 && button('Group roles', () => groupRoles(u), { kind: 'small', test: 'user-action-groups' }),
            u.enabled
              ? button('Disable', () => setEnabled(u, false), { kind: 'small', test: 'user-action-disable' })
              : button('Enable', () => setEnabled(u, true), { kind: 'small', test: 'user-action-enable' }),
            button('Delete', () => remove(u), { kind: 'small danger-text', test: 'user-action-delete' }))),
        },
      ],
    }));
}
