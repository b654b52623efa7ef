//! The OpenAPI document a real `skms serve` serves at `/v1/openapi.json`
//! against the routes its router really has, so that the two cannot drift:
//! the (method, path) pairs of the document equal those read from the router
//! itself (`skms_server::rest::route_table`, not a list kept by hand); every
//! documented operation is routed (no 404 or 405 without a login); the
//! methods a documented path does not take are 405, and paths nobody
//! documented are 404, both in the API's error form. README.md's table of the
//! REST API lists the same operations.

mod common;

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// The HTTP methods an OpenAPI path item may name.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The (METHOD, path) pairs of an OpenAPI document.
fn operations(doc: &Json) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `path` with each `{param}` segment written `{}`.
fn unnamed(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The (METHOD, path) pairs of the table of README.md's "REST API" section
/// (rows like ``| `GET, POST /v1/apps` | … |``), parameters written `{}`.
fn readme_routes() -> BTreeSet<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## REST API\n")
        .nth(1)
        .expect("a REST API section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut routes = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('`').nth(1).unwrap_or_default();
        let (methods, path) = cell.rsplit_once(' ').unwrap_or_else(|| panic!("{row}"));
        for method in methods.split(',') {
            routes.insert((method.trim().to_string(), unnamed(path)));
        }
    }
    routes
}

/// `path` with each `{param}` segment replaced by a UUID nobody has.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| match s.starts_with('{') {
            true => "0b5d3a0e-59a4-4a8e-9b7e-7d1e2f3a4b5c",
            false => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the concrete `path` is an instance of the documented `template`
/// (a `{param}` segment stands for any one segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

/// Checks `resp` is an error in the API's form with `code`, and that its
/// request id is the one of the `X-Request-Id` header; returns the body.
fn api_error(resp: reqwest::blocking::Response, code: &str, what: &str) -> Json {
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{what}: no X-Request-Id"))
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(resp.headers()["content-type"], "application/json", "{what}");
    let body: Json = resp.json().unwrap();
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert_eq!(body["request_id"], id.as_str(), "{what}: {body}");
    body
}

#[test]
fn the_served_document_describes_exactly_the_routes_of_the_router() {
    let dir = common::temp_dir("openapi");
    let server = common::serve(&dir);
    let pem = std::fs::read(dir.join("ca.crt")).unwrap();
    let client = Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{}", server.https_port);

    // Served without a login, as OpenAPI 3.1 JSON.
    let resp = client
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers().contains_key("x-request-id"));
    let doc: Json = resp.json().unwrap();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "OpenAPI {version:?}");
    assert_eq!(
        doc,
        serde_json::to_value(skms_server::rest::openapi()).unwrap(),
        "the served document is the one the code builds"
    );

    // The document's operations are exactly the router's routes.
    let documented = operations(&doc);
    let routed = skms_server::rest::route_table();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without documentation: {undocumented:?}; documented but not routed: {unrouted:?} \
         (register routes with `#[utoipa::path]` and `OpenApiRouter::routes(routes!(…))`)"
    );
    assert!(documented.len() >= 16, "{documented:?}");
    // README.md's table lists the same operations.
    let readme = readme_routes();
    let in_doc: BTreeSet<_> = documented
        .iter()
        .map(|(m, p)| (m.clone(), unnamed(p)))
        .collect();
    assert_eq!(
        readme, in_doc,
        "README.md's REST API table and the document differ"
    );

    // Every documented operation is routed: without a login it is 401 (or
    // served, for the open ones; or, for sign-in, a 4xx about the missing
    // body), never 404 or 405.
    for (method, path) in &documented {
        let what = format!("{method} {path}");
        let resp = client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}{}", concrete(path)),
            )
            .send()
            .unwrap();
        let status = resp.status();
        let sign_in = path.starts_with("/v1/session") && method == "POST";
        assert!(
            status == StatusCode::OK
                || status == StatusCode::UNAUTHORIZED
                || (sign_in && status == StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "{what}: {status}"
        );
        if status == StatusCode::UNAUTHORIZED {
            api_error(resp, "unauthorized", &what);
        }
    }

    // A method a documented path does not take: 405, in the API's form, with Allow.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in &paths {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(&(method.to_string(), path.to_string())) {
                continue;
            }
            let what = format!("{method} {path}");
            let resp = client
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{base}{}", concrete(path)),
                )
                .send()
                .unwrap();
            assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{what}");
            let allow = resp.headers()["allow"].to_str().unwrap().to_string();
            for (m, p) in &documented {
                if p == *path {
                    assert!(allow.contains(m.as_str()), "{what}: Allow {allow}");
                }
            }
            api_error(resp, "method_not_allowed", &what);
        }
    }

    // Paths nobody documented: 404, in the API's form. Near misses of the
    // documented ones (a segment more, a prefix, another case, a trailing
    // slash) and paths a server like this one could grow. (`/` and
    // `/console…` are the web console's, outside the document: see
    // console_security.rs.)
    let mut samples: BTreeSet<String> = [
        "/v1",
        "/v1/",
        "/v2/health",
        "/openapi.json",
        "/v1/openapi.yaml",
        "/v1/metrics",
        "/ready",
        "/health",
        "/v1/keys",
        "/v1/objects",
        "/v1/groups/{id}",
        "/v1/apps/{id}/groups",
        "/kmip/",
        "/kmip/1.1",
        "/index.html",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for path in &paths {
        samples.insert(format!("{path}/x"));
        samples.insert(format!("{path}/"));
        samples.insert(path.to_uppercase());
        let segments: Vec<&str> = path.split('/').collect();
        for n in 1..segments.len() {
            samples.insert(segments[..n].join("/"));
        }
    }
    for path in samples {
        if path.is_empty() || paths.iter().any(|p| matches(p, &path)) {
            continue;
        }
        for method in [Method::GET, Method::POST] {
            let what = format!("{method} {path}");
            let resp = client
                .request(method, format!("{base}{}", concrete(&path)))
                .send()
                .unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::NOT_FOUND,
                "{what} is routed but not documented"
            );
            api_error(resp, "not_found", &what);
        }
    }

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
