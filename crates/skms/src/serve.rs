//! `skms serve`: the server, until SIGINT or SIGTERM.

use skms_server::config::{Config, ServeFlags};
use std::process::ExitCode;

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(flags: ServeFlags) -> ExitCode {
    let config = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    skms_server::init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    rt.block_on(async move {
        // Signal handlers first: a stop asked for once we say "listening" must be orderly.
        let signals = skms_server::shutdown_signal();
        let running = match skms_server::start(&config).await {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        for line in &running.created {
            println!("{line}");
        }
        println!("data directory: {}", running.data_dir.display());
        println!(
            "CA certificate: {} (give it to vCenter: \"Make vCenter trust KMS\" / \"Upload KMS certificate\")",
            running.ca_cert_path.display()
        );
        println!(
            "CA certificate SHA-256 fingerprint: {}",
            std::fs::read_to_string(&running.ca_cert_path)
                .ok()
                .and_then(|pem| skms_core::certs::from_pem(&pem).ok())
                .and_then(|ders| ders.first().map(|d| hex::encode(skms_core::certs::fingerprint(d))))
                .unwrap_or_default()
        );
        println!("REST API (HTTPS) listening on {}", running.https_addr);
        println!("KMIP over TLS listening on {}", running.kmip_addr);
        let stop = running.shutdown_handle();
        tokio::spawn(async move {
            signals.await;
            tracing::info!("shutting down");
            let _ = stop.send(());
        });
        running.wait().await;
        println!("stopped");
        ExitCode::SUCCESS
    })
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}
