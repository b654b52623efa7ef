//! The REST API of a real `skms serve`, from outside: who may do what (sysadmin,
//! account admin, app), that one account never sees another's apps (the answer
//! is the same as for an app that does not exist), the credentials round trip,
//! KMIP in its JSON encoding for apps allowed REST, and bad input refused with a
//! reason. Every refusal, the router's and axum's own included, is
//! `{"code", "message", "request_id"}` with the id of the `X-Request-Id` header
//! that every answer carries. The client is reqwest (and curl for the
//! unauthenticated download).

mod common;

use common::{Login, Server};
use kmip::enums::ResultStatus;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(server: &Server) -> Self {
        let (client, base) = common::rest_client(server);
        Api { client, base }
    }

    fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<(&str, &str)>,
    ) -> RequestBuilder {
        let r = self.client.request(method, format!("{}{path}", self.base));
        match who {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    fn call(&self, r: RequestBuilder) -> (StatusCode, Json) {
        let resp = r.send().unwrap();
        let status = resp.status();
        (status, resp.json().unwrap_or(Json::Null))
    }

    fn get(&self, path: &str, who: &Login) -> (StatusCode, Json) {
        self.call(self.req(reqwest::Method::GET, path, Some((&who.user, &who.password))))
    }

    fn post(&self, path: &str, who: &Login, body: Json) -> (StatusCode, Json) {
        self.call(
            self.req(
                reqwest::Method::POST,
                path,
                Some((&who.user, &who.password)),
            )
            .json(&body),
        )
    }
}

fn login(user: &str, password: &str) -> Login {
    Login {
        user: user.into(),
        password: password.into(),
    }
}

/// A new account through the API: its admin's login.
fn account(api: &Api, sysadmin: &Login, name: &str) -> Login {
    let (status, v) = api.post("/v1/accounts", sysadmin, json!({ "name": name }));
    assert_eq!(status, StatusCode::CREATED, "{v}");
    login(
        v["admin"]["username"].as_str().unwrap(),
        v["admin"]["password"].as_str().unwrap(),
    )
}

#[test]
fn roles_isolation_credentials_and_bad_input() {
    let dir = common::temp_dir("rest-api");
    let server = common::serve(&dir);
    let api = Api::new(&server);
    let root = server.sysadmin();

    // Anyone: health and the CA certificate (curl, trusting the CA file; no login).
    let (status, v) = api.call(api.req(reqwest::Method::GET, "/v1/health", None));
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(dir.join("ca.crt"))
        .arg(format!("{}/v1/ca-certificate", api.base))
        .output()
        .unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert_eq!(curl.stdout, std::fs::read(dir.join("ca.crt")).unwrap());

    // No login, a wrong password, an unknown user: 401 with a Basic challenge.
    let resp = api
        .req(reqwest::Method::GET, "/v1/accounts", None)
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    for who in [login("sysadmin", "wrong"), login("nobody", &root.password)] {
        assert_eq!(api.get("/v1/accounts", &who).0, StatusCode::UNAUTHORIZED);
    }

    // The sysadmin creates accounts; names are unique; a taken admin login leaves no account.
    let alice = account(&api, &root, "Acme");
    let bob = account(&api, &root, "Globex");
    assert_eq!(alice.user, "acme-admin");
    let (status, v) = api.post("/v1/accounts", &root, json!({ "name": "Acme" }));
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, _) = api.post(
        "/v1/accounts",
        &root,
        json!({ "name": "Initech", "admin": "acme-admin" }),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, all) = api.get("/v1/accounts", &root);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Globex"]);
    // The sysadmin manages accounts, not an account's apps; an admin cannot create accounts.
    assert_eq!(api.get("/v1/apps", &root).0, StatusCode::FORBIDDEN);
    assert_eq!(
        api.post("/v1/accounts", &alice, json!({ "name": "Mine" }))
            .0,
        StatusCode::FORBIDDEN
    );

    // Alice: a group and an app (KMIP and REST) in it.
    let (status, g) = api.post("/v1/groups", &alice, json!({ "name": "hosts" }));
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let (status, made) = api.post(
        "/v1/apps",
        &alice,
        json!({ "name": "vcenter", "interfaces": ["kmip", "rest"], "groups": ["hosts", "default"] }),
    );
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let app_id = made["app"]["id"].as_str().unwrap().to_string();
    assert_eq!(made["app"]["default_group"], g["id"]);
    assert_eq!(
        made["credentials"]["username"].as_str(),
        Some(app_id.as_str())
    );
    let secret = made["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();

    // View credentials again: the same secret.
    let (status, creds) = api.get(&format!("/v1/apps/{app_id}/credentials"), &alice);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(creds["password"].as_str(), Some(secret.as_str()));

    // Bob sees none of it: Alice's app answers exactly like an app that does not exist.
    let ghost = "0b5d3a0e-59a4-4a8e-9b7e-7d1e2f3a4b5c";
    for path in ["", "/credentials"] {
        let (status, mut theirs) = api.get(&format!("/v1/apps/{app_id}{path}"), &bob);
        let (_, mut missing) = api.get(&format!("/v1/apps/{ghost}{path}"), &bob);
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Only the request ids differ.
        assert_ne!(theirs["request_id"], missing["request_id"]);
        theirs["request_id"] = Json::Null;
        missing["request_id"] = Json::Null;
        assert_eq!(theirs, missing);
    }
    for path in ["/secret", "/pinned-certificates", "/trusted-cas"] {
        let (status, _) = api.post(&format!("/v1/apps/{app_id}{path}"), &bob, json!({}));
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{path}: {status}"
        );
    }
    assert_eq!(api.get("/v1/apps", &bob).1, json!([]));
    let (_, bob_groups) = api.get("/v1/groups", &bob);
    assert_eq!(
        bob_groups.as_array().unwrap().len(),
        1,
        "only Globex's default group"
    );
    // Bob cannot put an app in Alice's group.
    let (status, v) = api.post(
        "/v1/apps",
        &bob,
        json!({ "name": "sneaky", "groups": [g["id"]] }),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // The app signs in to REST with its UUID and secret; it manages nothing.
    let app = login(&app_id, &secret);
    let (status, me) = api.get("/v1/whoami", &app);
    assert_eq!((status, me["kind"].as_str()), (StatusCode::OK, Some("app")));
    assert_eq!(api.get("/v1/apps", &app).0, StatusCode::FORBIDDEN);

    // KMIP in JSON over REST: Create then Get, by the same operations as KMIP over TLS.
    let message = common::kmip_request_anonymous(common::create_aes_256());
    let body = kmip::json::to_string(&message.to_ttlv());
    let resp = api
        .req(reqwest::Method::POST, "/kmip", Some((&app_id, &secret)))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().unwrap();
    let limits = kmip::binary::Limits::default();
    let answer =
        kmip::messages::ResponseMessage::from_ttlv(kmip::json::from_str(&text, &limits).unwrap())
            .unwrap();
    assert_eq!(
        answer.batch_items[0].result_status,
        ResultStatus::SUCCESS,
        "{text}"
    );
    // Garbage is answered in KMIP (Invalid Message), not with a dropped request.
    let resp = api
        .req(reqwest::Method::POST, "/kmip", Some((&app_id, &secret)))
        .header("content-type", "application/json")
        .body("{ not kmip")
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().unwrap().contains("OperationFailed"));
    // A user is not an app: no KMIP for Alice.
    let resp = api
        .req(
            reqwest::Method::POST,
            "/kmip",
            Some((&alice.user, &alice.password)),
        )
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Reset: the old secret stops working at once, the new one works.
    let (status, fresh) = api.post(&format!("/v1/apps/{app_id}/secret"), &alice, json!({}));
    assert_eq!(status, StatusCode::OK);
    let new_secret = fresh["password"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(api.get("/v1/whoami", &app).0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.get("/v1/whoami", &login(&app_id, &new_secret)).0,
        StatusCode::OK
    );

    // Certificate authentication: the secret no longer signs in.
    let resp = api
        .req(
            reqwest::Method::PUT,
            &format!("/v1/apps/{app_id}/auth-method"),
            Some((&alice.user, &alice.password)),
        )
        .json(&json!({ "auth_method": "certificate" }))
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        api.get("/v1/whoami", &login(&app_id, &new_secret)).0,
        StatusCode::UNAUTHORIZED
    );

    // Bad input: an unknown field, a bad method, a non-PEM certificate, a huge body, an unknown path.
    let (status, _) = api.post(
        "/v1/groups",
        &alice,
        json!({ "name": "x", "colour": "red" }),
    );
    assert!(status.is_client_error(), "{status}");
    let (status, v) = api.post(
        "/v1/apps",
        &alice,
        json!({ "name": "x", "auth_method": "telepathy" }),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "invalid_request", "{v}");
    assert!(v["message"].as_str().unwrap().contains("telepathy"), "{v}");
    let resp = api
        .req(
            reqwest::Method::POST,
            &format!("/v1/apps/{app_id}/pinned-certificates"),
            Some((&alice.user, &alice.password)),
        )
        .body("not a certificate")
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = api
        .req(
            reqwest::Method::POST,
            "/v1/groups",
            Some((&alice.user, &alice.password)),
        )
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The unread body makes the connection unusable: the server says it closes it.
    assert_eq!(resp.headers()["connection"], "close");
    let v: Json = resp.json().unwrap();
    assert_eq!(v["code"], "payload_too_large", "{v}");
    assert!(v["message"].as_str().unwrap().contains("bytes"), "{v}");
    assert_eq!(api.get("/v1/nothing-here", &alice).0, StatusCode::NOT_FOUND);

    // The server is still healthy after all of it.
    let (status, _) = api.call(api.req(reqwest::Method::GET, "/v1/health", None));
    assert_eq!(status, StatusCode::OK);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The status, the `X-Request-Id` header and the JSON body of `r`.
fn answer(r: RequestBuilder) -> (StatusCode, String, Json) {
    let resp = r.send().unwrap();
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{status}: no X-Request-Id"))
        .to_str()
        .unwrap()
        .to_string();
    (status, id, resp.json().unwrap_or(Json::Null))
}

/// Requires `(status, id, body)` to be a refusal with `status` and `code` in the
/// API's form, whose request id is the header's.
fn refused(got: (StatusCode, String, Json), status: StatusCode, code: &str) {
    let (s, id, body) = got;
    assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(body["request_id"], id.as_str(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
}

#[test]
fn every_refusal_has_a_code_a_message_and_the_request_id() {
    let dir = common::temp_dir("rest-errors");
    let log = dir.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let server = common::serve_logging(&dir, Some(&log));
    let api = Api::new(&server);
    let root = server.sysadmin();
    let alice = account(&api, &root, "Acme");
    let who = Some((alice.user.as_str(), alice.password.as_str()));
    let post = |path: &str| api.req(reqwest::Method::POST, path, who);

    // Success carries an id too: a fresh UUID unless the client sent a good one.
    let (status, id, _) = answer(api.req(reqwest::Method::GET, "/v1/health", None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(id.len(), 36, "{id}");
    let (_, other, _) = answer(api.req(reqwest::Method::GET, "/v1/health", None));
    assert_ne!(id, other);
    let (_, id, _) = answer(
        api.req(reqwest::Method::GET, "/v1/health", None)
            .header("x-request-id", "trace-42.a:b_c"),
    );
    assert_eq!(id, "trace-42.a:b_c");
    for bad in ["a b", "x".repeat(65).as_str(), "<script>", ""] {
        let (_, id, _) = answer(
            api.req(reqwest::Method::GET, "/v1/health", None)
                .header("x-request-id", bad),
        );
        assert_eq!(id.len(), 36, "{bad:?} → {id}");
    }
    // The client's id is the error body's, and the log's.
    let got = answer(
        api.req(
            reqwest::Method::GET,
            "/v1/apps",
            Some(("sysadmin", "wrong")),
        )
        .header("x-request-id", "the-wrong-password"),
    );
    assert_eq!(got.1, "the-wrong-password");
    refused(got, StatusCode::UNAUTHORIZED, "unauthorized");

    // The handlers' refusals.
    refused(
        answer(api.req(reqwest::Method::GET, "/v1/accounts", None)),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    refused(
        answer(api.req(reqwest::Method::GET, "/v1/accounts", who)),
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    refused(
        answer(api.req(
            reqwest::Method::GET,
            "/v1/apps/0b5d3a0e-59a4-4a8e-9b7e-7d1e2f3a4b5c",
            who,
        )),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    refused(
        answer(post("/v1/groups").json(&json!({ "name": "default" }))),
        StatusCode::CONFLICT,
        "conflict",
    );
    refused(
        answer(post("/v1/groups").json(&json!({ "name": "" }))),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // A bad admin login leaves no account behind, nor does a long account name.
    refused(
        answer(
            api.req(
                reqwest::Method::POST,
                "/v1/accounts",
                Some((&root.user, &root.password)),
            )
            .json(&json!({ "name": "Initech", "admin": "not a login" })),
        ),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let long = "L".repeat(200);
    let (status, v) = api.post("/v1/accounts", &root, json!({ "name": long }));
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (_, all) = api.get("/v1/accounts", &root);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", long.as_str()]);

    // axum's own refusals, in the same form: bad JSON, a wrong type, a missing
    // field, no JSON Content-Type, an undecodable path, an unknown path, a method
    // an endpoint does not take, a body too large.
    for (body, why) in [
        ("{ not json", "syntax"),
        (r#"{"name": 42}"#, "type"),
        (r#"{"description": "x"}"#, "missing"),
        (r#"{"name": "x", "colour": "red"}"#, "unknown field"),
        ("[]", "not an object"),
    ] {
        let got = answer(
            post("/v1/groups")
                .header("content-type", "application/json")
                .body(body),
        );
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{why}: {}", got.2);
        refused(got, StatusCode::BAD_REQUEST, "invalid_request");
    }
    refused(
        answer(post("/v1/groups").body(r#"{"name": "x"}"#)),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    refused(
        answer(api.req(reqwest::Method::GET, "/v1/apps/%FF", who)),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    refused(
        answer(api.req(reqwest::Method::GET, "/v1/nothing-here", None)),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let resp = api
        .req(reqwest::Method::DELETE, "/v1/groups", who)
        .send()
        .unwrap();
    assert_eq!(resp.headers()["allow"], "GET,HEAD,POST");
    refused(
        answer(api.req(reqwest::Method::DELETE, "/v1/groups", who)),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    refused(
        answer(
            post("/v1/groups")
                .header("content-type", "application/json")
                .body(vec![b' '; 2 * 1024 * 1024]),
        ),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // The server logged the refusal under the client's request id.
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("the-wrong-password") && l.contains("REST authentication failed")),
        "{logged}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}

#[test]
fn a_lost_sysadmin_password_is_replaced_from_the_data_directory() {
    let dir = common::temp_dir("rest-reset");
    let server = common::serve(&dir);
    let api = Api::new(&server);
    let old = server.sysadmin();
    assert_eq!(api.get("/v1/accounts", &old).0, StatusCode::OK);
    let out = common::skms(&[
        "sysadmin",
        "reset-password",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    let new = login("sysadmin", &common::after(&out, "shown once"));
    assert_eq!(api.get("/v1/accounts", &old).0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.get("/v1/accounts", &new).0, StatusCode::OK);
    // A restart prints no new sysadmin password: the first start did, once.
    drop(server);
    let again = common::serve(&dir);
    assert!(!again.stdout.contains("sysadmin login"), "{}", again.stdout);
    // A directory that holds no server is refused rather than initialized.
    let empty = common::temp_dir("rest-reset-empty");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["sysadmin", "reset-password", "--data-dir"])
        .arg(&empty)
        .status()
        .unwrap();
    assert!(!status.success());
    assert!(!empty.exists());
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
