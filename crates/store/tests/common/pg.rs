//! Throwaway PostgreSQL clusters for tests: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port (127.0.0.1 only, its
//! socket in that directory), stopped and removed when dropped.
//!
//! Depends on the standard library alone, so that other crates' tests include
//! it too (`#[path = "../../store/tests/common/pg.rs"] mod pg;`).
//!
//! PostgreSQL refuses to run as root: when the tests run as root (CI), the
//! cluster runs as the `postgres` system user that Debian's package creates
//! (`runuser -u postgres --`), and its directory is given to that user. The
//! binaries are found through `SKMS_PG_BIN` (a directory), then `pg_ctl` on
//! PATH (symbolic links followed), then `/usr/lib/postgresql/<newest>/bin`.
//! When PostgreSQL is not installed the test fails and says how to install it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The user the cluster runs as when the tests run as root.
const SYSTEM_USER: &str = "postgres";

/// The database role the tests connect as (a superuser of the cluster).
pub const ROLE: &str = "skms";

/// A running PostgreSQL cluster.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as: Option<String>,
    watchdog: Option<Child>,
}

/// The directory holding `pg_ctl`, `initdb` and `createdb`.
fn find_bin() -> PathBuf {
    let has_all = |d: &Path| {
        ["pg_ctl", "initdb", "createdb"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("SKMS_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            has_all(&dir),
            "SKMS_PG_BIN={} holds no pg_ctl, initdb and createdb",
            dir.display()
        );
        return dir;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if let Ok(real) = d.join("pg_ctl").canonicalize() {
                if let Some(dir) = real.parent().filter(|d| has_all(d)) {
                    return dir.to_path_buf();
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed: these tests start a throwaway cluster and need its \
             server binaries (pg_ctl, initdb, createdb). Install them (Debian: \
             `apt-get install postgresql`, as .ci/run does) or point SKMS_PG_BIN at their directory."
        ),
    }
}

/// True when this process runs as root.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Creates and starts a cluster; panics with the server's log if it cannot.
    pub fn start() -> PgCluster {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let bin = find_bin();
        let run_as = is_root().then(|| SYSTEM_USER.to_string());
        let dir = std::env::temp_dir().join(format!(
            "skms-pg-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        if let Some(user) = &run_as {
            let ok = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "running as root, the cluster runs as the system user {user:?}: \
                 it must exist (Debian's postgresql package creates it)"
            );
        }
        let mut cluster = PgCluster {
            dir,
            bin,
            port: 0,
            run_as,
            watchdog: None,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // A port taken between our probe and the server's bind: try another.
        for attempt in 0..5 {
            cluster.port = skms_test_support::free_port();
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=300 \
                 -c fsync=off -c autovacuum_naptime=1 -c synchronous_commit=off -c full_page_writes=off",
                cluster.port,
                cluster.dir.display()
            );
            let log = cluster.dir.join("server.log").display().to_string();
            let ok = cluster.try_run(
                "pg_ctl",
                &[
                    "-D",
                    &cluster.data(),
                    "-l",
                    &log,
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &opts,
                    "start",
                ],
            );
            if ok {
                break;
            }
            assert!(
                attempt < 4,
                "pg_ctl start failed; the server's log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        cluster.watchdog = cluster.start_watchdog();
        cluster
    }

    /// The data directory.
    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// A command of the cluster's binaries, as the cluster's user.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut c = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.args(args).stdin(Stdio::null()).current_dir(&self.dir);
        c
    }

    fn try_run(&self, program: &str, args: &[&str]) -> bool {
        self.command(program, args)
            .output()
            .map(|o| {
                if !o.status.success() {
                    eprintln!(
                        "{program} failed: {}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
                o.status.success()
            })
            .unwrap_or(false)
    }

    fn run(&self, program: &str, args: &[&str]) {
        assert!(self.try_run(program, args), "{program} failed (see above)");
    }

    /// A shell that stops the cluster and removes its directory once this
    /// process is gone, should it end without dropping the cluster (a shared
    /// cluster in a static, a kill).
    fn start_watchdog(&self) -> Option<Child> {
        let pg_ctl = self.command("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        let mut stop: Vec<String> = vec![pg_ctl.get_program().to_string_lossy().into_owned()];
        stop.extend(pg_ctl.get_args().map(|a| a.to_string_lossy().into_owned()));
        let quoted: Vec<String> = stop.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = quoted.join(" "),
            dir = self.dir.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` of this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!("skms_test_{}", SEQ.fetch_add(1, Ordering::Relaxed));
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", ROLE, &name],
        );
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.try_run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster this test process shares (started on first use, stopped by
/// its watchdog when the process ends).
pub fn shared() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(PgCluster::start)
}

/// The `postgres://` URL of a fresh, empty database of the shared cluster.
pub fn fresh_database_url() -> String {
    shared().fresh_database()
}
