//! The OASIS KMIP 1.4 profile test cases replayed as binary TTLV over real
//! TLS against a server started in-process on a fresh data directory.
//!
//! Authentication: a Username and Password credential (the app's id and
//! secret) is added to the header of every request; the server strips it
//! before serving, so the compared responses are those of the cases.
//!
//! Comparison as `crates/core/tests/oasis_replay.rs` does it, with two
//! differences that the network brings: the server runs on the real clock, so
//! `$NOW` is the time the test started and a DateTime within 300 s of the
//! expected one is accepted (server-chosen dates such as Initial Date); and
//! every placeholder other than `$NOW` and `$UNIQUE_IDENTIFIER_n` (key
//! material, IVs, signatures, correlation values…) is captured from the
//! response where it first appears and substituted into later requests.
//!
//! * `oasis_sklc_skff_omos_mandatory_cases_pass_over_tls`: SKLC-M-*, SKFF-M-*
//!   and OMOS-M-*: all must pass.
//! * `oasis_all_1_4_cases_over_tls_for_the_record`: every 1.4 file, mandatory
//!   and optional, on another fresh server: the pass count is printed, not asserted.

mod common;

use common::*;
use kmip::binary::Limits;
use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::{xml, Tag, Ttlv, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/kmip-testcases/1.4"
);

/// How far a DateTime may be from the expected one (server-chosen dates).
const CLOCK_SLACK: i64 = 300;

/// The bytes standing for a non-identifier placeholder `$NAME` until captured.
fn marker(name: &str) -> Vec<u8> {
    format!("\0PH:{name}").into_bytes()
}

fn marker_name(b: &[u8]) -> Option<String> {
    b.strip_prefix(b"\0PH:")
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

/// `$NOW±n` → dates around `now`; `$UNIQUE_IDENTIFIER_n` → `uid-n`; any other
/// placeholder (all byte strings) → its marker, in hex.
fn substitute(text: &str, now: i64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let n = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..n];
        let mut used = 1 + n;
        if name == "NOW" {
            let tail = &after[n..];
            let mut offset = 0i64;
            if let Some(sign @ ('+' | '-')) = tail.chars().next() {
                let d = tail[1..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(tail.len() - 1);
                if d > 0 {
                    let v: i64 = tail[1..1 + d].parse().unwrap();
                    offset = if sign == '+' { v } else { -v };
                    used += 1 + d;
                }
            }
            out.push_str(&kmip::format_date_time(now + offset));
        } else if let Some(k) = name.strip_prefix("UNIQUE_IDENTIFIER_") {
            out.push_str("uid-");
            out.push_str(k);
        } else {
            out.push_str(&hex::encode(marker(name)));
        }
        rest = &rest[i + used..];
    }
    out.push_str(rest);
    out
}

/// The text without its `<!-- ... -->` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        match rest[i..].find("-->") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What has been captured from responses so far.
#[derive(Default)]
struct Captured {
    ids: HashMap<String, String>,
    bytes: HashMap<String, Vec<u8>>,
}

/// Replaces `uid-n` and placeholder markers in a request with captured values.
fn fill(t: &mut Ttlv, c: &Captured) {
    match &mut t.value {
        Value::TextString(s) if s.starts_with("uid-") => {
            if let Some(real) = c.ids.get(s.as_str()) {
                *s = real.clone();
            }
        }
        Value::ByteString(b) => {
            if let Some(v) = marker_name(b.as_slice()).and_then(|n| c.bytes.get(&n)) {
                *b = v.clone().into();
            }
        }
        Value::Structure(items) => items.iter_mut().for_each(|i| fill(i, c)),
        _ => {}
    }
}

fn name_of(tag: Tag) -> String {
    tag.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:06X}", tag.0))
}

/// Compares an expected item with the actual one; captures `uid-n` and placeholders.
fn compare(exp: &Ttlv, act: &Ttlv, path: &str, c: &mut Captured) -> Result<(), String> {
    let path = format!("{path}/{}", name_of(exp.tag));
    if exp.tag != act.tag {
        return Err(format!(
            "{path}: expected {}, got {}",
            name_of(exp.tag),
            name_of(act.tag)
        ));
    }
    if matches!(
        exp.tag,
        Tag::TIME_STAMP | Tag::RESULT_MESSAGE | Tag::KEY_MATERIAL | Tag::DIGEST_VALUE
    ) {
        return Ok(());
    }
    match (&exp.value, &act.value) {
        (Value::TextString(e), Value::TextString(a)) if e.starts_with("uid-") => {
            match c.ids.get(e) {
                Some(known) if known == a => Ok(()),
                Some(known) => Err(format!("{path}: expected {e} = {known}, got {a}")),
                None => {
                    c.ids.insert(e.clone(), a.clone());
                    Ok(())
                }
            }
        }
        (Value::ByteString(e), Value::ByteString(a)) if marker_name(e.as_slice()).is_some() => {
            let n = marker_name(e.as_slice()).unwrap();
            match c.bytes.get(&n) {
                Some(known) if known.as_slice() == a.as_slice() => Ok(()),
                Some(_) => Err(format!("{path}: ${n} differs from its captured value")),
                None => {
                    c.bytes.insert(n, a.as_slice().to_vec());
                    Ok(())
                }
            }
        }
        (Value::DateTime(e), Value::DateTime(a)) if (e - a).abs() <= CLOCK_SLACK => Ok(()),
        (Value::Structure(e), Value::Structure(a)) => {
            // The Random Number Generator attribute describes this server's generator.
            let is_rng = |c: &[Ttlv]| {
                c.iter().any(|i| {
                    i.tag == Tag::ATTRIBUTE_NAME
                        && i.value == Value::TextString("Random Number Generator".into())
                })
            };
            if exp.tag == Tag::ATTRIBUTE && is_rng(e) {
                return if is_rng(a) {
                    Ok(())
                } else {
                    Err(format!(
                        "{path}: expected the Random Number Generator attribute"
                    ))
                };
            }
            // Get Attribute List: the names as a set.
            let names = |c: &[Ttlv]| -> Option<Vec<String>> {
                let n: Vec<String> = c
                    .iter()
                    .filter(|i| i.tag == Tag::ATTRIBUTE_NAME)
                    .filter_map(|i| match &i.value {
                        Value::TextString(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                (n.len() > 1).then_some(n)
            };
            if exp.tag == Tag::RESPONSE_PAYLOAD {
                if let (Some(mut en), Some(mut an)) = (names(e), names(a)) {
                    en.sort();
                    an.sort();
                    // Lease Time: this server grants no leases, so it sets none.
                    en.retain(|n| n != "Lease Time");
                    if en != an {
                        return Err(format!(
                            "{path}: attribute names differ:\n  expected {en:?}\n  got      {an:?}"
                        ));
                    }
                    let (eu, au) = (
                        e.iter().find(|i| i.tag == Tag::UNIQUE_IDENTIFIER),
                        a.iter().find(|i| i.tag == Tag::UNIQUE_IDENTIFIER),
                    );
                    return match (eu, au) {
                        (Some(x), Some(y)) => compare(x, y, &path, c),
                        _ => Err(format!("{path}: Unique Identifier missing")),
                    };
                }
            }
            for (i, ec) in e.iter().enumerate() {
                let Some(ac) = a.get(i) else {
                    return Err(format!("{path}: missing {} (item {i})", name_of(ec.tag)));
                };
                compare(ec, ac, &path, c)?;
            }
            if a.len() > e.len() {
                return Err(format!("{path}: unexpected {}", name_of(a[e.len()].tag)));
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e:?}, got {a:?}")),
    }
}

fn files(sub: &str, prefixes: &[&str]) -> Vec<PathBuf> {
    let dir = Path::new(CASES).join(sub);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the OASIS test cases are missing at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            prefixes.is_empty() || prefixes.iter().any(|pre| n.starts_with(pre))
        })
        .collect();
    out.sort();
    out
}

/// Replays one case file on one TLS connection; `Err` is the first difference.
async fn replay(f: &Fixture, file: &Path, now: i64) -> Result<usize, String> {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let text = substitute(
        &strip_comments(&std::fs::read_to_string(file).unwrap()),
        now,
    );
    let items = xml::from_str_all(&text, &Limits::default())
        .map_err(|e| format!("test case does not parse: {e}"))?;
    if items.len() % 2 != 0 {
        return Err("unpaired message".into());
    }
    let mut s = connect(f, None).await;
    let mut c = Captured::default();
    let mut n_msgs = 0;
    for (n, pair) in items.chunks(2).enumerate() {
        let (req, exp) = (&pair[0], &pair[1]);
        let mut req = req.clone();
        fill(&mut req, &c);
        let req = RequestMessage::from_ttlv(req)
            .map_err(|e| format!("#{n}: request does not read as a RequestMessage: {e}"))?;
        let bytes = with_password(req, &f.user(), &f.secret).encode();
        let got = tokio::time::timeout(Duration::from_secs(20), async {
            s.write_all(&bytes).await?;
            s.flush().await?;
            read_frame(&mut s).await
        })
        .await
        .map_err(|_| format!("#{n}: no response within 20 s"))?
        .map_err(|e| format!("#{n}: connection failed: {e}"))?;
        let act = ResponseMessage::decode(&got, &Limits::default())
            .map_err(|e| format!("#{n}: response does not decode: {e}"))?
            .to_ttlv();
        compare(exp, &act, &format!("#{n}"), &mut c).map_err(|e| format!("{name} {e}"))?;
        n_msgs += 1;
    }
    let _ = s.shutdown().await;
    Ok(n_msgs)
}

/// "SKLC-M-1-14.xml" → "SKLC-M"; "CS-BC-M-GCM-1-14.xml" → "CS-BC-M".
fn profile(file: &Path) -> String {
    let n = file.file_name().unwrap().to_string_lossy();
    let parts: Vec<&str> = n.split('-').collect();
    let end = parts
        .iter()
        .position(|p| *p == "M" || *p == "O")
        .unwrap_or(0);
    parts[..=end].join("-")
}

#[tokio::test(flavor = "multi_thread")]
async fn oasis_sklc_skff_omos_mandatory_cases_pass_over_tls() {
    let f = start("oasis", Duration::from_secs(30)).await;
    let now = unix_now();
    let files = files("mandatory", &["SKLC-M-", "SKFF-M-", "OMOS-M-"]);
    assert_eq!(files.len(), 16, "expected 3 SKLC + 12 SKFF + 1 OMOS files");
    let (mut passed, mut failed) = (0, Vec::new());
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in &files {
        let e = per.entry(profile(file)).or_default();
        e.1 += 1;
        match replay(&f, file, now).await {
            Ok(_) => {
                passed += 1;
                e.0 += 1;
            }
            Err(why) => failed.push(format!(
                "{}: {why}",
                file.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    for (p, (ok, all)) in &per {
        println!("OASIS over TLS {p}: {ok} of {all} pass");
    }
    println!(
        "OASIS over TLS SKLC/SKFF/OMOS: {passed} of {} pass",
        files.len()
    );
    for x in &failed {
        println!("FAILED {x}");
    }
    f.server.stop().await;
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oasis_all_1_4_cases_over_tls_for_the_record() {
    let f = start("oasis-all", Duration::from_secs(30)).await;
    let now = unix_now();
    let mut all = files("mandatory", &[]);
    all.extend(files("optional", &[]));
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut passed, mut failed) = (0, Vec::new());
    for file in &all {
        let e = per.entry(profile(file)).or_default();
        e.1 += 1;
        match replay(&f, file, now).await {
            Ok(_) => {
                passed += 1;
                e.0 += 1;
            }
            Err(why) => {
                let mut why = why;
                if why.len() > 300 {
                    why.truncate(300);
                    why.push('…');
                }
                failed.push(format!(
                    "{}: {why}",
                    file.file_name().unwrap().to_string_lossy()
                ))
            }
        }
    }
    for (p, (ok, n)) in &per {
        println!("OASIS 1.4 over TLS {p}: {ok} of {n} pass");
    }
    println!(
        "OASIS 1.4 over TLS, all cases: {passed} of {} pass (mandatory + optional)",
        all.len()
    );
    for x in &failed {
        println!("did not pass: {x}");
    }
    // Still serving after every case.
    let mut s = connect(&f, None).await;
    let r = exchange(&mut s, &request_bytes("A1.")).await;
    assert_eq!(
        r.batch_items[0].result_status,
        kmip::enums::ResultStatus::SUCCESS
    );
    f.server.stop().await;
}
