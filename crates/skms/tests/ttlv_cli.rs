//! End-to-end tests of `skms ttlv`: the built binary run on the real vCenter 7.0.3
//! traffic of `shared/interop/vsphere-kmip.md` (Appendix A) and on bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const INTEROP_DOC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/interop/vsphere-kmip.md"
);

/// One hex message of the document, with where it is, for failure messages.
struct Message {
    /// The `### A…` heading and the label before the block (`Request:`).
    label: String,
    hex: String,
}

/// Every fenced block of long hex lines under "## Appendix A".
fn appendix_a() -> Vec<Message> {
    let doc = std::fs::read_to_string(INTEROP_DOC).unwrap_or_else(|e| {
        panic!(
            "cannot read the vCenter interop document {INTEROP_DOC}: {e}\n\
             (these tests expect shared/ beside the repository clone)"
        )
    });
    let start = doc
        .find("\n## Appendix A")
        .expect("the interop document has no \"## Appendix A\" section");
    let section = &doc[start + 1..];
    let section = match section[1..].find("\n## ") {
        Some(end) => &section[..end + 1],
        None => section,
    };
    let mut out = Vec::new();
    let (mut heading, mut label) = (String::new(), String::new());
    let mut block: Option<Vec<&str>> = None;
    for line in section.lines() {
        match &mut block {
            None if line.starts_with("```") => block = Some(Vec::new()),
            None if line.starts_with("### ") => heading = line[4..].to_string(),
            None if !line.trim().is_empty() => label = line.trim().to_string(),
            None => {}
            Some(lines) if line.starts_with("```") => {
                let is_hex = !lines.is_empty()
                    && lines
                        .iter()
                        .all(|l| l.len() >= 32 && l.trim().chars().all(|c| c.is_ascii_hexdigit()));
                if is_hex {
                    out.push(Message {
                        label: format!("{heading} / {label}"),
                        hex: lines.concat(),
                    });
                }
                block = None;
            }
            Some(lines) => lines.push(line.trim()),
        }
    }
    out
}

fn skms(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run skms");
    {
        // Dropping stdin closes it, also when there is nothing to write.
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(data) = stdin {
            pipe.write_all(data).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait for skms");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "skms {args:?} panicked: {stderr}"
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Runs skms and requires success, returning standard output.
fn ok(args: &[&str], stdin: Option<&[u8]>, what: &str) -> String {
    let out = skms(args, stdin);
    assert!(
        out.status.success(),
        "{what}: skms {:?} failed with {}: {}",
        args.iter()
            .map(|a| if a.len() > 40 { "<hex>" } else { a })
            .collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// Runs skms and requires exit status 2 (bad input), returning standard error.
fn bad_input(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = skms(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "skms {args:?} should fail with status 2; stdout: {} stderr: {stderr}",
        stdout(&out)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    stderr
}

fn temp_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ttlv_cli-{}-{name}", std::process::id()))
}

#[test]
fn every_vcenter_message_of_the_interop_document_decodes() {
    let messages = appendix_a();
    // 16 requests and 8 responses at the time of writing.
    assert!(
        messages.len() >= 24,
        "expected at least 24 hex messages under Appendix A of {INTEROP_DOC}, found {}",
        messages.len()
    );
    let mut all_trees = String::new();
    for m in &messages {
        let bytes = hex::decode(&m.hex).unwrap_or_else(|e| panic!("{}: not hex: {e}", m.label));
        // The document's bytes are whole messages: the header's length covers the rest
        // exactly. (Checked on its own so that a block cut short in the document is
        // reported as that, not as a decoder bug.)
        let declared = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize + 8;
        assert_eq!(
            declared,
            bytes.len(),
            "{}: the document's block is {} bytes but its header declares {declared}: \
             the bytes in the document are truncated or padded",
            m.label,
            bytes.len()
        );
        let tree = ok(&["ttlv", "decode", &m.hex], None, &m.label);
        let first = tree.lines().next().unwrap_or_default();
        assert!(
            first == "Request Message (Structure)" || first == "Response Message (Structure)",
            "{}: {tree}",
            m.label
        );
        let again = ok(&["ttlv", "decode", "--to", "hex", &m.hex], None, &m.label);
        assert_eq!(
            again.trim_end(),
            m.hex,
            "{}: decode --to hex must give back the input bytes",
            m.label
        );
        all_trees.push_str(&tree);
    }
    for name in [
        "Unique Batch Item ID (ByteString): 514c4b4301000000",
        "Cryptographic Usage Mask",
        "Attribute Value (Integer): Encrypt|Decrypt (0x0000000C)",
        "Attribute Value (Enumeration): AES (0x00000003)",
        "Object Type (Enumeration): SymmetricKey (0x00000002)",
        "Symmetric Key (Structure)",
        "Key Format Type (Enumeration): Raw (0x00000001)",
        "Operation (Enumeration): DiscoverVersions (0x0000001E)",
        "Query Function (Enumeration): QueryServerInformation (0x00000003)",
        "Attribute Value (Enumeration): PreActive (0x00000001)",
        "Attribute Name (TextString): \"x-Product_Version\"",
        "Result Reason (Enumeration): InvalidMessage (0x00000004)",
        "Time Stamp (DateTime): 2025-04-03T",
    ] {
        assert!(
            all_trees.contains(name),
            "no tree shows {name:?}:\n{all_trees}"
        );
    }
}

#[test]
fn every_input_form_gives_the_same_message() {
    let m = &appendix_a()[0];
    let bytes = hex::decode(&m.hex).unwrap();
    let want = ok(&["ttlv", "decode", &m.hex], None, "hex argument");
    // hex pasted with separators, split over several arguments
    let spaced: Vec<String> = bytes.iter().map(|b| format!("0x{b:02X}")).collect();
    let mut args = vec!["ttlv", "decode"];
    args.extend(spaced.iter().map(String::as_str));
    assert_eq!(ok(&args, None, "spaced hex"), want);
    // hex on standard input, as xxd -p writes it
    let wrapped: String = m
        .hex
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(
        ok(
            &["ttlv", "decode", "-"],
            Some(wrapped.as_bytes()),
            "stdin hex"
        ),
        want
    );
    // raw binary from a file and from standard input
    let path = temp_path("a1.bin");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(ok(&["ttlv", "decode", "--file", p], None, "file"), want);
    assert_eq!(
        ok(
            &["ttlv", "decode", "--file", "-"],
            Some(&bytes),
            "stdin binary"
        ),
        want
    );
    // a file that does not exist is an I/O error (1), not bad input (2)
    let out = skms(&["ttlv", "decode", "--file", "/nonexistent/x.bin"], None);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_file(&path).ok();
}

#[test]
fn json_and_xml_round_trip_every_message() {
    for m in appendix_a() {
        for format in ["json", "xml"] {
            let text = ok(&["ttlv", "decode", "--to", format, &m.hex], None, &m.label);
            let hex = ok(
                &["ttlv", "encode", "--from", format, "-"],
                Some(text.as_bytes()),
                &m.label,
            );
            assert_eq!(
                hex.trim_end(),
                m.hex,
                "{}: decode --to {format} | encode --from {format} must give back the bytes\n{text}",
                m.label
            );
            // the format is recognised without --from, and --out writes raw bytes
            let path = temp_path(&format!("out.{format}.bin"));
            let p = path.to_str().unwrap();
            ok(
                &["ttlv", "encode", "--out", p, "-"],
                Some(text.as_bytes()),
                &m.label,
            );
            assert_eq!(std::fs::read(&path).unwrap(), hex::decode(&m.hex).unwrap());
            std::fs::remove_file(&path).ok();
            let out = skms(
                &["ttlv", "encode", "--out", "-", "--from", format, "-"],
                Some(text.as_bytes()),
            );
            assert!(out.status.success(), "{}", m.label);
            assert_eq!(out.stdout, hex::decode(&m.hex).unwrap(), "{}", m.label);
        }
    }
}

#[test]
fn bad_input_exits_2_and_names_the_offset() {
    let m = &appendix_a()[0];
    // odd number of hex digits
    let e = bad_input(&["ttlv", "decode", &m.hex[..m.hex.len() - 1]], None);
    assert!(
        e.contains("odd number of hex digits") && e.contains("offset"),
        "{e}"
    );
    // not hex at all
    let e = bad_input(&["ttlv", "decode", "42007801zz"], None);
    assert!(e.contains("'z' at character 9"), "{e}");
    // a message cut short: the last item's value is missing
    let e = bad_input(&["ttlv", "decode", &m.hex[..m.hex.len() - 16]], None);
    assert!(e.contains("at offset 0") && e.contains("truncated"), "{e}");
    // the same cut with the message length fixed up: the Batch Item (at offset 72,
    // after the 8-byte message header and the 64-byte Request Header) is short
    assert!(
        m.hex.starts_with("4200780100000060"),
        "A1 is the first message"
    );
    let cut = format!("4200780100000054{}", &m.hex[16..m.hex.len() - 24]);
    let e = bad_input(&["ttlv", "decode", &cut], None);
    assert!(
        e.contains("at offset 72, tag Batch Item (0x42000F): truncated: needs 24 bytes, 12 left"),
        "{e}"
    );
    // a structure that claims 4 GiB
    let e = bad_input(&["ttlv", "decode", "420078 01 FFFFFFFF"], None);
    assert!(
        e.contains("at offset 0, tag Request Message (0x420078): truncated"),
        "{e}"
    );
    // a text string inside a message that claims 4 GiB
    let e = bad_input(
        &[
            "ttlv",
            "decode",
            "420078 01 00000010 420094 07 FFFFFFFF 0000000000000000",
        ],
        None,
    );
    assert!(
        e.contains("at offset 8, tag Unique Identifier (0x420094): truncated"),
        "{e}"
    );
    // bytes after the message
    let e = bad_input(&["ttlv", "decode", &format!("{}00", m.hex)], None);
    assert!(e.contains(&format!("at offset {}", m.hex.len() / 2)), "{e}");
    // size limit, for hex and for raw binary
    let e = bad_input(&["ttlv", "decode", "--max-size", "64", &m.hex], None);
    assert!(e.contains("exceeds the limit of 64"), "{e}");
    let bytes = hex::decode(&m.hex).unwrap();
    let e = bad_input(
        &["ttlv", "decode", "--max-size", "64", "--file", "-"],
        Some(&bytes),
    );
    assert!(e.contains("larger than the limit of 64"), "{e}");
    // empty input, no input, both inputs
    let e = bad_input(&["ttlv", "decode", "--file", "-"], Some(b""));
    assert!(e.contains("at offset 0") && e.contains("truncated"), "{e}");
    bad_input(&["ttlv", "decode", "-"], Some(b"  \n"));
    bad_input(&["ttlv", "decode"], None);
    bad_input(&["ttlv", "decode", "--file", "-", &m.hex], None);
    // text that is neither JSON nor XML, broken JSON and XML, a message over the limit
    let e = bad_input(&["ttlv", "encode", "hello"], None);
    assert!(e.contains("--from"), "{e}");
    let e = bad_input(
        &[
            "ttlv",
            "encode",
            "{\"tag\": \"RequestMessage\", \"value\": [",
        ],
        None,
    );
    assert!(e.contains("JSON"), "{e}");
    let e = bad_input(
        &["ttlv", "encode", "--from", "xml", "<RequestMessage>"],
        None,
    );
    assert!(e.contains("XML"), "{e}");
    let json = ok(&["ttlv", "decode", "--to", "json", &m.hex], None, "json");
    bad_input(
        &["ttlv", "encode", "--max-size", "64", "-"],
        Some(json.as_bytes()),
    );
}

#[test]
fn check_reads_every_message_as_typed_kmip() {
    for m in appendix_a() {
        let out = skms(&["ttlv", "decode", "--check", &m.hex], None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{}: {stderr}", m.label);
        assert!(stderr.starts_with("valid KMIP 1."), "{}: {stderr}", m.label);
    }
    let get = appendix_a()
        .into_iter()
        .find(|m| m.label.starts_with("A9.") && m.label.contains("Request"))
        .expect("A9");
    let out = skms(
        &["ttlv", "decode", "--check", "--to", "hex", &get.hex],
        None,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "valid KMIP 1.1 request, 1 batch item(s): Get"
    );

    // Well-formed TTLV, but a Unique Identifier that is an Integer is not KMIP.
    let json = r#"{"tag":"RequestMessage","value":[
        {"tag":"RequestHeader","value":[
            {"tag":"ProtocolVersion","value":[
                {"tag":"ProtocolVersionMajor","type":"Integer","value":1},
                {"tag":"ProtocolVersionMinor","type":"Integer","value":1}]},
            {"tag":"BatchCount","type":"Integer","value":1}]},
        {"tag":"BatchItem","value":[
            {"tag":"Operation","type":"Enumeration","value":"Get"},
            {"tag":"RequestPayload","value":[{"tag":"UniqueIdentifier","type":"Integer","value":2}]}]}]}"#;
    let hex = ok(&["ttlv", "encode", json], None, "encode the bad Get");
    ok(
        &["ttlv", "decode", hex.trim()],
        None,
        "without --check the tree is shown",
    );
    let err = bad_input(&["ttlv", "decode", "--check", hex.trim()], None);
    assert!(
        err.contains("Unique Identifier (0x420094): expected TextString, found Integer"),
        "{err}"
    );
}
