//! One KMIP client connection of `skms bench kmip`: TLS to one server, the
//! request header the run asks for (version, credential), vCenter's batch
//! item IDs, and the check that every answer is a success of the operation
//! asked for. Failures are [`Bad`]s, counted by kind in [`Errors`].

use kmip::binary::{frame_len, Limits};
use kmip::enums::{Operation, ResultStatus};
use kmip::messages::{
    Authentication, Credential, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage,
    ResponseBatchItem, ResponseMessage, SecretString, UsernameAndPassword,
};
use kmip::payloads::{DiscoverVersionsRequest, RequestPayload, ResponsePayload};
use kmip::Bytes;
use rustls::pki_types::ServerName;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Where and how to connect, and what every request carries.
pub struct Target {
    /// The servers, in the order given; connection i goes to `addrs[i % n]`.
    pub addrs: Vec<SocketAddr>,
    pub server_name: ServerName<'static>,
    pub connector: TlsConnector,
    /// How long a connection (TCP and TLS) or one request may take.
    pub timeout: Duration,
    /// KMIP version of every request.
    pub version: ProtocolVersion,
    /// The Username and Password credential, when the run has one.
    pub credential: Option<(String, String)>,
    /// Send the credential only until one request of the connection succeeded.
    pub credential_once: bool,
}

/// A failed request or check: a short kind (counted) and the detail of the
/// first case; `broken` when the connection cannot be used any more.
pub struct Bad {
    pub kind: String,
    pub detail: String,
    pub broken: bool,
}

impl Bad {
    /// A failure that leaves the connection usable (a KMIP error, a wrong answer).
    pub fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Bad {
            kind: kind.into(),
            detail: detail.into(),
            broken: false,
        }
    }

    /// A transport failure: the connection must be reopened.
    fn broken(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Bad {
            broken: true,
            ..Bad::new(kind, detail)
        }
    }
}

/// Failures, by kind, with the first detail of each.
#[derive(Default)]
pub struct Errors(pub BTreeMap<String, (u64, String)>);

impl Errors {
    pub fn add(&mut self, bad: Bad) {
        let e = self.0.entry(bad.kind).or_insert((0, bad.detail));
        e.0 += 1;
    }
    pub fn merge(&mut self, other: Errors) {
        for (kind, (n, detail)) in other.0 {
            self.0.entry(kind).or_insert((0, detail)).0 += n;
        }
    }
    pub fn total(&self) -> u64 {
        self.0.values().map(|(n, _)| n).sum()
    }
}

/// One open TLS connection to one server.
pub struct Session {
    conn: TlsStream<TcpStream>,
    /// A request of this connection succeeded (for `credential_once`).
    authenticated: bool,
    /// vCenter's batch item IDs: "QLKC" and a little-endian counter.
    next_id: u32,
    /// Requests sent on this connection.
    pub requests: u64,
    /// Its TLS handshake resumed an earlier session (no certificates sent,
    /// no signature made or checked).
    pub resumed: bool,
}

impl Session {
    /// Opens a TLS connection to server `server` (TCP_NODELAY: one small
    /// request at a time); with `discover`, sends vCenter's opening Discover
    /// Versions (empty payload, no batch item ID) and checks its answer.
    pub async fn open(target: &Target, server: usize, discover: bool) -> Result<Session, Bad> {
        let addr = target.addrs[server];
        let open = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| Bad::broken("connect failed", format!("{addr}: {e}")))?;
            tcp.set_nodelay(true)
                .map_err(|e| Bad::broken("connect failed", format!("TCP_NODELAY: {e}")))?;
            target
                .connector
                .connect(target.server_name.clone(), tcp)
                .await
                .map_err(|e| Bad::broken("TLS handshake failed", format!("{addr}: {e}")))
        };
        let conn = tokio::time::timeout(target.timeout, open)
            .await
            .map_err(|_| {
                Bad::broken("connect timed out", format!("{addr}: {:?}", target.timeout))
            })??;
        let resumed = conn.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        let mut session = Session {
            conn,
            authenticated: false,
            next_id: 1,
            requests: 0,
            resumed,
        };
        if discover {
            let request = RequestMessage {
                header: header(target, 1, None),
                batch_items: vec![item(
                    Operation::DISCOVER_VERSIONS,
                    DiscoverVersionsRequest::default().into(),
                    None,
                )],
            };
            let [answer] = <[ResponseBatchItem; 1]>::try_from(session.send(target, request).await?)
                .map_err(|_| Bad::new("wrong number of batch items", "Discover Versions"))?;
            ok(&answer, Operation::DISCOVER_VERSIONS)?;
        }
        Ok(session)
    }

    /// Sends one request of `items` (a batch when more than one) and returns
    /// the answers, one per item, in order; each carries its batch item ID
    /// back. Whether each answer is a success is the caller's check ([`ok`]).
    pub async fn call(
        &mut self,
        target: &Target,
        items: Vec<(Operation, RequestPayload)>,
    ) -> Result<Vec<ResponseBatchItem>, Bad> {
        let count = items.len();
        let mut ids = Vec::with_capacity(count);
        let batch_items = items
            .into_iter()
            .map(|(op, payload)| {
                let mut id = b"QLKC".to_vec();
                id.extend_from_slice(&self.next_id.to_le_bytes());
                self.next_id = self.next_id.wrapping_add(1);
                ids.push(id.clone());
                item(op, payload, Some(Bytes::new(id)))
            })
            .collect();
        let credential = if target.credential_once && self.authenticated {
            None
        } else {
            target.credential.as_ref()
        };
        let request = RequestMessage {
            header: header(target, count as i32, credential),
            batch_items,
        };
        let answers = self.send(target, request).await?;
        if answers.len() != count {
            return Err(Bad::new(
                "wrong number of batch items",
                format!("{} answers to {count} items", answers.len()),
            ));
        }
        for (answer, id) in answers.iter().zip(&ids) {
            if answer.unique_batch_item_id.as_ref().map(|b| b.as_slice()) != Some(id.as_slice()) {
                return Err(Bad::new(
                    "batch item ID not echoed",
                    format!("{:?}", answer.unique_batch_item_id),
                ));
            }
        }
        if answers
            .iter()
            .any(|a| a.result_status == ResultStatus::SUCCESS)
        {
            self.authenticated = true;
        }
        Ok(answers)
    }

    /// Writes `request`, reads and decodes its answer (within the timeout).
    async fn send(
        &mut self,
        target: &Target,
        request: RequestMessage,
    ) -> Result<Vec<ResponseBatchItem>, Bad> {
        let bytes = request.encode();
        self.requests += 1;
        let answer = tokio::time::timeout(target.timeout, exchange(&mut self.conn, &bytes))
            .await
            .map_err(|_| Bad::broken("timed out", format!("no answer in {:?}", target.timeout)))?
            .map_err(|e| Bad::broken("connection failed", e.to_string()))?;
        let response = ResponseMessage::decode(&answer, &Limits::default()).map_err(|e| {
            // Out of step with the server: the connection is of no more use.
            Bad::broken("undecodable response", e.to_string())
        })?;
        Ok(response.batch_items)
    }

    /// Ends the connection with a TLS close_notify (a vCenter client closes
    /// after each logical action).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.shutdown()).await;
    }
}

/// The request header: the run's version, the credential when given.
fn header(
    target: &Target,
    batch_count: i32,
    credential: Option<&(String, String)>,
) -> RequestHeader {
    RequestHeader {
        protocol_version: target.version.clone(),
        authentication: credential.map(|(username, password)| Authentication {
            credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
                username: username.clone(),
                password: Some(SecretString(password.clone())),
            })],
        }),
        batch_count,
        ..Default::default()
    }
}

fn item(operation: Operation, payload: RequestPayload, id: Option<Bytes>) -> RequestBatchItem {
    RequestBatchItem {
        operation,
        ephemeral: None,
        unique_batch_item_id: id,
        payload,
        message_extension: None,
    }
}

/// Checks that `answer` is a success of `operation` and returns its payload.
pub fn ok(answer: &ResponseBatchItem, operation: Operation) -> Result<&ResponsePayload, Bad> {
    if answer.result_status != ResultStatus::SUCCESS {
        let reason = answer
            .result_reason
            .map(|r| r.to_string())
            .unwrap_or_else(|| "no reason".into());
        return Err(Bad::new(
            format!("{operation}: {} ({reason})", answer.result_status),
            answer.result_message.clone().unwrap_or_default(),
        ));
    }
    if answer.operation != Some(operation) {
        return Err(Bad::new(
            format!("{operation}: wrong operation in the answer"),
            format!("{:?}", answer.operation),
        ));
    }
    answer.payload.as_ref().ok_or_else(|| {
        Bad::new(
            format!("{operation}: no response payload"),
            "success without a payload",
        )
    })
}

/// Sends one request and reads one framed response.
async fn exchange(conn: &mut TlsStream<TcpStream>, request: &[u8]) -> std::io::Result<Vec<u8>> {
    conn.write_all(request).await?;
    conn.flush().await?;
    let mut head = [0u8; 8];
    conn.read_exact(&mut head).await?;
    let len = frame_len(&head).unwrap_or(0);
    if len < head.len() || len > Limits::default().max_message_size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("response frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    buf[..8].copy_from_slice(&head);
    conn.read_exact(&mut buf[8..]).await?;
    Ok(buf)
}
