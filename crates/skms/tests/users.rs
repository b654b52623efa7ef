//! People over REST on a real `skms serve`: an account admin creates a member
//! and an auditor; they sign in for a bearer token, must change their one-time
//! password first, then may do what their role allows and nothing more;
//! sessions refresh once and end on sign-out; failed sign-ins lock with a
//! Retry-After; the sysadmin sees usage, disables and deletes accounts.

mod common;

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Api {
    client: Client,
    base: String,
}

enum Auth<'a> {
    Basic(&'a common::Login),
    Bearer(&'a str),
    None,
}

impl Api {
    fn new(server: &common::Server) -> Self {
        let (client, base) = common::rest_client(server);
        Api { client, base }
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        r = match auth {
            Auth::Basic(l) => r.basic_auth(&l.user, Some(&l.password)),
            Auth::Bearer(t) => r.bearer_auth(t),
            Auth::None => r,
        };
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().unwrap();
        let status = resp.status();
        (status, resp.json().unwrap_or(Value::Null))
    }
}

#[test]
fn roles_sessions_lockout_and_account_lifecycle() {
    let dir = common::temp_dir("users");
    let server = common::serve(&dir);
    let api = Api::new(&server);
    let root = server.sysadmin();
    let acme = server.tenant("Acme", "vcenter");
    let admin = Auth::Basic(&acme.admin);

    // The admin creates a member and an auditor, each with a one-time password.
    let mut made = Vec::new();
    for (name, role) in [("bob", "member"), ("carol", "auditor")] {
        let (status, v) = api.call(
            Method::POST,
            "/v1/users",
            Auth::Basic(&acme.admin),
            Some(json!({"name": name, "role": role})),
        );
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert_eq!(v["user"]["must_change_password"], true);
        made.push((
            name,
            v["user"]["id"].as_str().unwrap().to_string(),
            v["password"].as_str().unwrap().to_string(),
        ));
    }
    let (status, v) = api.call(
        Method::POST,
        "/v1/users",
        admin,
        Some(json!({"name": "eve", "role": "sysadmin"})),
    );
    assert!(
        status.is_client_error(),
        "an admin cannot make a sysadmin: {v}"
    );

    // Bob signs in; until he changes his password he can do nothing else.
    let (bob, bob_id, bob_pw) = (&made[0].0, &made[0].1, &made[0].2);
    let (status, t) = api.call(
        Method::POST,
        "/v1/session",
        Auth::None,
        Some(json!({"username": bob, "password": bob_pw})),
    );
    assert_eq!(status, StatusCode::OK, "{t}");
    let token = t["access_token"].as_str().unwrap().to_string();
    let (status, v) = api.call(Method::GET, "/v1/groups", Auth::Bearer(&token), None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("one-time password"),
        "{v}"
    );
    let (status, v) = api.call(
        Method::PUT,
        "/v1/me/password",
        Auth::Bearer(&token),
        Some(json!({"old_password": bob_pw, "new_password": "short"})),
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a weak password is refused: {v}"
    );
    let new_pw = "correct horse battery staple";
    let (status, v) = api.call(
        Method::PUT,
        "/v1/me/password",
        Auth::Bearer(&token),
        Some(json!({"old_password": bob_pw, "new_password": new_pw})),
    );
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");

    // Signed in again: a member sees groups and apps, not credentials, manages no app or user.
    let (_, t) = api.call(
        Method::POST,
        "/v1/session",
        Auth::None,
        Some(json!({"username": bob, "password": new_pw})),
    );
    let token = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        api.call(Method::GET, "/v1/groups", Auth::Bearer(&token), None)
            .0,
        StatusCode::OK
    );
    let (status, apps) = api.call(Method::GET, "/v1/apps", Auth::Bearer(&token), None);
    assert_eq!(status, StatusCode::OK);
    let app_id = apps[0]["id"].as_str().unwrap().to_string();
    for (method, path, body) in [
        (Method::GET, format!("/v1/apps/{app_id}/credentials"), None),
        (
            Method::POST,
            format!("/v1/apps/{app_id}/secret"),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/v1/apps".to_string(),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/v1/users".to_string(), None),
        (Method::GET, "/v1/audit".to_string(), None),
        (Method::GET, "/v1/accounts".to_string(), None),
    ] {
        let (status, v) = api.call(method.clone(), &path, Auth::Bearer(&token), body);
        assert_eq!(status, StatusCode::FORBIDDEN, "member {method} {path}: {v}");
    }

    // Refresh works once; the reused refresh token revokes the session.
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    let (status, t2) = api.call(
        Method::POST,
        "/v1/session/refresh",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
    );
    assert_eq!(status, StatusCode::OK, "{t2}");
    let token2 = t2["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        api.call(Method::GET, "/v1/whoami", Auth::Bearer(&token2), None)
            .0,
        StatusCode::OK
    );
    let (status, _) = api.call(
        Method::POST,
        "/v1/session/refresh",
        Auth::None,
        Some(json!({"refresh_token": refresh})),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.call(Method::GET, "/v1/whoami", Auth::Bearer(&token2), None)
            .0,
        StatusCode::UNAUTHORIZED,
        "reuse revoked the session"
    );

    // The auditor reads the audit log, changes nothing.
    let (carol, _, carol_pw) = (&made[1].0, &made[1].1, &made[1].2);
    let (_, t) = api.call(
        Method::POST,
        "/v1/session",
        Auth::None,
        Some(json!({"username": carol, "password": carol_pw})),
    );
    let token = t["access_token"].as_str().unwrap().to_string();
    let new_pw2 = "another long enough password";
    assert_eq!(
        api.call(
            Method::PUT,
            "/v1/me/password",
            Auth::Bearer(&token),
            Some(json!({"old_password": carol_pw, "new_password": new_pw2}))
        )
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, t) = api.call(
        Method::POST,
        "/v1/session",
        Auth::None,
        Some(json!({"username": carol, "password": new_pw2})),
    );
    let token = t["access_token"].as_str().unwrap().to_string();
    let (status, log) = api.call(
        Method::GET,
        "/v1/audit?limit=1000",
        Auth::Bearer(&token),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{log}");
    assert!(
        log["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["operation"] == "rest.POST /v1/users"),
        "{log}"
    );
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/groups",
            Auth::Bearer(&token),
            Some(json!({"name": "g"}))
        )
        .0,
        StatusCode::FORBIDDEN
    );
    // Signing out ends the token.
    assert_eq!(
        api.call(Method::DELETE, "/v1/session", Auth::Bearer(&token), None)
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::GET, "/v1/whoami", Auth::Bearer(&token), None)
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Five wrong passwords lock Bob (429 with Retry-After), even with the right one.
    // The first lock lasts one second and each refusal costs a password hash:
    // on a slow machine it may have ended already (a further failure locks
    // again, for longer). Go on until a wrong password meets the lock, then
    // the right one, at once, meets it too. If even that came a moment after
    // the lock ended (the right password then resets the count), once more.
    let wrong = |api: &Api| {
        api.call(
            Method::POST,
            "/v1/session",
            Auth::None,
            Some(json!({"username": bob, "password": "wrong password!"})),
        )
        .0
    };
    let mut refused = None;
    for _ in 0..3 {
        for _ in 0..5 {
            assert_eq!(wrong(&api), StatusCode::UNAUTHORIZED);
        }
        let locked = (0..8).any(|_| {
            let status = wrong(&api);
            assert!(
                [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
                "{status}"
            );
            status == StatusCode::TOO_MANY_REQUESTS
        });
        assert!(locked, "eight more wrong passwords never met the lock");
        let resp = api
            .client
            .post(format!("{}/v1/session", api.base))
            .json(&json!({"username": bob, "password": new_pw}))
            .send()
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(resp);
            break;
        }
        assert_eq!(resp.status(), StatusCode::OK, "after the lock ended");
    }
    let resp = refused.expect("the right password never met the lock");
    assert!(resp.headers().contains_key("retry-after"));
    // An unknown name answers alike (no hint that bob exists): five refusals,
    // then locked. The first lock lasts one second and each refusal costs a
    // password hash: on a slow machine the next try may come after it ended
    // (then it counts as a sixth failure and locks for two seconds, …).
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, _) = api.call(
            Method::POST,
            "/v1/session",
            Auth::None,
            Some(json!({"username": "nobody-here", "password": "wrong password!"})),
        );
        statuses.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert!(
        statuses.len() > 5 && statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    // The admin disables and deletes bob; another account's admin cannot touch acme's users.
    let globex = server.tenant("Globex", "backup");
    let (status, _) = api.call(
        Method::PATCH,
        &format!("/v1/users/{bob_id}"),
        Auth::Basic(&globex.admin),
        Some(json!({"enabled": false})),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = api.call(
        Method::PATCH,
        &format!("/v1/users/{bob_id}"),
        Auth::Basic(&acme.admin),
        Some(json!({"enabled": false})),
    );
    assert_eq!(
        (status, v["enabled"].clone()),
        (StatusCode::OK, json!(false)),
        "{v}"
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/v1/users/{bob_id}"),
            Auth::Basic(&acme.admin),
            None
        )
        .0,
        StatusCode::NO_CONTENT
    );

    // The sysadmin: usage counts of an account, disable (its apps stop), delete.
    let (_, accounts) = api.call(Method::GET, "/v1/accounts", Auth::Basic(&root), None);
    let globex_id = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Globex")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, usage) = api.call(
        Method::GET,
        &format!("/v1/accounts/{globex_id}/usage"),
        Auth::Basic(&root),
        None,
    );
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(
        (usage["apps"].clone(), usage["users"].clone()),
        (json!(1), json!(1)),
        "{usage}"
    );
    assert_eq!(
        api.call(
            Method::GET,
            &format!("/v1/accounts/{globex_id}/usage"),
            Auth::Basic(&acme.admin),
            None
        )
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.call(
            Method::PATCH,
            &format!("/v1/accounts/{globex_id}"),
            Auth::Basic(&root),
            Some(json!({"enabled": false}))
        )
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::GET, "/v1/groups", Auth::Basic(&globex.admin), None)
            .0,
        StatusCode::UNAUTHORIZED,
        "a disabled account's users cannot sign in"
    );
    let mut s = common::kmip_connect(server.port, &dir.join("ca.crt"));
    let r = common::kmip_exchange(
        &mut s,
        common::kmip_request(&globex.username, &globex.password, common::create_aes_256()),
    );
    assert_ne!(
        r.batch_items[0].result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "nor its apps"
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/v1/accounts/{globex_id}"),
            Auth::Basic(&root),
            None
        )
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, accounts) = api.call(Method::GET, "/v1/accounts", Auth::Basic(&root), None);
    assert!(accounts
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["name"] != "Globex"));
    // Readiness and metrics, for the operator's probes and Prometheus (no login).
    let (status, v) = api.call(Method::GET, "/v1/ready", Auth::None, None);
    assert_eq!(
        (status, v["status"].clone()),
        (StatusCode::OK, json!("ready")),
        "{v}"
    );
    assert_eq!(v["problem"], json!(null), "{v}");
    let checks = &v["checks"];
    assert_eq!(checks["store"]["ok"], json!(true), "{v}");
    assert_eq!(checks["store"]["backend"], json!("sqlite"), "{v}");
    assert_eq!(checks["root_of_trust"]["ok"], json!(true), "{v}");
    for check in ["store", "root_of_trust"] {
        let ms = checks[check]["latency_ms"].as_f64().unwrap();
        assert!(ms > 0.0 && ms < 2000.0, "{check}: {v}");
    }
    let text = api
        .client
        .get(format!("{}/metrics", api.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for want in [
        "skms_kmip_operations_total{operation=\"Create\"",
        "skms_http_requests_total{route=\"/v1/session\",status=\"429\"}",
        "skms_authentication_failures_total{interface=\"rest\",method=\"password\"}",
        "skms_store_operation_duration_seconds_count",
        "\nskms_store_up 1\n",
        "\nskms_root_of_trust_up 1\n",
        "\nskms_store_probe_seconds ",
        "\nskms_root_of_trust_probe_seconds ",
    ] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
    assert!(
        !text.contains(&acme.username),
        "no identifier in the metrics"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
