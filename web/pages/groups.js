// Groups: the key containers of the account.

import * as api from '../api.js';
import { h, ask, button, field, idText, notify, pageHead, table, when } from '../ui.js';

/** #/groups */
export async function page({ reload }) {
  const groups = await api.groups(true);

  const create = async () => {
    const name = h('input', { required: true, test: 'group-name', autocomplete: 'off' });
    const description = h('input', { test: 'group-description', autocomplete: 'off' });
    const made = await ask({
      title: 'Create group',
      content: [field('Name', name, 'Unique in the account, e.g. “vsphere-prod”.'), field('Description (optional)', description)],
      ok: 'Create group',
      test: 'dialog-group-create',
      action: () => api.post('/v1/groups', { name: name.value.trim(), description: description.value.trim() || undefined }),
    });
    if (made) {
      api.groupsChanged();
      notify(`Group ${made.name} created.`);
      reload();
    }
  };

  return h('div', null,
    pageHead('Groups', 'Groups hold security objects; apps and users act only in the groups they are given.',
      api.isAdmin() && button('Create group', create, { kind: 'primary', iconName: 'plus', test: 'group-create' })),
    table({
      test: 'groups-table',
      rowTest: 'group-row',
      empty: 'No groups yet.',
      rows: groups,
      columns: [
        { label: 'Name', cell: (g) => h('a', { href: `#/objects?group=${encodeURIComponent(g.id)}`, class: 'strong', title: 'Its security objects' }, g.name) },
        { label: 'Description', cell: (g) => g.description || h('span', { class: 'muted' }, '—') },
        { label: 'Id', cell: (g) => idText(g.id) },
        { label: 'Created', cell: (g) => when(g.created) },
      ],
    }));
}
