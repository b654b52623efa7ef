//! A fresh server on a real SQLite store in a temporary directory, with
//! accounts and apps to call it as.
#![allow(dead_code)]

use kmip::binary::Limits;
use kmip::messages::{RequestMessage, ResponseMessage};
use skms_core::keys::FileRoot;
use skms_core::model::AuthMethod;
use skms_core::ops::{handle_message, Caller, Context, ServerInfo};
use skms_core::store::Store;
use skms_core::tenancy::{self, Keyring, NewApp};
use skms_store::SqliteStore;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A server: store, keyring and server information.
pub struct Server {
    pub dir: PathBuf,
    pub store: SqliteStore,
    pub keyring: Keyring,
    pub info: ServerInfo,
    pub now: i64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    /// A fresh server in its own directory.
    pub fn new(now: i64) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "skms-core-ops-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("kms.db")).unwrap();
        let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
        Server {
            dir,
            store,
            keyring: Keyring::new(Arc::new(root)),
            info: ServerInfo::default(),
            now,
        }
    }

    /// An account with one KMIP app in its default group.
    pub fn tenant(&self, name: &str) -> Caller {
        let (account, _) =
            tenancy::create_account(&self.store, self.keyring.root(), name, self.now).unwrap();
        let (app, _) = tenancy::create_app(
            &self.store,
            &self.keyring,
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
            self.now,
        )
        .unwrap();
        Caller::app(app, account)
    }

    /// A context at the server's current time.
    pub fn ctx(&self) -> Context<'_> {
        Context {
            store: &self.store as &dyn Store,
            keyring: &self.keyring,
            now: self.now,
            server: &self.info,
        }
    }

    /// Serves one request as `caller`.
    pub fn call(&self, caller: &Caller, req: RequestMessage) -> ResponseMessage {
        handle_message(&self.ctx(), Some(caller), req)
    }

    /// Serves one binary request as `caller` and re-reads the binary response.
    pub fn call_bytes(&self, caller: &Caller, bytes: &[u8]) -> ResponseMessage {
        let req = RequestMessage::decode(bytes, &Limits::default()).expect("request decodes");
        let resp = self.call(caller, req);
        ResponseMessage::decode(&resp.encode(), &Limits::default()).expect("response re-reads")
    }
}
