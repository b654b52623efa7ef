//! Running the real `skms` binary in tests: admin commands, and `skms serve`
//! on free loopback ports, killed when the handle drops.
#![allow(dead_code)]

use skms_test_support::requests;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped, so a failing test leaves no server behind.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Loopback ports for the servers the tests start (see there).
pub use skms_test_support::free_port;

/// A fresh, empty directory under the system temp dir, unique to this process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skms-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `skms ARGS`, requires success, returns standard output.
pub fn skms(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(args)
        .env_remove("SKMS_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skms {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The value after `label` on the line of `text` that has it (`app id (KMIP username): …`).
pub fn after(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` in {text}"));
    line.rsplit(' ').next().unwrap().to_string()
}

/// A running `skms serve`: the process, its KMIP port, what it printed up to
/// "listening on" and what it prints after.
pub struct Server {
    /// The process.
    pub child: Killed,
    /// The KMIP over TLS port on 127.0.0.1.
    pub port: u16,
    /// The REST API (HTTPS) port on 127.0.0.1.
    pub https_port: u16,
    /// The data directory.
    pub dir: PathBuf,
    /// Standard output up to and including the "listening on" line.
    pub stdout: String,
    /// The lines of standard output after that, as the process prints them
    /// (see [`Server::rest_of_stdout`]).
    pub rest: Receiver<String>,
}

/// Starts `skms serve` on `dir` with free loopback ports and waits (60 s at most) until it listens.
pub fn serve(dir: &Path) -> Server {
    serve_logging(dir, None)
}

/// Like [`serve`], with the server's log (debug level) appended to `log`.
pub fn serve_logging(dir: &Path, log: Option<&Path>) -> Server {
    serve_with_args(dir, &[], log)
}

/// A user's login for the admin commands.
#[derive(Clone, Debug)]
pub struct Login {
    /// Login name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// An account made through the REST API, with its admin and one app.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The account admin.
    pub admin: Login,
    /// The app's id (KMIP username).
    pub username: String,
    /// The app's secret (KMIP password).
    pub password: String,
}

/// Sends `signal` ("TERM", "INT") to process `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{signal} {pid}: {status}");
}

impl Server {
    /// Sends `signal` ("TERM", "INT") to the server.
    pub fn signal(&self, signal: &str) {
        send_signal(self.child.0.id(), signal);
    }

    /// Waits at most `limit` for the process to exit: its status and how long it took.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                return Some((status, started.elapsed()));
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server with SIGTERM and requires a clean exit within 10 s.
    pub fn terminate(mut self) {
        self.signal("TERM");
        let (status, _) = self
            .wait_exit(Duration::from_secs(10))
            .expect("skms serve stops within 10 s of SIGTERM");
        assert!(status.success(), "skms serve exited with {status}");
    }

    /// Everything the process printed after "listening on", up to the end of
    /// its standard output (which must come within 5 s: call it once the
    /// process is ending).
    pub fn rest_of_stdout(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rest.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(RecvTimeoutError::Disconnected) => return lines,
                Err(RecvTimeoutError::Timeout) => panic!("standard output still open: {lines:?}"),
            }
        }
    }

    /// The sysadmin login printed at first start.
    pub fn sysadmin(&self) -> Login {
        let line = self
            .stdout
            .lines()
            .find(|l| l.contains("sysadmin login"))
            .unwrap_or_else(|| panic!("no sysadmin line in {}", self.stdout));
        let password = line
            .split("with password ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .to_string();
        Login {
            user: "sysadmin".into(),
            password,
        }
    }

    /// Runs `skms ARGS` against this server's REST API as `login`; returns
    /// (success, stdout, stderr).
    pub fn admin_try(&self, login: &Login, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_skms"))
            .args(args)
            .env_remove("SKMS_CONFIG")
            .env(
                "SKMS_SERVER",
                format!("https://127.0.0.1:{}", self.https_port),
            )
            .env("SKMS_CA_CERT", self.dir.join("ca.crt"))
            .env("SKMS_USER", &login.user)
            .env("SKMS_PASSWORD", &login.password)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Like [`Server::admin_try`], requiring success; returns stdout.
    pub fn admin(&self, login: &Login, args: &[&str]) -> String {
        let (ok, out, err) = self.admin_try(login, args);
        assert!(ok, "skms {args:?} failed: {out}{err}");
        out
    }

    /// Creates account `account` (as the sysadmin) and its app `app` (as the account's admin).
    pub fn tenant(&self, account: &str, app: &str) -> Tenant {
        let made = self.admin(&self.sysadmin(), &["account", "create", account]);
        let admin = Login {
            user: after(&made, "account admin login"),
            password: after(&made, "account admin password"),
        };
        let created = self.admin(&admin, &["app", "create", "--name", app]);
        let username = after(&created, "KMIP username");
        let password = after(&created, "KMIP password");
        assert_eq!(username.len(), 36, "{created}");
        assert_eq!(password.len(), 64, "{created}");
        Tenant {
            admin,
            username,
            password,
        }
    }
}

/// A blocking TLS connection to the KMIP port, trusting the data dir's CA.
pub fn kmip_connect(port: u16, ca: &Path) -> KmipStream {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap())
            .unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Sends one request and reads one response.
pub fn kmip_exchange(
    s: &mut KmipStream,
    request: kmip::messages::RequestMessage,
) -> kmip::messages::ResponseMessage {
    use std::io::{Read, Write};
    s.write_all(&request.encode()).unwrap();
    let mut head = [0u8; 8];
    s.read_exact(&mut head).unwrap();
    let mut body = vec![0u8; kmip::binary::frame_len(&head).unwrap() - 8];
    s.read_exact(&mut body).unwrap();
    kmip::messages::ResponseMessage::decode(
        &[&head[..], &body].concat(),
        &kmip::binary::Limits::default(),
    )
    .unwrap()
}

/// A blocking TLS connection to the KMIP port (see [`kmip_connect`]).
pub type KmipStream = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

/// Creates an AES-256 key ([`create_aes_256`]) over `s` as the app
/// `username`: Success required; its Unique Identifier.
pub fn kmip_create_aes_256(s: &mut KmipStream, username: &str, password: &str) -> String {
    use kmip::payloads::ResponsePayload;
    let r = kmip_exchange(s, kmip_request(username, password, create_aes_256()));
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "{:?}",
        item.result_message
    );
    let Some(ResponsePayload::Create(c)) = &item.payload else {
        panic!("{item:?}")
    };
    c.unique_identifier.clone()
}

/// Gets object `uid` over `s` as the app `username`: Success required; the response payload.
pub fn kmip_get(
    s: &mut KmipStream,
    username: &str,
    password: &str,
    uid: &str,
) -> kmip::payloads::GetResponse {
    use kmip::payloads::{GetRequest, ResponsePayload};
    let get = GetRequest {
        unique_identifier: Some(uid.to_string()),
        ..Default::default()
    };
    let r = kmip_exchange(s, kmip_request(username, password, get.into()));
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "{uid}: {:?}",
        item.result_message
    );
    let Some(ResponsePayload::Get(g)) = &item.payload else {
        panic!("{item:?}")
    };
    *g.clone()
}

/// A one-item KMIP 1.1 request carrying the app's username and password.
pub fn kmip_request(
    username: &str,
    password: &str,
    payload: kmip::payloads::RequestPayload,
) -> kmip::messages::RequestMessage {
    requests::with_password(kmip_request_anonymous(payload), username, password)
}

/// A one-item KMIP 1.1 request without a credential.
pub fn kmip_request_anonymous(
    payload: kmip::payloads::RequestPayload,
) -> kmip::messages::RequestMessage {
    requests::message((1, 1), vec![payload])
}

/// The payload of a Create of an AES-256 symmetric key for Encrypt and Decrypt
/// (usage mask 12), as vCenter asks for one.
pub fn create_aes_256() -> kmip::payloads::RequestPayload {
    kmip::payloads::CreateRequest {
        object_type: kmip::enums::ObjectType::SYMMETRIC_KEY,
        attributes: kmip::attributes::Attributes::new(requests::aes_attributes(256)),
        protection_storage_masks: None,
    }
    .into()
}

/// Runs `openssl ARGS` in `dir`, requiring success; returns standard output.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new P-256 key `key` and a CSR `csr` for it with `subject`, made by the
/// `openssl` command line in `dir`.
pub fn csr_p256(dir: &Path, key: &str, csr: &str, subject: &str) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            subject,
        ],
    );
}

/// Makes `NAME.key` and a self-signed `NAME.crt` in `dir` with `openssl req`:
/// ECDSA P-256, valid 30 days, subject `subject`, `extra` options added.
pub fn self_signed_p256(dir: &Path, name: &str, subject: &str, extra: &[&str]) {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "30",
        "-subj",
        subject,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
}

/// A Python with PyKMIP 0.11.0 (found or bootstrapped by tools/pykmip-python).
pub fn pykmip_python() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/pykmip-python");
    let out = Command::new(script)
        .output()
        .expect("run tools/pykmip-python");
    assert!(
        out.status.success(),
        "PyKMIP is not available: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs PyKMIP's client (tests/pykmip/client.py: Create, Get and the rest of
/// the lifecycle) against `server` with the client certificate `cert` and key
/// `key` (PEM files) and no password: (success, its output).
pub fn pykmip_cert_client(
    server: &Server,
    cert: &Path,
    key: &Path,
    version: &str,
) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pykmip/client.py");
    let out = Command::new(pykmip_python())
        .arg(script)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(server.dir.join("ca.crt"))
        .arg(cert)
        .arg(key)
        .arg(version)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A blocking TLS connection to the KMIP port, trusting the data dir's CA and
/// presenting the client certificate chain `cert` with key `key` (PEM files).
pub fn kmip_connect_with_cert(port: u16, ca: &Path, cert: &Path, key: &Path) -> KmipStream {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    assert!(!chain.is_empty(), "no certificate in {}", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .unwrap_or_else(|e| panic!("no private key in {}: {e}", key.display()));
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap())
            .unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Over `s` (authenticated by its client certificate, no credential in the
/// requests): Create an AES-256 key, then Get it; requires Success for both
/// and 32 bytes of key; returns the key's Unique Identifier.
pub fn kmip_create_get_by_certificate(s: &mut KmipStream) -> String {
    use kmip::payloads::{GetRequest, ResponsePayload};
    let r = kmip_exchange(s, kmip_request_anonymous(create_aes_256()));
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "Create: {:?}",
        item.result_message
    );
    let Some(ResponsePayload::Create(c)) = &item.payload else {
        panic!("{item:?}")
    };
    let uid = c.unique_identifier.clone();
    let get = GetRequest {
        unique_identifier: Some(uid.clone()),
        ..Default::default()
    };
    let r = kmip_exchange(s, kmip_request_anonymous(get.into()));
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "Get {uid}: {:?}",
        item.result_message
    );
    let Some(ResponsePayload::Get(g)) = &item.payload else {
        panic!("{item:?}")
    };
    assert_eq!(g.unique_identifier, uid);
    let kmip::objects::Object::SymmetricKey(k) = &g.object else {
        panic!("{g:?}")
    };
    let bytes = k.key_block.key_bytes().expect("raw key");
    assert_eq!(bytes.as_slice().len(), 32, "an AES-256 key");
    uid
}

/// A blocking HTTPS client of `server`'s REST API that trusts the server CA
/// of its data directory, and the API's base URL (`https://127.0.0.1:PORT`).
pub fn rest_client(server: &Server) -> (reqwest::blocking::Client, String) {
    let pem = std::fs::read(server.dir.join("ca.crt")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    (client, format!("https://127.0.0.1:{}", server.https_port))
}

/// Over the REST API of `base`, `admin` creates the user `name` with `role`,
/// which then changes its one-time password to `password` (so that it can
/// sign in and act): its id and login.
pub fn rest_usable_user(
    client: &reqwest::blocking::Client,
    base: &str,
    admin: &Login,
    name: &str,
    role: &str,
    password: &str,
) -> (String, Login) {
    let resp = client
        .post(format!("{base}/v1/users"))
        .basic_auth(&admin.user, Some(&admin.password))
        .json(&serde_json::json!({ "name": name, "role": role }))
        .send()
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED, "user {name}");
    let made: serde_json::Value = resp.json().unwrap();
    let one_time = made["password"].as_str().unwrap();
    let resp = client
        .put(format!("{base}/v1/me/password"))
        .basic_auth(name, Some(one_time))
        .json(&serde_json::json!({ "old_password": one_time, "new_password": password }))
        .send()
        .unwrap();
    assert_eq!(
        resp.status(),
        reqwest::StatusCode::NO_CONTENT,
        "{name}'s password"
    );
    let login = Login {
        user: name.into(),
        password: password.into(),
    };
    (made["user"]["id"].as_str().unwrap().to_string(), login)
}

/// The cell in column `header` of the first row of `table` that contains
/// `row`, as `skms … --output table` prints a list (a header row, then
/// columns aligned); its first word.
pub fn table_cell(table: &str, row: &str, header: &str) -> String {
    let mut lines = table.lines();
    let head = lines.next().unwrap_or_default();
    let at = head
        .find(header)
        .unwrap_or_else(|| panic!("no column {header} in {table}"));
    let column = head[..at].chars().count();
    let line = lines
        .find(|l| l.contains(row))
        .unwrap_or_else(|| panic!("no row with {row} in {table}"));
    let rest: String = line.chars().skip(column).collect();
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

// ---- the web console's cookies (console_security.rs) ----

/// Like [`rest_client`], but redirects are not followed: a test sees the 303
/// and its `Location`, and each answer's own `Set-Cookie`.
pub fn console_client(server: &Server) -> (reqwest::blocking::Client, String) {
    let pem = std::fs::read(server.dir.join("ca.crt")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (client, format!("https://127.0.0.1:{}", server.https_port))
}

/// One `Set-Cookie` of an answer: name, value and attributes as sent.
#[derive(Clone, Debug)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value (empty when the answer clears it).
    pub value: String,
    /// `Path=/`, `Secure`, `HttpOnly`, `SameSite=Strict`, `Max-Age=0`…
    pub attributes: Vec<String>,
}

impl SetCookie {
    /// The value of attribute `name` (`Path`, `SameSite`, `Max-Age`), or
    /// `Some("")` for a flag (`Secure`, `HttpOnly`) that is present.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.iter().find_map(|a| {
            let (n, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Every `Set-Cookie` of `headers`, parsed.
pub fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<SetCookie> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let mut parts = text.split(';');
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            SetCookie {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
                attributes: parts.map(|a| a.trim().to_string()).collect(),
            }
        })
        .collect()
}

/// The `Set-Cookie` named `name` of `cookies` (there must be one).
pub fn set_cookie<'a>(cookies: &'a [SetCookie], name: &str) -> &'a SetCookie {
    cookies
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no Set-Cookie {name} in {cookies:#?}"))
}

/// Like [`serve_logging`], with `extra` appended to `skms serve`'s arguments
/// (`--storage-url postgres://…`, …).
pub fn serve_with_args(dir: &Path, extra: &[&str], log: Option<&Path>) -> Server {
    serve_on(dir, extra, log, free_port(), free_port())
}

/// Like [`serve_with_args`], on the KMIP port `port` and the HTTPS port
/// `https_port` (a restart where a node was).
pub fn serve_on(
    dir: &Path,
    extra: &[&str],
    log: Option<&Path>,
    port: u16,
    https_port: u16,
) -> Server {
    let errors = log
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{}.stderr", dir.display())));
    if let Some(parent) = errors.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let child = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .arg("--kmip-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--https-addr")
        .arg(format!("127.0.0.1:{https_port}"))
        .args(extra)
        .env_remove("SKMS_CONFIG")
        .env_remove("SKMS_STORAGE_URL")
        .env("SKMS_LOG", if log.is_some() { "debug" } else { "info" })
        .stdout(Stdio::piped())
        // Without a log of the test's own, the errors still go to a file
        // beside the data directory, so that a failed start says why.
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&errors)
                .unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "no listening line in time; got {out:#?}; log:\n{}",
                std::fs::read_to_string(&errors).unwrap_or_default()
            )
        });
        let done = line.contains("KMIP over TLS listening on");
        out.push(line);
        if done {
            break;
        }
    }
    Server {
        child,
        port,
        https_port,
        dir: dir.to_path_buf(),
        stdout: out.join("\n"),
        rest: rx,
    }
}

/// The value of the sample `series` (name with its labels, as printed) in
/// `server`'s `/metrics` (0 when absent).
pub fn metric(server: &Server, series: &str) -> u64 {
    let (client, base) = rest_client(server);
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.trim().parse().unwrap())
}
