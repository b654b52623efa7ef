//! KMIP over HTTPS (`POST /kmip`) on a real `skms serve`: vCenter's captured
//! Create (vsphere-kmip.md A4) sent as binary TTLV by curl, then Get in JSON and
//! XML; the response comes in the request's encoding; apps without the REST
//! interface and unknown media types are refused, in the API's error form.

mod common;

use kmip::binary::Limits;
use kmip::enums::{ResultReason, ResultStatus};
use kmip::messages::ResponseMessage;
use kmip::payloads::{GetRequest, ResponsePayload};

/// curl POSTs `body` to `/kmip` as `user`:`password` with `content_type`;
/// returns the HTTP status, the response Content-Type and the body.
fn curl(
    server: &common::Server,
    user: &str,
    password: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let dir = server.dir.parent().unwrap().join(format!(
        "kmip-https-{}-{}",
        std::process::id(),
        body.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (req, resp, head) = (dir.join("req"), dir.join("resp"), dir.join("head"));
    std::fs::write(&req, body).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(server.dir.join("ca.crt"))
        .args(["-u", &format!("{user}:{password}")])
        .args(["-H", &format!("Content-Type: {content_type}")])
        .arg("--data-binary")
        .arg(format!("@{}", req.display()))
        .arg("-o")
        .arg(&resp)
        .arg("-D")
        .arg(&head)
        .args(["-w", "%{http_code}"])
        .arg(format!("https://127.0.0.1:{}/kmip", server.https_port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let headers = std::fs::read_to_string(&head).unwrap().to_ascii_lowercase();
    let ct = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-type:"))
        .unwrap_or("")
        .trim()
        .to_string();
    let body = std::fs::read(&resp).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (status, ct, body)
}

#[test]
fn vcenter_create_as_ttlv_then_get_as_json_and_xml() {
    let dir = common::temp_dir("kmip-https");
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter");
    // The app gets the REST interface (KMIP over HTTPS is on the HTTPS port).
    let (ok, _, err) = server.admin_try(
        &tenant.admin,
        &[
            "app",
            "update",
            "vcenter",
            "--interface",
            "kmip",
            "--interface",
            "rest",
        ],
    );
    assert!(ok, "{err}");
    let (user, pass) = (tenant.username.as_str(), tenant.password.as_str());
    let limits = Limits::default();

    // vCenter's Create, byte for byte, as application/octet-stream.
    // vsphere-kmip.md A4: vCenter 7's Create of an AES-256 key (KMIP 1.1, batch id "QLKC\x01\0\0\0").
    let create = skms_test_support::vcenter::request_bytes("A4.");
    let (status, ct, body) = curl(&server, user, pass, "application/octet-stream", &create);
    assert_eq!((status, ct.as_str()), (200, "application/octet-stream"));
    let r = ResponseMessage::from_ttlv(kmip::binary::decode(&body, &limits).unwrap()).unwrap();
    let item = &r.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    assert_eq!(
        item.unique_batch_item_id.as_ref().map(|b| b.as_ref()),
        Some(&b"QLKC\x01\0\0\0"[..])
    );
    let Some(ResponsePayload::Create(c)) = &item.payload else {
        panic!("{item:?}")
    };
    let uid = c.unique_identifier.clone();

    // Get of that key in JSON and in XML: the same 32 key bytes both ways.
    let get = || {
        common::kmip_request_anonymous(
            GetRequest {
                unique_identifier: Some(uid.clone()),
                ..Default::default()
            }
            .into(),
        )
        .to_ttlv()
    };
    let mut keys = Vec::new();
    for (ct_in, encode, decode) in [
        (
            "application/json",
            kmip::json::to_string as fn(&kmip::Ttlv) -> String,
            kmip::json::from_str as fn(&str, &Limits) -> Result<kmip::Ttlv, kmip::Error>,
        ),
        ("text/xml", kmip::xml::to_string, kmip::xml::from_str),
    ] {
        let (status, ct, body) = curl(&server, user, pass, ct_in, encode(&get()).as_bytes());
        assert_eq!((status, ct.as_str()), (200, ct_in));
        let text = String::from_utf8(body).unwrap();
        let r = ResponseMessage::from_ttlv(decode(&text, &limits).unwrap()).unwrap();
        let item = &r.batch_items[0];
        assert_eq!(item.result_status, ResultStatus::SUCCESS, "{text}");
        let Some(ResponsePayload::Get(g)) = &item.payload else {
            panic!("{text}")
        };
        keys.push(format!("{:?}", g.object));
    }
    assert_eq!(keys[0], keys[1]);

    // Undecodable TTLV is answered in KMIP; an unknown media type is refused by HTTP.
    let (status, _, body) = curl(&server, user, pass, "application/octet-stream", b"\x42\x00");
    assert_eq!(status, 200);
    let r = ResponseMessage::from_ttlv(kmip::binary::decode(&body, &limits).unwrap()).unwrap();
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::OPERATION_FAILED
    );
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::INVALID_MESSAGE)
    );
    let (status, ct, body) = curl(&server, user, pass, "text/plain", &create);
    assert_eq!((status, ct.as_str()), (415, "application/json"));
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(refusal["code"], "unsupported_media_type", "{refusal}");
    assert_eq!(
        refusal["request_id"].as_str().map(str::len),
        Some(36),
        "{refusal}"
    );

    // An app without the REST interface, or a wrong secret: not signed in.
    let (ok, _, err) = server.admin_try(
        &tenant.admin,
        &["app", "update", "vcenter", "--interface", "kmip"],
    );
    assert!(ok, "{err}");
    let (status, _, body) = curl(&server, user, pass, "application/octet-stream", &create);
    assert_eq!(status, 401);
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(refusal["code"], "unauthorized", "{refusal}");
    let (status, _, _) = curl(&server, user, "wrong", "application/octet-stream", &create);
    assert_eq!(status, 401);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
