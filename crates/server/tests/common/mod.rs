//! Shared helpers of the TLS tests: a server started in-process on loopback
//! with an account and a KMIP app, rustls clients (with or without a client
//! certificate), framed request/response exchange, and the vCenter captures of
//! `shared/interop/vsphere-kmip.md` Appendix A. Copied from `kmip_tls.rs` and
//! `crates/core/tests/vcenter_conversation.rs`, extended.
#![allow(dead_code)]

use kmip::binary::{frame_len, Limits};
use kmip::messages::{
    Authentication, Credential, RequestMessage, ResponseMessage, SecretString, UsernameAndPassword,
};
use kmip::payloads::RequestPayload;
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use skms_core::model::{Account, App, AuthMethod};
use skms_core::tenancy::{self, NewApp};
use skms_server::config::Config;
use skms_server::Running;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "skms-server-{}-{name}-{}",
            std::process::id(),
            skms_core::ids::ObjectId::new()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server with one account and one KMIP app (API-key secret).
pub struct Fixture {
    pub server: Running,
    pub _dir: TempDir,
    pub account: Account,
    pub app: App,
    /// The app's secret: the KMIP password (the username is the app id).
    pub secret: String,
    pub ca: CertificateDer<'static>,
}

impl Fixture {
    /// The username of the app's KMIP credential.
    pub fn user(&self) -> String {
        self.app.id.to_string()
    }
}

/// Starts a server with `idle_timeout` and creates account "acme" with app "vcenter".
pub async fn start(name: &str, idle_timeout: Duration) -> Fixture {
    start_with(name, idle_timeout, |_| {}).await
}

/// Like [`start`], with the configuration changed by `configure` first.
pub async fn start_with(
    name: &str,
    idle_timeout: Duration,
    configure: impl FnOnce(&mut Config),
) -> Fixture {
    let dir = TempDir::new(name);
    let mut config = Config {
        data_dir: dir.0.join("data"),
        kmip_addr: "127.0.0.1:0".parse().unwrap(),
        https_addr: "127.0.0.1:0".parse().unwrap(),
        idle_timeout,
        handshake_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    configure(&mut config);
    let server = skms_server::start(&config).await.unwrap();
    let store = server.store.clone();
    let root = server.root.clone();
    let (account, app, secret) = tokio::task::spawn_blocking(move || {
        let (account, _) = tenancy::create_account(&*store, &*root, "acme", 1).unwrap();
        let keyring = skms_core::tenancy::Keyring::new(root.clone());
        let (app, secret) = tenancy::create_app(
            &*store,
            &keyring,
            account.id,
            NewApp {
                name: "vcenter".into(),
                description: String::new(),
                kmip: true,
                rest: false,
                auth_method: AuthMethod::ApiKey,
                groups: vec![],
                default_group: None,
            },
            1,
        )
        .unwrap();
        (account, app, secret.expose().to_string())
    })
    .await
    .unwrap();
    let ca = skms_server::init::read_cert_pem(&server.ca_cert_path).unwrap()[0].clone();
    Fixture {
        server,
        _dir: dir,
        account,
        app,
        secret,
        ca,
    }
}

/// Another app (in its own account) on the same server: (app, secret).
pub async fn other_tenant(f: &Fixture, name: &str) -> (App, String) {
    let store = f.server.store.clone();
    let root = f.server.root.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let (account, _) = tenancy::create_account(&*store, &*root, &name, 1).unwrap();
        let keyring = skms_core::tenancy::Keyring::new(root.clone());
        let (app, secret) = tenancy::create_app(
            &*store,
            &keyring,
            account.id,
            NewApp {
                name: format!("{name}-app"),
                description: String::new(),
                kmip: true,
                rest: false,
                auth_method: AuthMethod::ApiKey,
                groups: vec![],
                default_group: None,
            },
            1,
        )
        .unwrap();
        (app, secret.expose().to_string())
    })
    .await
    .unwrap()
}

/// A client certificate and its key.
pub struct ClientCert {
    pub der: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

pub fn self_signed(cn: &str) -> ClientCert {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.self_signed(&key).unwrap();
    ClientCert {
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// Pins `cert` to the fixture's app (as the admin would: `tenancy::pin_certificate`).
pub async fn pin(f: &Fixture, cert: &ClientCert) {
    let store = f.server.store.clone();
    let mut app = f.app.clone();
    let der = cert.der.to_vec();
    tokio::task::spawn_blocking(move || {
        tenancy::pin_certificate(&*store, &mut app, &der).unwrap();
    })
    .await
    .unwrap();
}

pub fn client_config(f: &Fixture, cert: Option<&ClientCert>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(f.ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match cert {
        Some(c) => builder
            .with_client_auth_cert(vec![c.der.clone()], c.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

pub async fn connect_with(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// Like [`connect_with`], from the loopback source address `from` (e.g. 127.0.0.2).
pub async fn connect_from(
    config: Arc<rustls::ClientConfig>,
    from: std::net::IpAddr,
    addr: SocketAddr,
) -> TlsStream<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

pub async fn connect(f: &Fixture, cert: Option<&ClientCert>) -> TlsStream<TcpStream> {
    connect_with(client_config(f, cert), f.server.kmip_addr).await
}

/// Reads one response frame: its bytes.
pub async fn read_frame<S: AsyncReadExt + Unpin>(s: &mut S) -> std::io::Result<Vec<u8>> {
    let mut head = [0u8; 8];
    s.read_exact(&mut head).await?;
    let len = frame_len(&head).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response header")
    })?;
    if len > 16 * 1024 * 1024 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("response frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    buf[..8].copy_from_slice(&head);
    s.read_exact(&mut buf[8..]).await?;
    Ok(buf)
}

/// Sends `request` and reads the response within 10 s: (bytes, decoded).
pub async fn exchange_raw(
    s: &mut TlsStream<TcpStream>,
    request: &[u8],
) -> (Vec<u8>, ResponseMessage) {
    let bytes = tokio::time::timeout(Duration::from_secs(10), async {
        s.write_all(request).await.unwrap();
        s.flush().await.unwrap();
        read_frame(s).await.unwrap()
    })
    .await
    .expect("the server answers within 10 s");
    let r = ResponseMessage::decode(&bytes, &Limits::default()).expect("response decodes");
    (bytes, r)
}

pub async fn exchange(s: &mut TlsStream<TcpStream>, request: &[u8]) -> ResponseMessage {
    exchange_raw(s, request).await.1
}

/// Adds a Username and Password credential to the header.
pub fn with_password(mut r: RequestMessage, username: &str, password: &str) -> RequestMessage {
    r.header.authentication = Some(Authentication {
        credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
            username: username.into(),
            password: Some(SecretString(password.into())),
        })],
    });
    r
}

/// (section title, "Request" or "Response", bytes) for every hex block of Appendix A.
pub fn captures() -> Vec<(String, &'static str, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/interop/vsphere-kmip.md"
    );
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let appendix = &doc[doc.find("## Appendix A").expect("Appendix A")..];
    let end = appendix.find("## Appendix B").unwrap_or(appendix.len());
    let mut out = Vec::new();
    let (mut title, mut kind) = (String::new(), "Request");
    let mut lines = appendix[..end].lines();
    while let Some(line) = lines.next() {
        if let Some(t) = line.strip_prefix("### ") {
            title = t.to_string();
        } else if line.starts_with("Request:") {
            kind = "Request";
        } else if line.ends_with("response:") {
            kind = "Response";
        } else if line.starts_with("```") {
            let body = lines.next().unwrap_or_default().trim();
            lines.next();
            if !body.is_empty() && body.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push((title.clone(), kind, hex::decode(body).expect("hex")));
            }
        }
    }
    out
}

/// The request bytes of the section whose title starts with `title` ("A4.").
pub fn request_bytes(title: &str) -> Vec<u8> {
    captures()
        .into_iter()
        .find(|(t, k, _)| t.starts_with(title) && *k == "Request")
        .unwrap_or_else(|| panic!("no request in {title}"))
        .2
}

/// The typed request of section `title`.
pub fn request(title: &str) -> RequestMessage {
    RequestMessage::decode(&request_bytes(title), &Limits::default()).expect("decodes")
}

/// Puts the server's identifiers where vCenter named PyKMIP's: each Unique
/// Identifier "1" or "2" becomes `map("1")` / `map("2")`.
pub fn map_uids(mut m: RequestMessage, map: &dyn Fn(&str) -> String) -> RequestMessage {
    for item in &mut m.batch_items {
        let slot = match &mut item.payload {
            RequestPayload::GetAttributes(p) => &mut p.unique_identifier,
            RequestPayload::AddAttribute(p) => &mut p.unique_identifier,
            RequestPayload::Get(p) => &mut p.unique_identifier,
            RequestPayload::Activate(p) => &mut p.unique_identifier,
            other => panic!("unexpected payload {other:?}"),
        };
        if let Some(uid) = slot.as_mut() {
            *uid = map(uid);
        }
    }
    m
}

/// Sets every Unique Identifier of the request to `uid`.
pub fn with_uid(m: RequestMessage, uid: &str) -> RequestMessage {
    map_uids(m, &|_| uid.to_string())
}

/// A 36-character hyphenated hexadecimal UUID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
