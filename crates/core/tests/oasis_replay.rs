//! The OASIS KMIP 1.4 mandatory test cases of the profiles SKLC-M, SKFF-M and
//! OMOS-M replayed through `handle_message` on a fresh SQLite store, in file
//! order: server-chosen identifiers are captured from the responses and
//! substituted into later requests; every expected response item is compared
//! field by field, as `skms_test_support::oasis` describes (what is not
//! compared, and why, is listed there).

mod common;

use kmip::binary::Limits;
use kmip::messages::{RequestMessage, ResponseMessage};
use skms_test_support::oasis::{self, Placeholders, Replay, NOW};

#[test]
fn oasis_sklc_skff_omos_mandatory_cases_pass() {
    let files = oasis::files("mandatory", &["SKLC-M-", "SKFF-M-", "OMOS-M-"]);
    // `$NOW` is the server's clock.
    let server = common::Server::new(NOW);
    let caller = server.tenant("oasis");
    let (mut passed, mut failed) = (0, Vec::new());
    for file in &files {
        let name = oasis::file_name(file);
        let pairs = oasis::read_case(file, NOW, Placeholders::Fixed)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut replay = Replay::exact();
        let mut outcome = Ok(());
        for (n, (req, exp)) in pairs.iter().enumerate() {
            let req = RequestMessage::from_ttlv(replay.fill(req))
                .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
            let resp = server.call(&caller, req);
            // The response survives its binary encoding.
            let bytes = resp.encode();
            let act = ResponseMessage::decode(&bytes, &Limits::default())
                .unwrap_or_else(|e| panic!("{name} #{n}: response does not re-read: {e}"))
                .to_ttlv();
            if let Err(e) = replay.check(n, exp, &act) {
                outcome = Err(e);
                break;
            }
        }
        match outcome {
            Ok(()) => passed += 1,
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    println!("OASIS SKLC/SKFF/OMOS: {passed} of {} pass", files.len());
    for f in &failed {
        println!("FAILED {f}");
    }
    assert_eq!(files.len(), 16, "expected 3 SKLC + 12 SKFF + 1 OMOS files");
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
