//! Shared helpers of the TLS tests: a server started in-process on loopback
//! with an account and a KMIP app, rustls clients (with or without a client
//! certificate), framed request/response exchange, and (from
//! `skms_test_support::vcenter`) the vCenter captures of
//! `shared/interop/vsphere-kmip.md` Appendix A.
#![allow(dead_code)]

use kmip::binary::{frame_len, Limits};
use kmip::enums::{ResultReason, ResultStatus};
use kmip::messages::{ProtocolVersion, ResponseBatchItem, ResponseMessage};
use kmip::payloads::ResponsePayload;
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use skms_core::ids::AppId;
use skms_core::model::{Account, App, AuthMethod};
use skms_core::tenancy::{self, NewApp};
use skms_server::config::Config;
use skms_server::Running;
/// Adds a Username and Password credential to a request's header.
#[allow(unused_imports)]
pub use skms_test_support::requests::with_password;
/// The vCenter captures of `shared/interop/vsphere-kmip.md` Appendix A (each
/// test uses some of them).
#[allow(unused_imports)]
pub use skms_test_support::vcenter::{
    captures, map_uids, raw_aes_256_key, request, request_bytes, with_uid,
};
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

/// A KMIP app (no REST) named `name`, in its account's default group only.
pub fn kmip_app(name: &str, auth_method: AuthMethod) -> NewApp {
    NewApp {
        name: name.into(),
        description: String::new(),
        kmip: true,
        rest: false,
        auth_method,
        groups: vec![],
        default_group: None,
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
    let (account, app, secret) = new_tenant(&server, "acme", "vcenter").await;
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
    let (_, app, secret) = new_tenant(&f.server, name, &format!("{name}-app")).await;
    (app, secret)
}

/// A new account `account` on `server` with the API-key KMIP app `app`: (account, app, secret).
async fn new_tenant(server: &Running, account: &str, app: &str) -> (Account, App, String) {
    let store = server.store.clone();
    let root = server.root.clone();
    let (account, app) = (account.to_string(), app.to_string());
    tokio::task::spawn_blocking(move || {
        let (account, _) = tenancy::create_account(&*store, &*root, &account, 1).unwrap();
        let keyring = skms_core::tenancy::Keyring::new(root.clone());
        let (app, secret) = tenancy::create_app(
            &*store,
            &keyring,
            account.id,
            kmip_app(&app, AuthMethod::ApiKey),
            1,
        )
        .unwrap();
        (account, app, secret.expose().to_string())
    })
    .await
    .unwrap()
}

/// A client certificate and its key.
pub struct ClientCert {
    pub der: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

/// A self-signed client certificate with subject CN `cn`.
pub fn self_signed(cn: &str) -> ClientCert {
    self_signed_pem(cn).0
}

/// Like [`self_signed`], with the certificate and its key also as PEM: (cert, cert PEM, key PEM).
pub fn self_signed_pem(cn: &str) -> (ClientCert, String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.self_signed(&key).unwrap();
    let pem = (cert.pem(), key.serialize_pem());
    (
        ClientCert {
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        },
        pem.0,
        pem.1,
    )
}

/// Pins `cert` to the fixture's app (as the admin would: `tenancy::pin_certificate`).
pub async fn pin(f: &Fixture, cert: &ClientCert) {
    pin_to(f, f.app.id, cert).await;
}

/// Pins `cert` to app `id` of the fixture's server, as it is stored now (an
/// earlier pin may have changed it).
pub async fn pin_to(f: &Fixture, id: AppId, cert: &ClientCert) {
    let store = f.server.store.clone();
    let der = cert.der.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut app = skms_core::store::Store::app(&*store, id).unwrap().unwrap();
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

/// The response to a Discover Versions: Success, KMIP 1.1 among the versions offered.
pub fn assert_discover_versions(r: &ResponseMessage) {
    let item = &r.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    match &item.payload {
        Some(ResponsePayload::DiscoverVersions(p)) => {
            assert!(p.protocol_version.contains(&ProtocolVersion::new(1, 1)))
        }
        other => panic!("{other:?}"),
    }
}

/// A batch item that failed (Operation Failed) for `reason`.
pub fn assert_failed(item: &ResponseBatchItem, reason: ResultReason) {
    assert_eq!(
        item.result_status,
        ResultStatus::OPERATION_FAILED,
        "{item:?}"
    );
    assert_eq!(item.result_reason, Some(reason), "{item:?}");
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
