//! Who may do what: the one place that decides, for users and apps alike.
//!
//! Every check in the REST API, the CLI and the web console asks
//! [`allowed`]; nothing else compares roles. The rules:
//!
//! - Nobody ever acts inside another account than its own.
//! - A **sysadmin** (the provider) manages and views accounts (with their usage
//!   counts), the provider's own users (the sysadmins) and reads the provider's
//!   audit chain; it never does anything inside an account: no objects, apps,
//!   credentials, groups, users or audit log of an account, and never a key.
//! - An **account admin** does everything inside its account except using keys
//!   and reading key material.
//! - A **member** views its account, its groups and apps (not their
//!   credentials), and views and manages objects in every group.
//! - An **auditor** views its account, groups, apps (not credentials), objects'
//!   metadata and the audit log; it changes nothing.
//! - A **group role** raises a user's rights on that one group: a group
//!   auditor views it and its objects, a group member also manages its objects,
//!   a group admin also manages the group itself.
//! - An **app** views, manages (KMIP Create, Register, Activate, Revoke,
//!   Destroy, attributes…) and uses the objects of its own groups and reads their
//!   key material; nothing else. Only apps perform cryptographic operations.
//!
//! The `group` of a check names the group an action touches; it is given only
//! for the group-scoped actions ([`Action::group_scoped`]) and must be a group
//! of `account` (the store resolves objects and groups inside one account, so
//! callers pass what it returned). A group given to an action that takes none
//! is refused, so a caller's confusion fails closed.

use crate::ids::{AccountId, AppId, GroupId, UserId};
use crate::model::{App, GroupRole, Role, User};

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Something a principal may try to do.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action (made from the same list as the enum: never incomplete).
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];
        }
    };
}

actions! {
    /// Create, disable, enable and delete accounts.
    ManageAccounts,
    /// List accounts and see one's settings and usage counts (never its objects).
    ViewAccounts,
    /// Create, change, disable and delete users and give them group roles.
    ManageUsers,
    /// Create groups (no group given) or change one group.
    ManageGroups,
    /// List groups (no group given) or see one.
    ViewGroups,
    /// Create, change and delete apps.
    ManageApps,
    /// List apps and see their settings, without credentials.
    ViewApps,
    /// See an app's secret (vCenter's "view credentials").
    ViewAppCredentials,
    /// Upload, issue and sign certificates, trust CAs.
    ManageCertificates,
    /// See objects' metadata (attributes, state), in every group (none given) or in one.
    ViewObjects,
    /// Create, change, rotate, revoke and destroy objects.
    ManageObjects,
    /// Read the audit log of the account (none: the provider's).
    ReadAudit,
    /// Cryptographic operations with a key (encrypt, decrypt, sign, MAC…).
    UseKeys,
    /// Read an object's value (KMIP Get of key material).
    ReadKeyMaterial,
}

impl Action {
    /// True for actions on something inside a group: they take a target group
    /// (none meaning "in every group"); the others take none.
    pub fn group_scoped(self) -> bool {
        match self {
            Action::ManageGroups
            | Action::ViewGroups
            | Action::ViewObjects
            | Action::ManageObjects
            | Action::UseKeys
            | Action::ReadKeyMaterial => true,
            Action::ManageAccounts
            | Action::ViewAccounts
            | Action::ManageUsers
            | Action::ManageApps
            | Action::ViewApps
            | Action::ViewAppCredentials
            | Action::ManageCertificates
            | Action::ReadAudit => false,
        }
    }
}

/// Who acts: a user with its roles on groups, or an app with its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person.
    User {
        /// Its id.
        id: UserId,
        /// Its account (`None`: a sysadmin).
        account: Option<AccountId>,
        /// Its role in its account (or sysadmin).
        role: Role,
        /// Its roles on groups of its account.
        groups: Vec<(GroupId, GroupRole)>,
    },
    /// A machine identity.
    App {
        /// Its id.
        id: AppId,
        /// Its account.
        account: AccountId,
        /// The groups it may use.
        groups: Vec<GroupId>,
    },
}

impl Principal {
    /// `user` with its roles on groups.
    pub fn user(user: &User, group_roles: &[(GroupId, GroupRole)]) -> Self {
        Principal::User {
            id: user.id,
            account: user.account,
            role: user.role,
            groups: group_roles.to_vec(),
        }
    }

    /// `app` with its groups.
    pub fn app(app: &App) -> Self {
        Principal::App {
            id: app.id,
            account: app.account,
            groups: app.groups.clone(),
        }
    }

    /// The account it belongs to (`None`: a sysadmin).
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Principal::User { account, .. } => *account,
            Principal::App { account, .. } => Some(*account),
        }
    }
}

/// How much a user may do on one group: the account role's level, raised by
/// a role on that group.
fn level(role: Role) -> Option<GroupRole> {
    match role {
        Role::Sysadmin => None,
        Role::AccountAdmin => Some(GroupRole::Admin),
        Role::Member => Some(GroupRole::Member),
        Role::Auditor => Some(GroupRole::Auditor),
    }
}

/// May `principal` do `action` in `account` (`None`: on the provider, outside
/// every account), on `group` (for group-scoped actions; `None`: in every group)?
pub fn allowed(
    principal: &Principal,
    account: Option<AccountId>,
    action: Action,
    group: Option<GroupId>,
) -> bool {
    if group.is_some() && !action.group_scoped() {
        return false;
    }
    match principal {
        Principal::User {
            account: None,
            role: Role::Sysadmin,
            ..
        } => sysadmin(account, action, group),
        // A sysadmin with an account, or an account user without one: refused.
        Principal::User {
            account: None,
            role: _,
            ..
        }
        | Principal::User {
            role: Role::Sysadmin,
            ..
        } => false,
        Principal::User {
            account: Some(own),
            role,
            groups,
            ..
        } => account == Some(*own) && account_user(*role, groups, action, group),
        Principal::App {
            account: own,
            groups,
            ..
        } => account == Some(*own) && app(groups, action, group),
    }
}

/// The provider's rights: accounts from the outside, and its own users and audit chain.
fn sysadmin(account: Option<AccountId>, action: Action, group: Option<GroupId>) -> bool {
    match action {
        Action::ManageAccounts | Action::ViewAccounts => group.is_none(),
        Action::ManageUsers | Action::ReadAudit => account.is_none(),
        Action::ManageGroups
        | Action::ViewGroups
        | Action::ManageApps
        | Action::ViewApps
        | Action::ViewAppCredentials
        | Action::ManageCertificates
        | Action::ViewObjects
        | Action::ManageObjects
        | Action::UseKeys
        | Action::ReadKeyMaterial => false,
    }
}

/// The rights of a user inside its own account.
fn account_user(
    role: Role,
    group_roles: &[(GroupId, GroupRole)],
    action: Action,
    group: Option<GroupId>,
) -> bool {
    let Some(account_level) = level(role) else {
        return false;
    };
    // On one group: the account role raised by a role on that group; on every
    // group (none given): the account role alone.
    let on_group = group
        .and_then(|g| {
            group_roles
                .iter()
                .filter(|(rg, _)| *rg == g)
                .map(|(_, r)| *r)
                .max()
        })
        .map_or(account_level, |r| r.max(account_level));
    let admin = role == Role::AccountAdmin;
    match action {
        Action::ManageAccounts => false,
        Action::ViewAccounts => true,
        Action::ManageUsers
        | Action::ManageApps
        | Action::ViewAppCredentials
        | Action::ManageCertificates => admin,
        Action::ViewApps => true,
        Action::ReadAudit => matches!(role, Role::AccountAdmin | Role::Auditor),
        Action::ViewGroups | Action::ViewObjects => on_group >= GroupRole::Auditor,
        Action::ManageObjects => on_group >= GroupRole::Member,
        Action::ManageGroups => on_group >= GroupRole::Admin,
        Action::UseKeys | Action::ReadKeyMaterial => false,
    }
}

/// The rights of an app inside its own account: the objects of its groups.
fn app(groups: &[GroupId], action: Action, group: Option<GroupId>) -> bool {
    let in_group = group.is_some_and(|g| groups.contains(&g));
    match action {
        Action::ViewObjects | Action::ManageObjects | Action::UseKeys | Action::ReadKeyMaterial => {
            in_group
        }
        Action::ManageAccounts
        | Action::ViewAccounts
        | Action::ManageUsers
        | Action::ManageGroups
        | Action::ViewGroups
        | Action::ManageApps
        | Action::ViewApps
        | Action::ViewAppCredentials
        | Action::ManageCertificates
        | Action::ReadAudit => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds of principal the table has a column block for.
    const KINDS: [&str; 9] = [
        "sysadmin",
        "admin",
        "member",
        "auditor",
        "auditor+group-member",
        "auditor+group-admin",
        "member+group-admin",
        "member+group-auditor",
        "app",
    ];

    /// The expected answers: for each action, one 9-character cell per kind
    /// (in [`KINDS`] order), each character the answer (Y or .) for one
    /// (account, group) pair, in this order:
    ///
    /// ```text
    ///   account:  provider provider provider  own own own  other other other
    ///   group:    none     in       out       none in  out none  in    out
    /// ```
    ///
    /// "in" is the group where the principal holds its group role (or where the
    /// app is), "out" another group of that account where it holds none. A
    /// sysadmin has no account: "own" and "other" are two accounts. An exhaustive
    /// match, so a new action does not compile until it has its row.
    #[rustfmt::skip]
    fn expected(action: Action) -> [&'static str; 9] {
        //        sysadmin     admin        member       auditor      aud+g-mem    aud+g-adm    mem+g-adm    mem+g-aud    app
        match action {
            Action::ManageAccounts => ["Y..Y..Y..", ".........", ".........", ".........", ".........", ".........", ".........", ".........", "........."],
            Action::ViewAccounts => ["Y..Y..Y..", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "........."],
            Action::ManageUsers => ["Y........", "...Y.....", ".........", ".........", ".........", ".........", ".........", ".........", "........."],
            Action::ManageGroups => [".........", "...YYY...", ".........", ".........", ".........", "....Y....", "....Y....", ".........", "........."],
            Action::ViewGroups => [".........", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "........."],
            Action::ManageApps => [".........", "...Y.....", ".........", ".........", ".........", ".........", ".........", ".........", "........."],
            Action::ViewApps => [".........", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "...Y.....", "........."],
            Action::ViewAppCredentials => [".........", "...Y.....", ".........", ".........", ".........", ".........", ".........", ".........", "........."],
            Action::ManageCertificates => [".........", "...Y.....", ".........", ".........", ".........", ".........", ".........", ".........", "........."],
            Action::ViewObjects => [".........", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "...YYY...", "....Y...."],
            Action::ManageObjects => [".........", "...YYY...", "...YYY...", ".........", "....Y....", "....Y....", "...YYY...", "...YYY...", "....Y...."],
            Action::ReadAudit => ["Y........", "...Y.....", ".........", "...Y.....", "...Y.....", "...Y.....", ".........", ".........", "........."],
            Action::UseKeys => [".........", ".........", ".........", ".........", ".........", ".........", ".........", ".........", "....Y...."],
            Action::ReadKeyMaterial => [".........", ".........", ".........", ".........", ".........", ".........", ".........", ".........", "....Y...."],
        }
    }

    /// A principal of `kind` whose account is `own` and whose group role (or
    /// app group) is on `g`.
    fn principal(kind: &str, own: AccountId, g: GroupId) -> Principal {
        let user = |account, role, groups| Principal::User {
            id: UserId::new(),
            account,
            role,
            groups,
        };
        match kind {
            "sysadmin" => user(None, Role::Sysadmin, vec![]),
            "admin" => user(Some(own), Role::AccountAdmin, vec![]),
            "member" => user(Some(own), Role::Member, vec![]),
            "auditor" => user(Some(own), Role::Auditor, vec![]),
            "auditor+group-member" => user(Some(own), Role::Auditor, vec![(g, GroupRole::Member)]),
            "auditor+group-admin" => user(Some(own), Role::Auditor, vec![(g, GroupRole::Admin)]),
            "member+group-admin" => user(Some(own), Role::Member, vec![(g, GroupRole::Admin)]),
            "member+group-auditor" => user(Some(own), Role::Member, vec![(g, GroupRole::Auditor)]),
            "app" => Principal::App {
                id: AppId::new(),
                account: own,
                groups: vec![g],
            },
            other => panic!("no kind {other}"),
        }
    }

    #[test]
    fn every_principal_action_account_and_group_is_in_the_table() {
        let own = AccountId::new();
        let other = AccountId::new();
        let (g_in, g_out) = (GroupId::new(), GroupId::new());
        let (other_in, other_out) = (g_in, GroupId::new());
        let mut checked = 0;
        let mut wrong = Vec::new();
        for &action in Action::ALL {
            let row = expected(action);
            for (k, kind) in KINDS.iter().enumerate() {
                let p = principal(kind, own, g_in);
                let cells: Vec<char> = row[k].chars().collect();
                assert_eq!(cells.len(), 9, "{action:?} / {kind}: 9 cells");
                let cases = [
                    (None, None),
                    (None, Some(g_in)),
                    (None, Some(g_out)),
                    (Some(own), None),
                    (Some(own), Some(g_in)),
                    (Some(own), Some(g_out)),
                    (Some(other), None),
                    (Some(other), Some(other_in)),
                    (Some(other), Some(other_out)),
                ];
                for (i, (account, group)) in cases.into_iter().enumerate() {
                    let want = match cells[i] {
                        'Y' => true,
                        '.' => false,
                        c => panic!("{action:?} / {kind}: cell {c:?}"),
                    };
                    let got = allowed(&p, account, action, group);
                    if got != want {
                        wrong.push(format!(
                            "{action:?} by {kind} in {} on {}: got {got}, table says {want}",
                            [
                                "provider", "provider", "provider", "own", "own", "own", "other",
                                "other", "other"
                            ][i],
                            ["none", "in", "out"][i % 3]
                        ));
                    }
                    checked += 1;
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert_eq!(checked, Action::ALL.len() * KINDS.len() * 9);
    }

    #[test]
    fn nobody_uses_keys_but_apps_and_nobody_crosses_accounts() {
        let own = AccountId::new();
        let g = GroupId::new();
        for kind in KINDS {
            let p = principal(kind, own, g);
            for &action in Action::ALL {
                // Another account: only the sysadmin's account management reaches it.
                let elsewhere = allowed(&p, Some(AccountId::new()), action, None)
                    || allowed(&p, Some(AccountId::new()), action, Some(g));
                let expected_elsewhere = kind == "sysadmin"
                    && matches!(action, Action::ManageAccounts | Action::ViewAccounts);
                assert_eq!(elsewhere, expected_elsewhere, "{kind} {action:?}");
            }
            let keys = [Action::UseKeys, Action::ReadKeyMaterial]
                .iter()
                .any(|&a| allowed(&p, Some(own), a, Some(g)) || allowed(&p, Some(own), a, None));
            assert_eq!(keys, kind == "app", "{kind}");
        }
    }

    #[test]
    fn malformed_principals_get_nothing() {
        let own = AccountId::new();
        let odd = [
            // a sysadmin that claims an account
            Principal::User {
                id: UserId::new(),
                account: Some(own),
                role: Role::Sysadmin,
                groups: vec![],
            },
            // an account role without an account
            Principal::User {
                id: UserId::new(),
                account: None,
                role: Role::AccountAdmin,
                groups: vec![],
            },
        ];
        for p in &odd {
            for &action in Action::ALL {
                for account in [None, Some(own), Some(AccountId::new())] {
                    assert!(!allowed(p, account, action, None), "{p:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn principals_from_users_and_apps() {
        let account = AccountId::new();
        let g = GroupId::new();
        let user = User {
            id: UserId::new(),
            account: Some(account),
            name: "carol".into(),
            role: Role::Auditor,
            password_hash: crate::model::SecretHash(String::new()),
            enabled: true,
            created: 0,
            must_change_password: false,
            failed_logins: 0,
            locked_until: None,
        };
        let p = Principal::user(&user, &[(g, GroupRole::Member)]);
        assert_eq!(p.account(), Some(account));
        assert!(allowed(&p, Some(account), Action::ManageObjects, Some(g)));
        assert!(!allowed(&p, Some(account), Action::ManageObjects, None));
        assert!(!allowed(
            &p,
            Some(account),
            Action::ManageObjects,
            Some(GroupId::new())
        ));
    }
}
