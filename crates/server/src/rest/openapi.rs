//! The OpenAPI 3.1 document of the REST API: built from the handlers'
//! `#[utoipa::path]` annotations as the routes are registered (see
//! [`super::api`]), finished here with what every operation shares (the HTTP
//! Basic scheme, the `X-Request-Id` header, the 500 answer), and served at
//! `GET /v1/openapi.json`.
//!
//! [`route_table`] lists the routes the router really has, read from the
//! router itself, so that a test can hold it against the document.

use super::error::ErrorBody;
use super::request_id;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::collections::BTreeSet;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, Ref, Required,
    ResponseBuilder,
};

/// The request-id header, as the document spells it.
const ID_HEADER: &str = "X-Request-Id";

/// The document before the routes add their paths: what it is about.
pub(super) fn base() -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Sovereign KMS REST API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Accounts (the provider's sysadmin), groups and apps (an account's admin), \
                     and KMIP over HTTPS (apps allowed REST). Authentication is HTTP Basic: a \
                     user's login name and password, or an app's UUID and secret. Every answer \
                     carries an `X-Request-Id` header; every error is \
                     `{\"code\", \"message\", \"request_id\"}`; an unknown path is 404 and a \
                     method an endpoint does not take is 405, in that form too.",
                ))
                .license(Some(LicenseBuilder::new().name("Apache-2.0").build()))
                .build(),
        )
        .tags(Some(
            [
                (
                    "server",
                    "Health, the server's CA certificate and certificate chain, the caller, this document",
                ),
                (
                    "accounts",
                    "Accounts (tenants), managed by the provider's sysadmin",
                ),
                ("groups", "Groups of an account, managed by its admin"),
                (
                    "apps",
                    "Apps of an account, their credentials and certificates, managed by its admin",
                ),
                (
                    "kmip",
                    "KMIP over HTTPS, for apps allowed the REST interface",
                ),
                (
                    "users",
                    "Sign-in sessions, passwords, an account's users and their group roles",
                ),
                (
                    "audit",
                    "The hash-chained audit log: an account's for its admins, the provider's for sysadmins",
                ),
            ]
            .map(|(name, about)| {
                TagBuilder::new()
                    .name(name)
                    .description(Some(about))
                    .build()
            }),
        ))
        .build()
}

/// What every operation shares, added once the routes have added theirs: the
/// `basic` security scheme; the optional `X-Request-Id` request header; the
/// `X-Request-Id` header on every answer; a 500 answer (any request can meet
/// a failing store).
pub(super) fn conventions(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    let id_schema = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(request_id::MAX_LEN))
            .build()
    };
    let error_body = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(
                <ErrorBody as utoipa::ToSchema>::name(),
            )))
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            op.parameters.get_or_insert_with(Vec::new).push(
                ParameterBuilder::new()
                    .name(ID_HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "An id for this request, kept if it is 1 to 64 of letters, digits, \
                         `-_.:`; any other value is replaced by a new UUID",
                    ))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                    .build(),
            );
            op.responses
                .responses
                .entry("500".into())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(
                            "The server failed; its log has the cause under the request id",
                        )
                        .content("application/json", error_body())
                        .build()
                        .into()
                });
            for response in op.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(r) = response {
                    r.headers.insert(
                        ID_HEADER.into(),
                        HeaderBuilder::new()
                            .schema(id_schema())
                            .description(Some(
                                "The request's id: the client's if acceptable, else a new UUID",
                            ))
                            .build(),
                    );
                }
            }
        }
    }
}

/// The operations of a path, with their methods (upper case).
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("TRACE", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

/// The document, as served.
pub fn openapi() -> OpenApi {
    super::api().1
}

/// The (method, path) pairs a document describes, methods upper case.
pub fn documented(doc: &OpenApi) -> BTreeSet<(String, String)> {
    let mut doc = doc.clone();
    doc.paths
        .paths
        .iter_mut()
        .flat_map(|(path, item)| {
            operations_mut(item)
                .map(|(m, _)| (m.to_string(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The serialized document, shared by the requests that fetch it.
#[derive(Clone)]
pub(super) struct Document(Bytes);

impl Document {
    /// `doc` as JSON.
    pub(super) fn of(doc: &OpenApi) -> Self {
        Document(Bytes::from(serde_json::to_vec(doc).unwrap_or_default()))
    }
}

/// The OpenAPI 3.1 document of this API (no login).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "server",
    responses((status = 200, description = "This document", body = Object))
)]
pub(super) async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
}

/// The (method, path) pairs the REST router really routes, methods upper case
/// (HEAD, which axum answers wherever GET is, left out): read from the router
/// itself rather than from the document, so that a route added without its
/// documentation (a plain `.route(…)`) shows up as a difference.
///
/// axum has no API to list routes; its `Debug` form names every path and,
/// per path, the `Allow` value it answers with. A route whose methods cannot
/// be read that way (a service, a layered route, `any`) is listed with the
/// method `?`, which no document has, so it fails a comparison too. Panics if
/// the form no longer has the shape read here (a new axum): fix the reader.
pub fn route_table() -> BTreeSet<(String, String)> {
    let (router, _) = super::api();
    read_routes(&format!("{router:?}"))
}

/// Reads [`route_table`] from a router's `Debug` form.
fn read_routes(debug: &str) -> BTreeSet<(String, String)> {
    let shape = |what: &str| -> ! {
        panic!("the router's Debug form has changed ({what}): adapt rest::openapi::read_routes")
    };
    // Only the router's own routes: not those of its fallback router.
    let start = debug
        .find("path_router: PathRouter {")
        .unwrap_or_else(|| shape("no path_router"));
    let end = debug[start..]
        .find("fallback_router:")
        .map(|e| start + e)
        .unwrap_or(debug.len());
    let own = &debug[start..end];
    let node = own.find("node: Node").unwrap_or_else(|| shape("no node"));
    let (routes, node) = own.split_at(node);

    // Route id → path, from `paths: {RouteId(3): "/v1/apps", …}`.
    let mut paths = std::collections::BTreeMap::new();
    for entry in node.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once(')').unwrap_or_else(|| shape("route id"));
        let path = rest
            .strip_prefix(": \"")
            .and_then(|r| r.split_once('"'))
            .map(|(p, _)| p.to_string())
            .unwrap_or_else(|| shape("path"));
        paths.insert(id.to_string(), path);
    }
    // Route id → methods, from `routes: {RouteId(3): MethodRouter(… allow_header: Bytes(b"GET,HEAD,POST") }), …}`.
    let mut table = BTreeSet::new();
    for entry in routes.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once(')').unwrap_or_else(|| shape("route id"));
        let path = paths
            .get(id)
            .unwrap_or_else(|| shape("a route without path"));
        let allow = rest
            .strip_prefix(": MethodRouter(")
            .and_then(|r| r.split_once("allow_header: Bytes(b\""))
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(a, _)| a);
        let methods: Vec<&str> = match allow {
            Some(a) => a.split(',').collect(),
            None => vec!["?"],
        };
        let has_get = methods.contains(&"GET");
        for m in methods {
            if !(m == "HEAD" && has_get) {
                table.insert((m.to_string(), path.clone()));
            }
        }
    }
    if table.is_empty() {
        shape("no routes");
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{any, get};

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        assert_eq!(route_table(), documented(&openapi()));
    }

    #[test]
    fn the_route_reader_sees_undocumented_routes() {
        let (router, _) = super::super::api();
        let extra = router
            .route("/v1/extra", get(|| async {}).post(|| async {}))
            .route("/v1/anything", any(|| async {}));
        let table = read_routes(&format!("{extra:?}"));
        assert!(table.contains(&("GET".into(), "/v1/extra".into())));
        assert!(table.contains(&("POST".into(), "/v1/extra".into())));
        assert!(table.contains(&("?".into(), "/v1/anything".into())));
        assert!(table.contains(&("PATCH".into(), "/v1/apps/{app}".into())));
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{doc}"
        );
        let text = doc.to_string();
        let prefix = "\"$ref\":\"#/components/schemas/";
        for piece in text.split(prefix).skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "unresolved schema {name}"
            );
        }
        // Every operation that needs a login says so, and the scheme exists.
        assert_eq!(
            doc["components"]["securitySchemes"]["basic"]["scheme"],
            "basic"
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let open = [
                    ("get", "/v1/health"),
                    ("get", "/v1/ready"),
                    ("get", "/metrics"),
                    ("get", "/v1/ca-certificate"),
                    ("get", "/v1/server-certificate"),
                    ("get", "/v1/openapi.json"),
                    ("post", "/v1/session"),
                    ("post", "/v1/session/refresh"),
                ];
                assert_eq!(
                    op.get("security").is_none(),
                    open.contains(&(method.as_str(), path.as_str())),
                    "{method} {path}"
                );
                for (status, r) in op["responses"].as_object().unwrap() {
                    assert!(
                        r["headers"].get("X-Request-Id").is_some(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}
