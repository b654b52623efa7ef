//! The OASIS KMIP 1.4 profile test cases (XML encoding): where they are,
//! their placeholders, and the comparison of a server's responses with the
//! expected ones.
//!
//! Replaying a case is: [`read_case`] for its (request, expected response)
//! pairs; for each pair, [`Replay::fill`] the request with what earlier
//! responses returned, send it (the caller's business), and [`Replay::check`]
//! the response. What the comparison leaves out, and why: the Time Stamp (the
//! server's clock), Result Message texts (free text), generated key material
//! and its Digest Value, the Random Number Generator attribute's value (this
//! server reports its own generator, a CTR-DRBG, where the cases show ANSI
//! X9.31), the order of Get Attribute List names (the specification fixes
//! none) and the Lease Time name among them (this server grants no leases).

use kmip::{xml, Tag, Ttlv, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The folder of the test cases: `shared/kmip-testcases` beside the repository.
pub const TESTCASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/kmip-testcases"
);

/// The fixed time `$NOW` stands for where the server's clock is ours to set.
pub const NOW: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

/// The KMIP 1.4 test cases' folder (`mandatory/` and `optional/` below it).
pub fn dir() -> PathBuf {
    let dir = Path::new(TESTCASES).join("1.4");
    assert!(
        dir.is_dir(),
        "the OASIS KMIP test cases are missing: expected them at {} \
         (the `shared/` folder beside the repository)",
        dir.display()
    );
    dir
}

/// Every `.xml` file below [`dir`], in sorted order, folder by folder.
pub fn all_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "xml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir(), &mut out);
    out
}

/// The `.xml` files of `dir()/sub` whose names start with one of `prefixes`
/// (all of them when `prefixes` is empty), sorted.
pub fn files(sub: &str, prefixes: &[&str]) -> Vec<PathBuf> {
    let dir = Path::new(TESTCASES).join("1.4").join(sub);
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

/// The file's name, for messages.
pub fn file_name(file: &Path) -> String {
    file.file_name().unwrap().to_string_lossy().into_owned()
}

/// The profile a case file belongs to: "SKLC-M-1-14.xml" → "SKLC-M";
/// "CS-BC-M-GCM-1-14.xml" → "CS-BC-M".
pub fn profile(file: &Path) -> String {
    let n = file_name(file);
    let parts: Vec<&str> = n.split('-').collect();
    let end = parts
        .iter()
        .position(|p| *p == "M" || *p == "O")
        .unwrap_or(0);
    parts[..=end].join("-")
}

/// What the placeholders other than `$NOW` and `$UNIQUE_IDENTIFIER_n` (they
/// all stand in byte strings: key material, data, IVs, signatures, MACs,
/// tags, correlation values) become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholders {
    /// The same fixed 16 bytes (hex `00112233445566778899aabbccddeeff`).
    Fixed,
    /// Bytes naming the placeholder (a marker), which [`Replay`] replaces by
    /// the value a response first gave it.
    Markers,
}

/// The bytes standing for a placeholder `$NAME` until captured ([`Placeholders::Markers`]).
fn marker(name: &str) -> Vec<u8> {
    format!("\0PH:{name}").into_bytes()
}

/// The placeholder name a [`marker`] stands for.
fn marker_name(b: &[u8]) -> Option<String> {
    b.strip_prefix(b"\0PH:")
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

/// Replaces the test cases' placeholders with values of the right type:
/// `$NOW`, `$NOW-3600`, `$NOW+3600` → RFC 3339 dates around `now`;
/// `$UNIQUE_IDENTIFIER_n` → `uid-n`; every other placeholder → fixed hex.
pub fn substitute(text: &str, now: i64) -> String {
    substitute_with(text, now, Placeholders::Fixed)
}

/// Like [`substitute`], with the other placeholders written as `bytes` says.
pub fn substitute_with(text: &str, now: i64, bytes: Placeholders) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let mut consumed = 1 + name_len;
        if name == "NOW" {
            let tail = &after[name_len..];
            let mut offset = 0i64;
            if let Some(sign @ ('+' | '-')) = tail.chars().next() {
                let digits_len = tail[1..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(tail.len() - 1);
                if digits_len > 0 {
                    let n: i64 = tail[1..1 + digits_len].parse().expect("offset");
                    offset = if sign == '+' { n } else { -n };
                    consumed += 1 + digits_len;
                }
            }
            out.push_str(&kmip::format_date_time(now + offset));
        } else if let Some(n) = name.strip_prefix("UNIQUE_IDENTIFIER_") {
            out.push_str("uid-");
            out.push_str(n);
        } else {
            assert!(!name.is_empty(), "a lone `$` in the test cases");
            match bytes {
                Placeholders::Fixed => out.push_str("00112233445566778899aabbccddeeff"),
                Placeholders::Markers => out.push_str(&hex::encode(marker(name))),
            }
        }
        rest = &rest[i + consumed..];
    }
    out.push_str(rest);
    out
}

/// The text without its `<!-- ... -->` comments (some files comment out whole messages).
pub fn strip_comments(text: &str) -> String {
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

/// The (request, expected response) pairs of one case file, its comments
/// stripped and its placeholders substituted (dates around `now`).
pub fn read_case(file: &Path, now: i64, bytes: Placeholders) -> Result<Vec<(Ttlv, Ttlv)>, String> {
    let raw = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let text = substitute_with(&strip_comments(&raw), now, bytes);
    let items = xml::from_str_all(&text, &kmip::binary::Limits::default())
        .map_err(|e| format!("test case does not parse: {e}"))?;
    if items.len() % 2 != 0 {
        return Err("unpaired message".into());
    }
    let mut items = items.into_iter();
    let mut pairs = Vec::new();
    while let (Some(req), Some(exp)) = (items.next(), items.next()) {
        pairs.push((req, exp));
    }
    Ok(pairs)
}

/// A tag's name, or its hex value when it has none.
pub fn name_of(tag: Tag) -> String {
    tag.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:06X}", tag.0))
}

/// The state of one case's replay: what has been captured from its responses
/// so far (server-chosen identifiers for `uid-n`, byte strings for markers),
/// and how far a DateTime may be from the expected one.
#[derive(Debug, Default)]
pub struct Replay {
    ids: HashMap<String, String>,
    bytes: HashMap<String, Vec<u8>>,
    clock_slack: i64,
}

impl Replay {
    /// A replay in which every DateTime compared must be the expected one.
    pub fn exact() -> Self {
        Replay::default()
    }

    /// A replay accepting a DateTime within `seconds` of the expected one
    /// (server-chosen dates, when the server runs on the real clock).
    pub fn with_clock_slack(seconds: i64) -> Self {
        Replay {
            clock_slack: seconds,
            ..Replay::default()
        }
    }

    /// The request with its `uid-n` and markers replaced by the values captured so far.
    pub fn fill(&self, request: &Ttlv) -> Ttlv {
        let mut t = request.clone();
        self.fill_in_place(&mut t);
        t
    }

    fn fill_in_place(&self, t: &mut Ttlv) {
        match &mut t.value {
            Value::TextString(s) if s.starts_with("uid-") => {
                if let Some(real) = self.ids.get(s.as_str()) {
                    *s = real.clone();
                }
            }
            Value::ByteString(b) => {
                if let Some(v) = marker_name(b.as_slice()).and_then(|n| self.bytes.get(&n)) {
                    *b = v.clone().into();
                }
            }
            Value::Structure(items) => items.iter_mut().for_each(|i| self.fill_in_place(i)),
            _ => {}
        }
    }

    /// Compares the `n`th expected response with the actual one, capturing
    /// `uid-n` and markers where they first appear; `Err` names the first
    /// difference by its path ("#n/ResponseMessage/…").
    pub fn check(&mut self, n: usize, expected: &Ttlv, actual: &Ttlv) -> Result<(), String> {
        self.compare(expected, actual, &format!("#{n}"))
    }

    fn compare(&mut self, exp: &Ttlv, act: &Ttlv, path: &str) -> Result<(), String> {
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
                match self.ids.get(e) {
                    Some(known) if known == a => Ok(()),
                    Some(known) => Err(format!("{path}: expected {e} = {known}, got {a}")),
                    None => {
                        self.ids.insert(e.clone(), a.clone());
                        Ok(())
                    }
                }
            }
            (Value::ByteString(e), Value::ByteString(a)) if marker_name(e.as_slice()).is_some() => {
                let n = marker_name(e.as_slice()).unwrap();
                match self.bytes.get(&n) {
                    Some(known) if known.as_slice() == a.as_slice() => Ok(()),
                    Some(_) => Err(format!("{path}: ${n} differs from its captured value")),
                    None => {
                        self.bytes.insert(n, a.as_slice().to_vec());
                        Ok(())
                    }
                }
            }
            (Value::DateTime(e), Value::DateTime(a)) if (e - a).abs() <= self.clock_slack => Ok(()),
            (Value::Structure(e), Value::Structure(a)) => self.compare_structures(exp, e, a, &path),
            (e, a) if e == a => Ok(()),
            (e, a) => Err(format!("{path}: expected {e:?}, got {a:?}")),
        }
    }

    fn compare_structures(
        &mut self,
        exp: &Ttlv,
        e: &[Ttlv],
        a: &[Ttlv],
        path: &str,
    ) -> Result<(), String> {
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
                    (Some(x), Some(y)) => self.compare(x, y, path),
                    _ => Err(format!("{path}: Unique Identifier missing")),
                };
            }
        }
        for (i, ec) in e.iter().enumerate() {
            let Some(ac) = a.get(i) else {
                return Err(format!("{path}: missing {} (item {i})", name_of(ec.tag)));
            };
            self.compare(ec, ac, path)?;
        }
        if a.len() > e.len() {
            return Err(format!("{path}: unexpected {}", name_of(a[e.len()].tag)));
        }
        Ok(())
    }
}
