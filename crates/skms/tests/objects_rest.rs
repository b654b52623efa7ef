//! Security objects over the REST API of a real `skms serve`, next to KMIP:
//! a key vCenter's way (KMIP Create, then its Add Attribute ×3 capture tagging
//! the VM) shows up in the listing with its `x-Name`, filters and keyset
//! paging find exactly what they should, the lifecycle routes follow KMIP's
//! rules, a rotated key replaces the old one in its group, moving a key to a
//! group its app is not in hides it from that app over KMIP, a key an admin
//! imports is the very key the app then gets over KMIP (BYOK), and roles hold:
//! an auditor only looks, a sysadmin sees no objects, another account's
//! objects do not exist. No answer ever carries key material.

mod common;

use base64::Engine as _;
use common::{kmip_connect, kmip_create_aes_256, kmip_exchange, kmip_get, Login, Server};
use kmip::enums::{ResultReason, ResultStatus};
use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
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

    fn call(
        &self,
        method: Method,
        path: &str,
        who: &Login,
        body: Option<Json>,
    ) -> (StatusCode, Json) {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&who.user, Some(&who.password));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().unwrap();
        let status = resp.status();
        let text = resp.text().unwrap();
        for never in ["KeyMaterial", "Key Material", "KeyValue", "material\""] {
            assert!(!text.contains(never), "{path} answered {never}: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Json::Null))
    }

    fn get(&self, path: &str, who: &Login) -> (StatusCode, Json) {
        self.call(Method::GET, path, who, None)
    }

    fn post(&self, path: &str, who: &Login, body: Json) -> (StatusCode, Json) {
        self.call(Method::POST, path, who, Some(body))
    }

    fn ok(&self, method: Method, path: &str, who: &Login, body: Option<Json>) -> Json {
        let (status, v) = self.call(method, path, who, body);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
}

/// A user of the tenant's account with `role`, its one-time password changed.
fn user(api: &Api, admin: &Login, name: &str, role: &str) -> Login {
    let password = format!("{name}-Chosen-Passw0rd");
    common::rest_usable_user(&api.client, &api.base, admin, name, role, &password).1
}

fn ids(page: &Json) -> Vec<String> {
    page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn objects_over_rest_follow_kmip_and_the_roles() {
    let dir = common::temp_dir("objects-rest");
    let server = common::serve(&dir);
    let api = Api::new(&server);
    let ca = dir.join("ca.crt");
    let acme = server.tenant("acme", "vcenter");
    let admin = acme.admin.clone();
    let app = Login {
        user: acme.username.clone(),
        password: acme.password.clone(),
    };

    // vCenter's way: KMIP Create, then its captured Add Attribute ×3 tagging the VM.
    let mut kmip = kmip_connect(server.port, &ca);
    let vm_key = kmip_create_aes_256(&mut kmip, &app.user, &app.password);
    let tag = skms_test_support::requests::with_password(
        skms_test_support::vcenter::with_uid(skms_test_support::vcenter::request("A16."), &vm_key),
        &app.user,
        &app.password,
    );
    let r = kmip_exchange(&mut kmip, tag);
    assert!(
        r.batch_items
            .iter()
            .all(|i| i.result_status == ResultStatus::SUCCESS),
        "{r:?}"
    );

    // The admin sees it, with the VM it belongs to.
    let page = api.ok(Method::GET, "/v1/objects", &admin, None);
    assert_eq!(page["total"], 1, "{page}");
    let o = &page["objects"][0];
    assert_eq!(o["id"], vm_key.as_str());
    assert_eq!(o["tags"]["x-Name"], "test01", "{o}");
    assert_eq!(o["tags"]["x-Component"], "Virtual Machine", "{o}");
    assert_eq!(o["algorithm"], "AES");
    assert_eq!(o["length"], 256);
    assert_eq!(o["state"], "PreActive");
    assert_eq!(o["creator"], app.user.as_str());
    let group = o["group"].as_str().unwrap().to_string();

    // Filters.
    for (query, want) in [
        ("x-Name=test01", 1),
        ("x-Name=test02", 0),
        (
            "x-Component=Virtual%20Machine&type=SymmetricKey&algorithm=AES&length=256",
            1,
        ),
        ("length=128", 0),
        ("state=PreActive", 1),
        ("state=Active", 0),
        (&format!("group={group}") as &str, 1),
        (&format!("creator={}", app.user), 1),
        ("created_from=0&created_to=1", 0),
    ] {
        let page = api.ok(Method::GET, &format!("/v1/objects?{query}"), &admin, None);
        assert_eq!(page["total"], want, "{query}: {page}");
        assert_eq!(page["objects"].as_array().unwrap().len(), want, "{query}");
    }
    for bad in [
        "state=Sleeping",
        "type=Banana",
        "nmae=x",
        "limit=0",
        "limit=1001",
        "after=not-a-uuid",
        "group=42",
        "sort=size",
    ] {
        let (status, v) = api.get(&format!("/v1/objects?{bad}"), &admin);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["code"], "invalid_request", "{bad}");
    }

    // Detail: every attribute, the custom ones by their 1.x names.
    let detail = api.ok(Method::GET, &format!("/v1/objects/{vm_key}"), &admin, None);
    let attrs = detail["attributes"].as_array().unwrap();
    let find = |name: &str| attrs.iter().find(|a| a["name"] == name).cloned();
    assert_eq!(
        find("Cryptographic Algorithm").unwrap()["value"],
        "AES",
        "{detail}"
    );
    assert_eq!(find("x-Name").unwrap()["value"], "test01");
    assert_eq!(find("State").unwrap()["value"], "PreActive");

    // Create (a user names the group), then keyset paging over six keys.
    let (status, v) = api.post(
        "/v1/objects",
        &admin,
        json!({"algorithm": "AES", "length": 256}),
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a user must name the group: {v}"
    );
    let mut made = vec![vm_key.clone()];
    for i in 0..5 {
        let (status, o) = api.post(
            "/v1/objects",
            &admin,
            json!({"group": group, "name": format!("key-{i}"), "algorithm": "AES", "length": 128,
                   "attributes": {"x-Owner": "ops"}}),
        );
        assert_eq!(status, StatusCode::CREATED, "{o}");
        assert_eq!(o["name"], format!("key-{i}"));
        assert_eq!(o["creator"], Json::Null, "a user made it");
        made.push(o["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = api.ok(
            Method::GET,
            &format!("/v1/objects?limit=2{after}"),
            &admin,
            None,
        );
        assert_eq!(page["total"], 6);
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    // Creation times are seconds: ties go by id, so compare as sets.
    let mut sorted = made.clone();
    sorted.sort();
    let mut seen_sorted = seen.clone();
    seen_sorted.sort();
    assert_eq!(seen_sorted, sorted, "every key exactly once: {seen:?}");
    let by_name = api.ok(
        Method::GET,
        "/v1/objects?sort=name&order=desc&x-Owner=ops",
        &admin,
        None,
    );
    assert_eq!(by_name["objects"][0]["name"], "key-4", "{by_name}");
    assert_eq!(by_name["total"], 5);

    // Lifecycle: KMIP's rules, KMIP's answers in HTTP terms.
    let k = &made[1];
    let act = api.ok(
        Method::POST,
        &format!("/v1/objects/{k}/activate"),
        &admin,
        None,
    );
    assert_eq!(act["state"], "Active");
    let (status, v) = api.post(&format!("/v1/objects/{k}/activate"), &admin, json!(null));
    assert_eq!(status, StatusCode::CONFLICT, "activate twice: {v}");
    let (status, v) = api.call(
        Method::POST,
        &format!("/v1/objects/{k}/destroy"),
        &admin,
        None,
    );
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an Active key is not destroyed: {v}"
    );
    let (status, v) = api.post(
        &format!("/v1/objects/{k}/revoke"),
        &admin,
        json!({"reason": "Bored"}),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let rev = api.ok(
        Method::POST,
        &format!("/v1/objects/{k}/revoke"),
        &admin,
        Some(json!({"reason": "Superseded", "message": "rotation"})),
    );
    assert_eq!(rev["state"], "Deactivated");
    let gone = api.ok(
        Method::POST,
        &format!("/v1/objects/{k}/destroy"),
        &admin,
        None,
    );
    assert_eq!(gone["state"], "Destroyed");

    // Rotate: the replacement takes the name, stays in the group, links back.
    let old = &made[2];
    let (status, new) = api.call(
        Method::POST,
        &format!("/v1/objects/{old}/rotate"),
        &admin,
        None,
    );
    assert_eq!(status, StatusCode::CREATED, "{new}");
    assert_eq!(new["name"], "key-1");
    assert_eq!(new["group"], group.as_str());
    let new_id = new["id"].as_str().unwrap();
    let d = api.ok(Method::GET, &format!("/v1/objects/{new_id}"), &admin, None);
    assert!(
        d["attributes"].to_string().contains(old.as_str()),
        "a link to {old}: {d}"
    );

    // Move the VM key to a group the app is not in: the app no longer finds it.
    let g2 = api.ok(
        Method::POST,
        "/v1/groups",
        &admin,
        Some(json!({"name": "vault"})),
    );
    let g2 = g2["id"].as_str().unwrap().to_string();
    let moved = api.ok(
        Method::PUT,
        &format!("/v1/objects/{vm_key}/group"),
        &admin,
        Some(json!({"group": g2})),
    );
    assert_eq!(moved["group"], g2.as_str());
    let get = kmip::payloads::GetRequest {
        unique_identifier: Some(vm_key.clone()),
        ..Default::default()
    };
    let r = kmip_exchange(
        &mut kmip,
        common::kmip_request(&app.user, &app.password, get.into()),
    );
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::ITEM_NOT_FOUND)
    );
    let (status, _) = api.call(
        Method::PUT,
        &format!("/v1/objects/{vm_key}/group"),
        &admin,
        Some(json!({"group": "00000000-0000-4000-8000-000000000000"})),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "no such group");
    api.ok(
        Method::PUT,
        &format!("/v1/objects/{vm_key}/group"),
        &admin,
        Some(json!({"group": group})),
    );
    kmip_get(&mut kmip, &app.user, &app.password, &vm_key);

    // BYOK: the key an admin imports is the key the app gets.
    let mine: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(7)).collect();
    let (status, imported) = api.post(
        "/v1/objects/import",
        &admin,
        json!({"type": "SymmetricKey", "group": group, "algorithm": "AES", "name": "byok",
               "material": base64::engine::general_purpose::STANDARD.encode(&mine)}),
    );
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported["length"], 256);
    let got = kmip_get(
        &mut kmip,
        &app.user,
        &app.password,
        imported["id"].as_str().unwrap(),
    );
    assert_eq!(
        skms_test_support::vcenter::raw_aes_256_key(&got, "imported"),
        &mine[..]
    );
    for bad in [
        json!({"type": "SymmetricKey", "group": group, "algorithm": "AES", "material": "@@"}),
        json!({"type": "SymmetricKey", "group": group, "material": "AAAA"}),
        json!({"type": "Banana", "group": group, "material": "AAAA"}),
        json!({"type": "SecretData", "group": group, "material": "AAAA", "colour": "red"}),
    ] {
        let (status, v) = api.post("/v1/objects/import", &admin, bad.clone());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }

    // The audit log names the object a create made.
    let id = &made[3];
    let trail = api.ok(Method::GET, &format!("/v1/audit?object={id}"), &admin, None);
    assert!(
        trail.to_string().contains("POST /v1/objects"),
        "the create of {id} is in its trail: {trail}"
    );

    // Roles: an auditor looks, a member manages, a sysadmin sees nothing.
    let auditor = user(&api, &admin, "acme-auditor", "auditor");
    let member = user(&api, &admin, "acme-member", "member");
    assert_eq!(
        api.ok(Method::GET, "/v1/objects", &auditor, None)["total"],
        8,
        "six made, one rotated, one imported"
    );
    api.ok(
        Method::GET,
        &format!("/v1/objects/{vm_key}"),
        &auditor,
        None,
    );
    let (status, _) = api.post(
        "/v1/objects",
        &auditor,
        json!({"group": group, "algorithm": "AES", "length": 256}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.call(
        Method::POST,
        &format!("/v1/objects/{vm_key}/activate"),
        &auditor,
        None,
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.post(
        "/v1/objects",
        &member,
        json!({"group": group, "algorithm": "AES", "length": 256}),
    );
    assert_eq!(status, StatusCode::CREATED);
    let sysadmin = server.sysadmin();
    let (status, _) = api.get("/v1/objects", &sysadmin);
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another account: an empty list, and acme's keys do not exist.
    let other = server.tenant("globex", "app").admin;
    assert_eq!(api.ok(Method::GET, "/v1/objects", &other, None)["total"], 0);
    assert_eq!(
        api.ok(
            Method::GET,
            &format!("/v1/objects?group={group}"),
            &other,
            None
        )["total"],
        0
    );
    for (method, path, body) in [
        (Method::GET, format!("/v1/objects/{vm_key}"), None),
        (Method::POST, format!("/v1/objects/{vm_key}/activate"), None),
        (Method::POST, format!("/v1/objects/{vm_key}/rotate"), None),
        (
            Method::PUT,
            format!("/v1/objects/{vm_key}/group"),
            Some(json!({"group": group})),
        ),
    ] {
        let (status, v) = api.call(method, &path, &other, body);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (status, _) = api.post(
        "/v1/objects",
        &other,
        json!({"group": group, "algorithm": "AES", "length": 256}),
    );
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another account's group does not exist for them"
    );
    server.terminate();
}

/// The same through `skms object …`: every subcommand against the real server,
/// the listing as a table with the VM's name and as JSON, a key imported from
/// a file fetched back over KMIP byte for byte, and the server's refusal
/// (an auditor creating) printed with its reason.
#[test]
fn the_object_commands_of_the_cli() {
    let dir = common::temp_dir("objects-cli");
    let server = common::serve(&dir);
    let acme = server.tenant("acme", "vcenter");
    let admin = acme.admin.clone();
    let json = |args: &[&str]| -> Json {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&server.admin(&admin, &all)).unwrap()
    };

    let made = json(&[
        "object",
        "create",
        "--group",
        "default",
        "--name",
        "vm-7-key",
        "--attr",
        "x-Name=vm-7",
    ]);
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["state"], "PreActive");
    let table = server.admin(&admin, &["object", "list", "--attr", "x-Name=vm-7"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains(&id) && table.contains("vm-7") && table.contains("AES-256"),
        "{table}"
    );
    let none = json(&["object", "list", "--attr", "x-Name=vm-8"]);
    assert_eq!(none["total"], 0);
    let shown = server.admin(&admin, &["object", "show", &id]);
    assert!(shown.contains("x-Name: vm-7"), "{shown}");
    assert_eq!(json(&["object", "activate", &id])["state"], "Active");
    let revoked = json(&[
        "object",
        "revoke",
        &id,
        "--reason",
        "Superseded",
        "--message",
        "done",
    ]);
    assert_eq!(revoked["state"], "Deactivated");
    assert_eq!(json(&["object", "destroy", &id])["state"], "Destroyed");

    // Paging: three more, two per page, every page with --all.
    for i in 0..3 {
        json(&[
            "object",
            "create",
            "--group",
            "default",
            "--name",
            &format!("k{i}"),
        ]);
    }
    let (ok, out, err) = server.admin_try(&admin, &["object", "list", "--limit", "2"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "a header and two rows: {out}");
    assert!(err.contains("--after"), "the next page is named: {err}");
    let all = json(&["object", "list", "--limit", "2", "--all"]);
    assert_eq!(all["objects"].as_array().unwrap().len(), 4, "{all}");

    // Rotate and move.
    let k0 = all["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "k0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let new = json(&["object", "rotate", &k0]);
    assert_eq!(new["name"], "k0");
    server.admin(&admin, &["group", "create", "vault"]);
    let moved = json(&["object", "move", &k0, "--group", "vault"]);
    let vault = json(&["object", "list", "--group", "vault"]);
    assert_eq!(vault["objects"][0]["id"], moved["id"]);

    // Bring your own key: the app gets exactly these bytes over KMIP.
    let key_file = dir.join("my.key");
    let mine: Vec<u8> = (0u8..32).map(|b| b ^ 0x5a).collect();
    std::fs::write(&key_file, &mine).unwrap();
    let imported = json(&[
        "object",
        "import",
        "--group",
        "default",
        "--name",
        "byok",
        "--material-file",
        key_file.to_str().unwrap(),
    ]);
    let mut kmip = kmip_connect(server.port, &dir.join("ca.crt"));
    let got = kmip_get(
        &mut kmip,
        &acme.username,
        &acme.password,
        imported["id"].as_str().unwrap(),
    );
    assert_eq!(
        skms_test_support::vcenter::raw_aes_256_key(&got, "imported"),
        &mine[..]
    );

    // A refusal says why.
    let api = Api::new(&server);
    let auditor = user(&api, &admin, "acme-auditor", "auditor");
    let (ok, _, err) = server.admin_try(&auditor, &["object", "create", "--group", "default"]);
    assert!(!ok);
    assert!(err.contains("403") && err.contains("may not"), "{err}");
    let (ok, _, err) = server.admin_try(&admin, &["object", "list", "--attr", "Name=x"]);
    assert!(!ok && err.contains("x-NAME=VALUE"), "{err}");
    server.terminate();
}
