//! The authorization matrix (issue 4): every REST route and every KMIP
//! operation, called by every kind of principal of a real `skms serve`, answers
//! what one table says. The routes come from the server's own OpenAPI document
//! and the operations from its own Query (Query Operations), so a route or an
//! operation without a row fails, and so does a row without one.
//!
//! Columns (REST): the provider's sysadmin; account A's admin, member and
//! auditor; A's app in group G1 (the group of the key) and A's app in G2 only;
//! account B's admin and app; no credentials. An outcome string has one
//! character per column (spaces are for the eye): `Y` success (2xx), `0`
//! success of a list without A's key, `B` 400, `U` 401, `F` 403, `N` 404,
//! `C` 409.
//!
//! Columns (KMIP): A's app in G1, A's app in G2, B's app and no credentials
//! over KMIP/TLS (a Username and Password credential in the request header);
//! A's admin and the sysadmin over KMIP/HTTPS (`POST /kmip`, HTTP Basic).
//! `Y` Success, `0` Success that locates nothing, `N` Item (1.x) or Object
//! (2.x) Not Found, `A` Authentication Not Successful, `F` HTTP 403.
//!
//! Every cell that changes its target (a secret reset, a delete, a Destroy…)
//! makes its own target first, so no cell depends on another's order.

mod common;

use common::Login;
use kmip::attributes::{Attribute, AttributeReference, Attributes, InlineAttributes, Wrapped};
use kmip::enums::{
    ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, RevocationReasonCode,
};
use kmip::messages::{ResponseBatchItem, ResponseMessage};
use kmip::objects::{Object, OpaqueDataType, OpaqueObject};
use kmip::payloads::*;
use kmip::{Bytes, Tag, Value};
use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};
use skms_test_support::requests;
use std::collections::BTreeSet;

/// The REST columns, in the order of an outcome string.
const REST_COLUMNS: [&str; 9] = [
    "sysadmin",
    "admin",
    "member",
    "auditor",
    "app_in",
    "app_out",
    "other_user",
    "other_app",
    "none",
];

/// The KMIP columns, in the order of an outcome string.
const KMIP_COLUMNS: [&str; 6] = [
    "app_in",
    "app_out",
    "other_app",
    "none",
    "admin",
    "sysadmin",
];

/// The password the fixture's users change their one-time password to.
const PASSWORD: &str = "a long enough matrix password";

/// One REST row: the route as the OpenAPI document names it, the outcome per
/// column, and the call of one cell (which makes its own target if it needs one).
struct RestRow {
    method: &'static str,
    path: &'static str,
    expect: &'static str,
    call: fn(&Cell) -> Got,
}

fn row(
    method: &'static str,
    path: &'static str,
    expect: &'static str,
    call: fn(&Cell) -> Got,
) -> RestRow {
    RestRow {
        method,
        path,
        expect,
        call,
    }
}

/// The REST table: one row per documented (method, path).
#[rustfmt::skip]
fn rest_rows() -> Vec<RestRow> {
    use Body::{Empty, Pem};
    //                                                   sysadmin | admin member auditor | app_in app_out | other_user other_app | none
    vec![
        // Public.
        row("GET", "/v1/health", "Y YYY YY YY Y", |c| c.send("/v1/health", Empty)),
        row("GET", "/v1/ready", "Y YYY YY YY Y", |c| c.send("/v1/ready", Empty)),
        row("GET", "/metrics", "Y YYY YY YY Y", |c| c.send("/metrics", Empty)),
        row("GET", "/v1/ca-certificate", "Y YYY YY YY Y", |c| c.send("/v1/ca-certificate", Empty)),
        row("GET", "/v1/server-certificate", "Y YYY YY YY Y", |c| c.send("/v1/server-certificate", Empty)),
        row("GET", "/v1/openapi.json", "Y YYY YY YY Y", |c| c.send("/v1/openapi.json", Empty)),
        // Sessions: each principal signs in with its own login (apps have none).
        row("POST", "/v1/session", "Y YYY UU YU U", |c| {
            let (user, password) = c.who.login.as_ref().map_or(("nobody", "not a password at all"), |l| (l.user.as_str(), l.password.as_str()));
            c.send("/v1/session", json_body(json!({ "username": user, "password": password })))
        }),
        row("POST", "/v1/session/refresh", "Y YYY UU YU U", |c| {
            let token = c.sign_in().map_or_else(|| "no-such-refresh-token".to_string(), |t| t["refresh_token"].as_str().unwrap().to_string());
            c.send("/v1/session/refresh", json_body(json!({ "refresh_token": token })))
        }),
        // Sign-out takes a session's bearer token: an app (HTTP Basic) has none, 400.
        row("DELETE", "/v1/session", "Y YYY BB YB U", |c| c.send_signed_in("/v1/session")),
        row("GET", "/v1/whoami", "Y YYY YY YY U", |c| c.send("/v1/whoami", Empty)),
        row("GET", "/v1/server/certificate", "Y YYY YY YY U", |c| c.send("/v1/server/certificate", Empty)),
        row("POST", "/v1/server/certificate/rotate", "Y FFF FF FF U", |c| c.send("/v1/server/certificate/rotate", Empty)),
        // A user's own password: changed, then changed back.
        row("PUT", "/v1/me/password", "Y YYY FF YF U", |c| {
            let old = c.who.login.as_ref().map_or("x", |l| l.password.as_str()).to_string();
            let other = "a temporary matrix password";
            let got = c.send("/v1/me/password", json_body(json!({ "old_password": old, "new_password": other })));
            if got.0 == 'Y' {
                let login = c.who.login.as_ref().unwrap();
                let now = Login { user: login.user.clone(), password: other.into() };
                let back = json_body(json!({ "old_password": other, "new_password": old }));
                let (s, _) = c.f.call(&Method::PUT, "/v1/me/password", Auth::Basic(&now), back);
                assert!(s.is_success(), "{}: password back: {s}", c.who.name);
            }
            got
        }),
        // Accounts: the sysadmin's. Another account's usage is "no such account".
        row("GET", "/v1/accounts", "Y FFF FF FF U", |c| c.send("/v1/accounts", Empty)),
        row("POST", "/v1/accounts", "Y FFF FF FF U", |c| c.send("/v1/accounts", json_body(json!({ "name": c.f.fresh("account") })))),
        row("GET", "/v1/accounts/{account}/usage", "Y YYY NN NN U", |c| c.send(&format!("/v1/accounts/{}/usage", c.f.a_id), Empty)),
        // Enabling A, which is enabled: harmless if it were wrongly allowed.
        row("PATCH", "/v1/accounts/{account}", "Y FFF FF FF U", |c| c.send(&format!("/v1/accounts/{}", c.f.a_id), json_body(json!({ "enabled": true })))),
        row("DELETE", "/v1/accounts/{account}", "Y FFF FF FF U", |c| c.send(&format!("/v1/accounts/{}", c.f.fresh_account()), Empty)),
        // Groups and apps of the caller's own account (B's admin lists and creates in B).
        row("GET", "/v1/groups", "F YYY FF YF U", |c| c.send("/v1/groups", Empty)),
        row("POST", "/v1/groups", "F YFF FF YF U", |c| c.send("/v1/groups", json_body(json!({ "name": c.f.fresh("group") })))),
        row("GET", "/v1/apps", "F YYY FF YF U", |c| c.send("/v1/apps", Empty)),
        // In A's group G1: B's admin cannot name it (400, as for a group that does not exist).
        row("POST", "/v1/apps", "F YFF FF BF U", |c| c.send("/v1/apps", json_body(json!({ "name": c.f.fresh("app"), "groups": [c.f.g1] })))),
        row("GET", "/v1/apps/{app}", "F YYY FF NF U", |c| c.send(&format!("/v1/apps/{}", c.f.app_in.user), Empty)),
        row("PATCH", "/v1/apps/{app}", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}", c.f.app_in.user), json_body(json!({ "description": "matrix" })))),
        row("GET", "/v1/apps/{app}/credentials", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/credentials", c.f.app_in.user), Empty)),
        row("POST", "/v1/apps/{app}/secret", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/secret", c.f.fresh_app()), Empty)),
        row("PUT", "/v1/apps/{app}/auth-method", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/auth-method", c.f.fresh_app()), json_body(json!({ "auth_method": "certificate" })))),
        row("POST", "/v1/apps/{app}/pinned-certificates", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/pinned-certificates", c.f.fresh_app()), Pem(c.f.leaf_pem.clone()))),
        row("POST", "/v1/apps/{app}/trusted-cas", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/trusted-cas", c.f.fresh_app()), Pem(c.f.ca_pem.clone()))),
        row("POST", "/v1/apps/{app}/certificates", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/certificates", c.f.fresh_app()), json_body(json!({ "validity_days": 30, "format": "pem" })))),
        row("POST", "/v1/apps/{app}/csr", "F YFF FF NF U", |c| c.send(&format!("/v1/apps/{}/csr", c.f.fresh_app()), json_body(json!({ "csr_pem": c.f.csr_pem, "validity_days": 30 })))),
        row("GET", "/v1/certificates", "F YFF FF YF U", |c| c.send("/v1/certificates", Empty)),
        row("GET", "/v1/account-ca", "F YFF FF YF U", |c| c.send("/v1/account-ca", Empty)),
        // Security objects: users of A by role, apps by group; never the sysadmin;
        // another group's or account's object or group is not found. `0`: a list
        // without A's key. Changes act on a fresh key of app_in in G1.
        row("GET", "/v1/objects", "F YYY Y0 00 U", |c| c.sees("/v1/objects?limit=1000", &c.f.key)),
        row("GET", "/v1/objects/{object}", "F YYY YN NN U", |c| c.send(&format!("/v1/objects/{}", c.f.key), Empty)),
        row("POST", "/v1/objects", "F YYF YN NN U", |c| c.send("/v1/objects", json_body(json!({ "group": c.f.g1, "algorithm": "AES", "length": 256 })))),
        row("POST", "/v1/objects/import", "F YYF YN NN U", |c| c.send("/v1/objects/import", json_body(json!({
            "type": "SymmetricKey", "group": c.f.g1, "algorithm": "AES", "material": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        })))),
        row("POST", "/v1/objects/{object}/activate", "F YYF YN NN U", |c| c.send(&format!("/v1/objects/{}/activate", c.f.fresh_key()), Empty)),
        row("POST", "/v1/objects/{object}/revoke", "F YYF YN NN U", |c| c.send(&format!("/v1/objects/{}/revoke", c.f.fresh_key()), json_body(json!({ "reason": "KeyCompromise" })))),
        row("POST", "/v1/objects/{object}/destroy", "F YYF YN NN U", |c| c.send(&format!("/v1/objects/{}/destroy", c.f.fresh_key()), Empty)),
        row("POST", "/v1/objects/{object}/rotate", "F YYF YN NN U", |c| c.send(&format!("/v1/objects/{}/rotate", c.f.fresh_key()), Empty)),
        // To G2: app_in may not see G2, so G2 is not found for it (as for any group it cannot see).
        row("PUT", "/v1/objects/{object}/group", "F YYF NN NN U", |c| c.send(&format!("/v1/objects/{}/group", c.f.fresh_key()), json_body(json!({ "group": c.f.g2 })))),
        // KMIP over HTTPS: apps only (B's app creates in B).
        row("POST", "/kmip", "F FFF YY FY U", |c| c.send("/kmip", Body::Kmip(common::kmip_request_anonymous(common::create_aes_256()).encode()))),
        // The audit log: an account's for its admins and auditors, the provider's for the sysadmin.
        row("GET", "/v1/audit", "Y YFY FF YF U", |c| c.send("/v1/audit", Empty)),
        row("GET", "/v1/audit/export", "Y YFY FF YF U", |c| c.send("/v1/audit/export", Empty)),
        row("GET", "/v1/audit/verify", "Y YFY FF YF U", |c| c.send("/v1/audit/verify", Empty)),
        // Users: an admin's of its account, the sysadmin's of the sysadmins.
        row("GET", "/v1/users", "Y YFF FF YF U", |c| c.send("/v1/users", Empty)),
        row("POST", "/v1/users", "Y YFF FF YF U", |c| {
            let role = if c.who.name == "sysadmin" { "sysadmin" } else { "auditor" };
            c.send("/v1/users", json_body(json!({ "name": c.f.fresh("user"), "role": role })))
        }),
        row("PATCH", "/v1/users/{user}", "N YFF FF NN U", |c| c.send(&format!("/v1/users/{}", c.f.fresh_user()), json_body(json!({ "enabled": false })))),
        row("DELETE", "/v1/users/{user}", "N YFF FF NN U", |c| c.send(&format!("/v1/users/{}", c.f.fresh_user()), Empty)),
        row("GET", "/v1/users/{user}/group-roles", "N YFF FF NF U", |c| c.send(&format!("/v1/users/{}/group-roles", c.f.fresh_user()), Empty)),
        // Naming A's G1: the sysadmin (no account) and B's admin cannot resolve it, 400.
        row("PUT", "/v1/users/{user}/group-roles", "B YFF FF BF U", |c| c.send(&format!("/v1/users/{}/group-roles", c.f.fresh_user()), json_body(json!([{ "group": c.f.g1, "role": "member" }])))),
    ]
}

/// One KMIP row: the operation, the outcome per column, and its payload on
/// `uid`, a fresh AES key of app_in in G1 (the builder may prepare it as app_in).
struct KmipRow {
    operation: Operation,
    expect: &'static str,
    payload: fn(&Fixture, &str) -> RequestPayload,
}

fn krow(
    operation: Operation,
    expect: &'static str,
    payload: fn(&Fixture, &str) -> RequestPayload,
) -> KmipRow {
    KmipRow {
        operation,
        expect,
        payload,
    }
}

/// The KMIP table: one row per operation the server performs.
#[rustfmt::skip]
fn kmip_rows() -> Vec<KmipRow> {
    //                                        app_in app_out other_app none | admin sysadmin
    vec![
        krow(Operation::DISCOVER_VERSIONS, "YYYY FF", |_, _| DiscoverVersionsRequest::default().into()),
        krow(Operation::QUERY, "YYYY FF", |_, _| QueryRequest { query_function: vec![QueryFunction::QUERY_OPERATIONS] }.into()),
        krow(Operation::CREATE, "YYYA FF", |_, _| common::create_aes_256()),
        krow(Operation::REGISTER, "YYYA FF", |_, _| RegisterRequest {
            object_type: ObjectType::OPAQUE_OBJECT,
            attributes: Attributes::default(),
            object: Object::OpaqueObject(OpaqueObject { opaque_data_type: OpaqueDataType(0x8000_0001), opaque_data_value: Bytes::from(&b"matrix"[..]) }),
            protection_storage_masks: None,
        }.into()),
        krow(Operation::GET, "YNNA FF", |_, u| GetRequest { unique_identifier: Some(u.into()), ..Default::default() }.into()),
        krow(Operation::GET_ATTRIBUTES, "YNNA FF", |_, u| GetAttributesRequest { unique_identifier: Some(u.into()), attribute_reference: vec![] }.into()),
        krow(Operation::GET_ATTRIBUTE_LIST, "YNNA FF", |_, u| GetAttributeListRequest { unique_identifier: Some(u.into()) }.into()),
        krow(Operation::ADD_ATTRIBUTE, "YNNA FF", |_, u| AddAttributeRequest { unique_identifier: Some(u.into()), attribute: Wrapped(x_tag("a")) }.into()),
        krow(Operation::MODIFY_ATTRIBUTE, "YNNA FF", |f, u| {
            f.prepare(AddAttributeRequest { unique_identifier: Some(u.into()), attribute: Wrapped(x_tag("a")) }.into());
            ModifyAttributeRequest { unique_identifier: Some(u.into()), current_attribute: Default::default(), new_attribute: Wrapped(x_tag("b")) }.into()
        }),
        krow(Operation::DELETE_ATTRIBUTE, "YNNA FF", |f, u| {
            f.prepare(AddAttributeRequest { unique_identifier: Some(u.into()), attribute: Wrapped(x_tag("a")) }.into());
            DeleteAttributeRequest { unique_identifier: Some(u.into()), current_attribute: Default::default(), attribute_reference: Some(AttributeReference(x_tag("").name)), attribute_index: None }.into()
        }),
        // KMIP 2.x only (sent as 2.1, see `version`).
        krow(Operation::SET_ATTRIBUTE, "YNNA FF", |_, u| SetAttributeRequest { unique_identifier: Some(u.into()), new_attribute: Wrapped(x_tag("s")) }.into()),
        // Locate by the key's identifier: another group or account finds nothing.
        krow(Operation::LOCATE, "Y00A FF", |_, u| LocateRequest {
            attributes: InlineAttributes(Some(Attributes::new(vec![Attribute::new(Tag::UNIQUE_IDENTIFIER, Value::TextString(u.into()))]))),
            ..Default::default()
        }.into()),
        krow(Operation::ACTIVATE, "YNNA FF", |_, u| ActivateRequest { unique_identifier: Some(u.into()) }.into()),
        krow(Operation::REVOKE, "YNNA FF", |_, u| RevokeRequest {
            unique_identifier: Some(u.into()),
            revocation_reason: RevocationReason { revocation_reason_code: RevocationReasonCode::KEY_COMPROMISE, revocation_message: None },
            compromise_occurrence_date: None,
        }.into()),
        krow(Operation::DESTROY, "YNNA FF", |_, u| DestroyRequest { unique_identifier: Some(u.into()) }.into()),
        krow(Operation::RE_KEY, "YNNA FF", |_, u| ReKeyRequest { unique_identifier: Some(u.into()), ..Default::default() }.into()),
        krow(Operation::CHECK, "YNNA FF", |_, u| CheckRequest { unique_identifier: Some(u.into()), ..Default::default() }.into()),
        krow(Operation::RNG_RETRIEVE, "YYYA FF", |_, _| RngRetrieveRequest { data_length: 16 }.into()),
    ]
}

/// The protocol version a row is sent in: 1.4, but 2.1 for what only 2.x has.
fn version(op: Operation) -> (i32, i32) {
    if op == Operation::SET_ATTRIBUTE {
        (2, 1)
    } else {
        (1, 4)
    }
}

/// A custom text attribute `x-Matrix`.
fn x_tag(value: &str) -> Attribute {
    Attribute::custom("x-Matrix", Value::TextString(value.into()))
}

/// A request body.
enum Body {
    Empty,
    Json(Json),
    /// PEM text (`application/x-pem-file`).
    Pem(String),
    /// A KMIP message in binary TTLV (`application/octet-stream`).
    Kmip(Vec<u8>),
}

fn json_body(v: Json) -> Body {
    Body::Json(v)
}

/// How a request is signed.
enum Auth<'a> {
    None,
    Basic(&'a Login),
    Bearer(String),
}

/// A column: who calls, with what.
struct Who {
    name: &'static str,
    /// Its login (an app's is its id and secret); `None`: no credentials.
    login: Option<Login>,
    /// A person, who may sign in for a session (and may not do KMIP/TLS).
    user: bool,
}

/// What every cell shares: the server, the two accounts and their people,
/// groups, apps and key, and the certificates the certificate routes take.
struct Fixture {
    server: common::Server,
    client: Client,
    base: String,
    sysadmin: Login,
    a_id: String,
    a_admin: Login,
    g1: String,
    g2: String,
    /// The key app_in made in G1.
    key: String,
    /// A's app in G1 (login: its id and secret).
    app_in: Login,
    /// Every column, in [`REST_COLUMNS`] order.
    columns: Vec<Who>,
    /// A self-signed leaf certificate (to pin) and CA certificate (to trust), a CSR.
    leaf_pem: String,
    ca_pem: String,
    csr_pem: String,
    /// For unique names.
    counter: std::cell::Cell<u32>,
}

impl Fixture {
    /// Sends a request; its status and body.
    fn call(&self, method: &Method, path: &str, auth: Auth, body: Body) -> (StatusCode, Vec<u8>) {
        let mut r = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        r = match auth {
            Auth::None => r,
            Auth::Basic(l) => r.basic_auth(&l.user, Some(&l.password)),
            Auth::Bearer(t) => r.bearer_auth(t),
        };
        r = match body {
            Body::Empty => r,
            Body::Json(v) => r.json(&v),
            Body::Pem(p) => r.header("content-type", "application/x-pem-file").body(p),
            Body::Kmip(b) => r.header("content-type", "application/octet-stream").body(b),
        };
        let resp = r.send().unwrap();
        (resp.status(), resp.bytes().unwrap().to_vec())
    }

    /// A set-up request as `who`, which must succeed: its JSON answer.
    fn setup(&self, method: Method, path: &str, who: &Login, body: Json) -> Json {
        let (status, bytes) = self.call(&method, path, Auth::Basic(who), Body::Json(body));
        assert!(
            status.is_success(),
            "set-up {method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or(Json::Null)
    }

    /// A name not used before.
    fn fresh(&self, what: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("matrix-{what}-{}", self.counter.get())
    }

    /// A new app of A in G1: its id.
    fn fresh_app(&self) -> String {
        let body = json!({ "name": self.fresh("app"), "groups": [self.g1] });
        let made = self.setup(Method::POST, "/v1/apps", &self.a_admin, body);
        made["app"]["id"].as_str().unwrap().to_string()
    }

    /// A new auditor of A: its id.
    fn fresh_user(&self) -> String {
        let body = json!({ "name": self.fresh("user"), "role": "auditor" });
        let made = self.setup(Method::POST, "/v1/users", &self.a_admin, body);
        made["user"]["id"].as_str().unwrap().to_string()
    }

    /// A new, empty account: its id.
    fn fresh_account(&self) -> String {
        let body = json!({ "name": self.fresh("account") });
        let made = self.setup(Method::POST, "/v1/accounts", &self.sysadmin, body);
        made["account"]["id"].as_str().unwrap().to_string()
    }

    /// Sends one KMIP operation as `who`: over KMIP/TLS for an app or no
    /// credentials (a new connection each time, so no earlier credential
    /// carries over), over KMIP/HTTPS for a user. The batch item, or the HTTP
    /// status when HTTP refused.
    fn kmip(
        &self,
        who: &Who,
        v: (i32, i32),
        payload: RequestPayload,
    ) -> Result<ResponseBatchItem, StatusCode> {
        let message = requests::message(v, vec![payload]);
        let response = match (&who.login, who.user) {
            (Some(login), true) => {
                let (status, bytes) = self.call(
                    &Method::POST,
                    "/kmip",
                    Auth::Basic(login),
                    Body::Kmip(message.encode()),
                );
                if status != StatusCode::OK {
                    return Err(status);
                }
                ResponseMessage::decode(&bytes, &kmip::binary::Limits::default()).unwrap()
            }
            (login, _) => {
                let mut s = common::kmip_connect(self.server.port, &self.server.dir.join("ca.crt"));
                let message = match login {
                    Some(l) => requests::with_password(message, &l.user, &l.password),
                    None => message,
                };
                common::kmip_exchange(&mut s, message)
            }
        };
        Ok(response.batch_items.into_iter().next().unwrap())
    }

    /// A new AES key of app_in in G1, made over KMIP: its identifier.
    fn fresh_key(&self) -> String {
        let Some(ResponsePayload::Create(c)) = self.prepare(common::create_aes_256()).payload
        else {
            panic!("Create answered no Create payload")
        };
        c.unique_identifier
    }

    /// As app_in, an operation that must succeed (a row's preparation).
    fn prepare(&self, payload: RequestPayload) -> ResponseBatchItem {
        let item = self.kmip(&self.columns[4], (1, 4), payload).unwrap();
        assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
        item
    }
}

/// One REST cell: the fixture, the column and the row's method.
struct Cell<'a> {
    f: &'a Fixture,
    who: &'a Who,
    method: Method,
}

impl Cell<'_> {
    /// The column's credentials (HTTP Basic), if any.
    fn auth(&self) -> Auth<'_> {
        match &self.who.login {
            Some(l) => Auth::Basic(l),
            None => Auth::None,
        }
    }

    /// The row's method on `path` as the column.
    fn send(&self, path: &str, body: Body) -> Got {
        http(self.f.call(&self.method, path, self.auth(), body).0)
    }

    /// Like [`Cell::send`] for a list of objects: `0` when it succeeds
    /// without listing the object `id`.
    fn sees(&self, path: &str, id: &str) -> Got {
        let (status, body) = self.f.call(&self.method, path, self.auth(), Body::Empty);
        let listed = serde_json::from_slice::<Json>(&body).is_ok_and(|v| {
            v["objects"]
                .as_array()
                .is_some_and(|all| all.iter().any(|o| o["id"] == id))
        });
        match http(status) {
            ('Y', _) if !listed => ('0', format!("{} none", status.as_u16())),
            got => got,
        }
    }

    /// A new session of the column, if it is a user: its tokens.
    fn sign_in(&self) -> Option<Json> {
        let login = self.who.login.as_ref().filter(|_| self.who.user)?;
        let body = json!({ "username": login.user, "password": login.password });
        Some(self.f.setup(Method::POST, "/v1/session", login, body))
    }

    /// The row's method on `path` with the bearer token of a new session for a
    /// user, with the column's usual credentials otherwise.
    fn send_signed_in(&self, path: &str) -> Got {
        match self.sign_in() {
            Some(t) => {
                let token = t["access_token"].as_str().unwrap().to_string();
                http(
                    self.f
                        .call(&self.method, path, Auth::Bearer(token), Body::Empty)
                        .0,
                )
            }
            None => self.send(path, Body::Empty),
        }
    }
}

/// What a cell answered: its outcome character and what to print for it.
type Got = (char, String);

/// The outcome of an HTTP status.
fn http(status: StatusCode) -> Got {
    let c = match status.as_u16() {
        200..=299 => 'Y',
        400 => 'B',
        401 => 'U',
        403 => 'F',
        404 => 'N',
        409 => 'C',
        _ => '?',
    };
    (c, status.as_u16().to_string())
}

/// The outcome of a KMIP answer.
fn kmip_outcome(uid: &str, answer: &Result<ResponseBatchItem, StatusCode>) -> Got {
    let item = match answer {
        Err(status) => return (http(*status).0, format!("HTTP {}", status.as_u16())),
        Ok(item) => item,
    };
    if item.result_status == ResultStatus::SUCCESS {
        if let Some(ResponsePayload::Locate(l)) = &item.payload {
            if !l.unique_identifier.iter().any(|u| u == uid) {
                return ('0', "Success(none)".into());
            }
        }
        return ('Y', "Success".into());
    }
    let reason = item.result_reason.unwrap_or_default();
    let c = match reason {
        ResultReason::ITEM_NOT_FOUND | ResultReason::OBJECT_NOT_FOUND => 'N',
        ResultReason::AUTHENTICATION_NOT_SUCCESSFUL => 'A',
        _ => '?',
    };
    (c, format!("{reason:?}"))
}

/// The columns of an outcome string (spaces dropped).
fn cells(expect: &str, width: usize, what: &str) -> Vec<char> {
    let cells: Vec<char> = expect.chars().filter(|c| *c != ' ').collect();
    assert_eq!(
        cells.len(),
        width,
        "{what}: {expect:?} needs {width} outcomes"
    );
    cells
}

/// Prints a matrix: a title, the column names, one line per row; `!` marks a
/// cell that is not what the table says.
fn print_matrix(title: &str, columns: &[&str], rows: &[(String, Vec<(String, bool)>)]) {
    let first = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(5);
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r.1[i].0.len() + 1)
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    println!("\n{title}");
    let mut line = format!("{:first$}", "");
    for (c, w) in columns.iter().zip(&widths) {
        line.push_str(&format!("  {c:w$}"));
    }
    println!("{line}");
    for (name, cells) in rows {
        let mut line = format!("{name:first$}");
        for ((shown, ok), w) in cells.iter().zip(&widths) {
            let cell = format!("{shown}{}", if *ok { "" } else { "!" });
            line.push_str(&format!("  {cell:w$}"));
        }
        println!("{line}");
    }
}

/// Makes the server, the accounts, people, groups, apps and key.
fn fixture(dir: &std::path::Path) -> Fixture {
    let server = common::serve(dir);
    let (client, base) = common::rest_client(&server);
    let sysadmin = server.sysadmin();
    let pki = dir.with_extension("pki");
    let _ = std::fs::remove_dir_all(&pki);
    std::fs::create_dir_all(&pki).unwrap();
    common::self_signed_p256(
        &pki,
        "leaf",
        "/CN=matrix leaf",
        &["-addext", "basicConstraints=critical,CA:FALSE"],
    );
    common::self_signed_p256(&pki, "ca", "/CN=Matrix CA", &[]);
    common::csr_p256(&pki, "csr.key", "app.csr", "/CN=matrix csr");
    let read = |name: &str| std::fs::read_to_string(pki.join(name)).unwrap();
    let mut f = Fixture {
        leaf_pem: read("leaf.crt"),
        ca_pem: read("ca.crt"),
        csr_pem: read("app.csr"),
        server,
        client,
        base,
        sysadmin: sysadmin.clone(),
        a_id: String::new(),
        a_admin: sysadmin.clone(),
        g1: String::new(),
        g2: String::new(),
        key: String::new(),
        app_in: sysadmin.clone(),
        columns: Vec::new(),
        counter: std::cell::Cell::new(0),
    };
    let _ = std::fs::remove_dir_all(&pki);
    let admin_of = |made: &Json| Login {
        user: made["admin"]["username"].as_str().unwrap().into(),
        password: made["admin"]["password"].as_str().unwrap().into(),
    };
    let a = f.setup(
        Method::POST,
        "/v1/accounts",
        &sysadmin,
        json!({ "name": "Acme" }),
    );
    let b = f.setup(
        Method::POST,
        "/v1/accounts",
        &sysadmin,
        json!({ "name": "Globex" }),
    );
    f.a_id = a["account"]["id"].as_str().unwrap().into();
    f.a_admin = admin_of(&a);
    let b_admin = admin_of(&b);
    let group = |name: &str| {
        let g = f.setup(
            Method::POST,
            "/v1/groups",
            &f.a_admin,
            json!({ "name": name }),
        );
        g["id"].as_str().unwrap().to_string()
    };
    let (g1, g2) = (group("G1"), group("G2"));
    let app = |admin: &Login, name: &str, groups: Json| {
        let body = json!({ "name": name, "interfaces": ["kmip", "rest"], "groups": groups });
        let made = f.setup(Method::POST, "/v1/apps", admin, body);
        Login {
            user: made["app"]["id"].as_str().unwrap().into(),
            password: made["credentials"]["password"].as_str().unwrap().into(),
        }
    };
    let app_in = app(&f.a_admin, "app-in", json!([g1]));
    let app_out = app(&f.a_admin, "app-out", json!([g2]));
    let other_app = app(&b_admin, "b-app", json!([]));
    let user = |role: &str| {
        let name = format!("acme-{role}");
        common::rest_usable_user(&f.client, &f.base, &f.a_admin, &name, role, PASSWORD).1
    };
    let (member, auditor) = (user("member"), user("auditor"));
    let who = |name, login: Option<&Login>, user| Who {
        name,
        login: login.cloned(),
        user,
    };
    f.columns = vec![
        who("sysadmin", Some(&sysadmin), true),
        who("admin", Some(&f.a_admin), true),
        who("member", Some(&member), true),
        who("auditor", Some(&auditor), true),
        who("app_in", Some(&app_in), false),
        who("app_out", Some(&app_out), false),
        who("other_user", Some(&b_admin), true),
        who("other_app", Some(&other_app), false),
        who("none", None, false),
    ];
    (f.g1, f.g2) = (g1, g2);
    f.app_in = app_in;
    f.key = f.fresh_key();
    f
}

#[test]
fn every_route_and_operation_by_every_principal() {
    let dir = common::temp_dir("authz-matrix");
    let f = fixture(&dir);
    let mut problems = Vec::new();

    // REST: the table against the server's own document.
    let (status, doc) = f.call(&Method::GET, "/v1/openapi.json", Auth::None, Body::Empty);
    assert_eq!(status, StatusCode::OK);
    let doc: Json = serde_json::from_slice(&doc).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let rows = rest_rows();
    let mut table = BTreeSet::new();
    for r in &rows {
        if !table.insert((r.method.to_string(), r.path.to_string())) {
            problems.push(format!("two rows for {} {}", r.method, r.path));
        }
    }
    for (m, p) in documented.difference(&table) {
        problems.push(format!(
            "the route {m} {p} has no row in the table: add one"
        ));
    }
    for (m, p) in table.difference(&documented) {
        problems.push(format!("the row {m} {p} names no documented route"));
    }
    let mut printed = Vec::new();
    for r in &rows {
        let route = format!("{} {}", r.method, r.path);
        let want = cells(r.expect, REST_COLUMNS.len(), &route);
        let mut line = Vec::new();
        for (who, want) in f.columns.iter().zip(want) {
            let cell = Cell {
                f: &f,
                who,
                method: Method::from_bytes(r.method.as_bytes()).unwrap(),
            };
            let (got, shown) = (r.call)(&cell);
            if got != want {
                problems.push(format!(
                    "{route} as {}: expected {want}, got {got} ({shown})",
                    who.name
                ));
            }
            line.push((shown, got == want));
        }
        printed.push((route, line));
    }
    print_matrix(
        "REST: route × principal → HTTP status (! = not what the table says)",
        &REST_COLUMNS,
        &printed,
    );

    // KMIP: the table against the operations the server says it performs
    // (Query Operations, asked in 2.1 so that 2.x-only ones are listed).
    let none = &f.columns[8];
    let query = QueryRequest {
        query_function: vec![QueryFunction::QUERY_OPERATIONS],
    };
    let item = f.kmip(none, (2, 1), query.into()).unwrap();
    let Some(ResponsePayload::Query(q)) = &item.payload else {
        panic!("Query: {item:?}")
    };
    let supported: BTreeSet<Operation> = q.operation.iter().copied().collect();
    let rows = kmip_rows();
    let mut table = BTreeSet::new();
    for r in &rows {
        if !table.insert(r.operation) {
            problems.push(format!("two rows for {:?}", r.operation));
        }
    }
    for op in supported.difference(&table) {
        problems.push(format!(
            "the operation {op:?} has no row in the KMIP table: add one"
        ));
    }
    for op in table.difference(&supported) {
        problems.push(format!(
            "the KMIP row {op:?} names an operation the server does not list"
        ));
    }
    let kmip_who: Vec<&Who> = KMIP_COLUMNS
        .iter()
        .map(|c| f.columns.iter().find(|w| w.name == *c).unwrap())
        .collect();
    let mut printed = Vec::new();
    for r in &rows {
        let op = r.operation;
        let want = cells(r.expect, KMIP_COLUMNS.len(), &format!("{op:?}"));
        let mut line = Vec::new();
        for (who, want) in kmip_who.iter().zip(want) {
            // A fresh key of app_in in G1 for every cell.
            let uid = f.fresh_key();
            let payload = (r.payload)(&f, &uid);
            let answer = f.kmip(who, version(op), payload);
            let (got, shown) = kmip_outcome(&uid, &answer);
            if got != want {
                problems.push(format!(
                    "KMIP {op:?} as {}: expected {want}, got {got} ({shown}: {:?})",
                    who.name,
                    answer.as_ref().ok().and_then(|i| i.result_message.clone())
                ));
            }
            line.push((shown, got == want));
        }
        printed.push((format!("{op:?}"), line));
    }
    print_matrix(
        "KMIP: operation × principal → result (apps and none over KMIP/TLS, users over POST /kmip)",
        &KMIP_COLUMNS,
        &printed,
    );

    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    drop(f);
    let _ = std::fs::remove_dir_all(&dir);
}
