//! `skms ttlv`: a tool for people reading KMIP traffic. It decodes binary TTLV
//! (as hex or raw bytes) to a tree, JSON or XML, and encodes JSON or XML back to
//! binary. Every input is decoded within the same bounds the server uses.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use kmip::binary::{self, Limits};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `skms ttlv`.
#[derive(Args)]
pub struct TtlvArgs {
    #[command(subcommand)]
    command: TtlvCommand,
}

#[derive(Subcommand)]
enum TtlvCommand {
    /// Decode one binary TTLV message and print it as a tree, JSON, XML or hex.
    #[command(after_long_help = DECODE_HELP)]
    Decode(DecodeArgs),
    /// Encode one message written as JSON or XML to binary TTLV (hex or raw bytes).
    #[command(after_long_help = ENCODE_HELP)]
    Encode(EncodeArgs),
}

const DECODE_HELP: &str = "\
Input, exactly one of:
  HEX...            the message as hex on the command line; spaces, line breaks, ':', '|', \
',' and '0x' prefixes are ignored, so a capture can be pasted as it is
  -                 the same hex text, read from standard input
  --file PATH       the message as raw binary bytes read from PATH
  --file -          raw binary bytes read from standard input

Examples:
  skms ttlv decode 42007801000000604200770100000038...
  skms ttlv decode --file request.bin --to json
  xxd -p request.bin | skms ttlv decode -

Byte strings (which may be key material) are printed in full: this tool shows \
traffic on purpose. Do not paste its output where secrets must not go.

Exit status: 0 on success, 2 when the input is not valid (the message names the \
offset and tag where decoding stopped) or the command line is wrong, 1 when a file \
cannot be read or written.";

const ENCODE_HELP: &str = "\
Input, exactly one of:
  TEXT              the JSON or XML message on the command line
  -                 the JSON or XML text, read from standard input
  --file PATH       the JSON or XML text read from PATH ('-' for standard input)

Output: the binary message as hex on standard output, or with --out PATH as raw \
bytes in PATH ('-' for raw bytes on standard output).

Examples:
  skms ttlv decode 4200780100... --to json | skms ttlv encode -
  skms ttlv encode --file request.xml --out request.bin

Exit status: 0 on success, 2 when the input is not valid or the command line is \
wrong, 1 when a file cannot be read or written.";

/// Output formats of `decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    /// An indented tree with the specification's names, one item per line.
    Tree,
    /// The KMIP JSON encoding.
    Json,
    /// The KMIP XML encoding.
    Xml,
    /// The binary message, re-encoded, as hex (padding normalized to zeros).
    Hex,
}

/// Input formats of `encode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TextFormat {
    /// JSON when the text starts with '{' or '[', XML when it starts with '<'.
    Auto,
    /// The KMIP JSON encoding.
    Json,
    /// The KMIP XML encoding.
    Xml,
}

#[derive(Args)]
#[command(group(ArgGroup::new("input").required(true).args(["hex", "file"])))]
struct DecodeArgs {
    /// The message as hex, or '-' to read hex from standard input.
    #[arg(value_name = "HEX")]
    hex: Vec<String>,
    /// Read the message as raw binary bytes from PATH ('-': from standard input).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Output::Tree)]
    to: Output,
    /// Largest message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_message_size)]
    max_size: usize,
    /// Also read the message as a typed KMIP request or response, as the server
    /// does, and say on standard error whether it is valid (exit 2 if not).
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("input").required(true).args(["text", "file"])))]
struct EncodeArgs {
    /// The message as JSON or XML text, or '-' to read it from standard input.
    #[arg(value_name = "TEXT")]
    text: Option<String>,
    /// Read the JSON or XML text from PATH ('-': from standard input).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// The encoding of the input.
    #[arg(long, value_enum, default_value_t = TextFormat::Auto)]
    from: TextFormat,
    /// Write the raw binary message to PATH ('-': standard output) instead of printing hex.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Largest message accepted, in bytes of binary TTLV.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_message_size)]
    max_size: usize,
}

/// Why a `skms ttlv` command failed.
#[derive(Debug)]
pub enum Failure {
    /// The input is not a valid message (exit status 2).
    BadInput(String),
    /// A file or stream could not be read or written (exit status 1).
    Io(String),
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => 2,
            Failure::Io(_) => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::BadInput(m) | Failure::Io(m) => f.write_str(m),
        }
    }
}

impl From<kmip::Error> for Failure {
    fn from(e: kmip::Error) -> Self {
        Failure::BadInput(e.to_string())
    }
}

/// Runs `skms ttlv …`.
pub fn run(args: TtlvArgs) -> Result<(), Failure> {
    match args.command {
        TtlvCommand::Decode(a) => decode(a),
        TtlvCommand::Encode(a) => encode(a),
    }
}

fn limits(max_size: usize) -> Limits {
    Limits {
        max_message_size: max_size,
        ..Limits::default()
    }
}

fn decode(args: DecodeArgs) -> Result<(), Failure> {
    let limits = limits(args.max_size);
    let bytes = match (&args.file, args.hex.as_slice()) {
        (Some(path), _) => read_input(path, args.max_size, "binary message")?,
        (None, [dash]) if dash == "-" => {
            let text = read_input(Path::new("-"), hex_text_limit(args.max_size), "hex text")?;
            let text = String::from_utf8(text)
                .map_err(|e| Failure::BadInput(format!("standard input is not text: {e}")))?;
            parse_hex(&text)?
        }
        (None, words) => parse_hex(&words.join(" "))?,
    };
    let item = binary::decode(&bytes, &limits)?;
    let summary = if args.check {
        Some(check_typed(item.clone())?)
    } else {
        None
    };
    let mut text = match args.to {
        Output::Tree => kmip::text::to_tree(&item),
        Output::Json => kmip::json::to_string(&item),
        Output::Xml => kmip::xml::to_string(&item),
        Output::Hex => hex::encode(binary::encode(&item)),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_stdout(text.as_bytes())?;
    if let Some(summary) = summary {
        eprintln!("{summary}");
    }
    Ok(())
}

/// Reads `item` as a typed request or response; a one-line summary, or the typed error.
fn check_typed(item: kmip::Ttlv) -> Result<String, Failure> {
    use kmip::messages::{RequestMessage, ResponseMessage};
    let describe = |v: &kmip::messages::ProtocolVersion, kind: &str, ops: Vec<String>| {
        format!(
            "valid KMIP {}.{} {kind}, {} batch item(s): {}",
            v.protocol_version_major,
            v.protocol_version_minor,
            ops.len(),
            ops.join(", ")
        )
    };
    match item.tag {
        kmip::Tag::REQUEST_MESSAGE => {
            let m = RequestMessage::from_ttlv(item)?;
            let ops = m.batch_items.iter().map(|b| format!("{:?}", b.operation)).collect();
            Ok(describe(&m.header.protocol_version, "request", ops))
        }
        kmip::Tag::RESPONSE_MESSAGE => {
            let m = ResponseMessage::from_ttlv(item)?;
            let ops = m
                .batch_items
                .iter()
                .map(|b| match (b.operation, b.result_reason) {
                    (Some(op), None) => format!("{op:?} {:?}", b.result_status),
                    (op, Some(r)) => format!("{op:?} {:?} {r:?}", b.result_status),
                    (None, None) => format!("{:?}", b.result_status),
                })
                .collect();
            Ok(describe(&m.header.protocol_version, "response", ops))
        }
        other => Err(Failure::BadInput(format!(
            "not a KMIP message: the top-level tag is {other}, not Request Message or Response Message"
        ))),
    }
}

fn encode(args: EncodeArgs) -> Result<(), Failure> {
    let limits = limits(args.max_size);
    let text_limit = json_text_limit(args.max_size);
    let raw = match (&args.file, &args.text) {
        (Some(path), _) => read_input(path, text_limit, "text")?,
        (None, Some(dash)) if dash == "-" => read_input(Path::new("-"), text_limit, "text")?,
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => {
            return Err(Failure::BadInput(
                "no input: give TEXT, - or --file PATH".into(),
            ))
        }
    };
    let text = String::from_utf8(raw)
        .map_err(|e| Failure::BadInput(format!("the input is not UTF-8 text: {e}")))?;
    let format = match args.from {
        TextFormat::Auto => detect_format(&text)?,
        f => f,
    };
    let item = match format {
        TextFormat::Json => kmip::json::from_str(&text, &limits)?,
        _ => kmip::xml::from_str(&text, &limits)?,
    };
    let bytes = binary::encode(&item);
    if bytes.len() > args.max_size {
        return Err(Failure::BadInput(format!(
            "the encoded message of {} bytes exceeds the limit of {} (--max-size)",
            bytes.len(),
            args.max_size
        )));
    }
    match &args.out {
        None => write_stdout(format!("{}\n", hex::encode(&bytes)).as_bytes()),
        Some(p) if p.as_os_str() == "-" => write_stdout(&bytes),
        Some(p) => std::fs::write(p, &bytes)
            .map_err(|e| Failure::Io(format!("cannot write {}: {e}", p.display()))),
    }
}

/// JSON when the text starts with `{` or `[`, XML when it starts with `<`.
fn detect_format(text: &str) -> Result<TextFormat, Failure> {
    match text.trim_start().chars().next() {
        Some('{' | '[') => Ok(TextFormat::Json),
        Some('<') => Ok(TextFormat::Xml),
        _ => Err(Failure::BadInput(
            "cannot tell whether the input is JSON or XML: give --from json or --from xml".into(),
        )),
    }
}

/// Hex text may carry separators: allow several characters per byte.
fn hex_text_limit(max_size: usize) -> usize {
    max_size.saturating_mul(8).saturating_add(4096)
}

/// JSON and XML spell every item's tag and type: allow many characters per byte.
fn json_text_limit(max_size: usize) -> usize {
    max_size.saturating_mul(16).saturating_add(4096)
}

/// Reads at most `limit` bytes from `path` (`-`: standard input); more is bad input.
fn read_input(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>, Failure> {
    let (name, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
        ("standard input".into(), Box::new(io::stdin().lock()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| Failure::Io(format!("cannot read {}: {e}", path.display())))?;
        (path.display().to_string(), Box::new(f))
    };
    let mut buf = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::Io(format!("cannot read {name}: {e}")))?;
    if buf.len() > limit {
        return Err(Failure::BadInput(format!(
            "{name}: the {what} is larger than the limit of {limit} bytes (raise it with --max-size)"
        )));
    }
    Ok(buf)
}

/// Parses hex written with any of whitespace, `:`, `|`, `,` between digits and
/// `0x` before a group of digits.
fn parse_hex(text: &str) -> Result<Vec<u8>, Failure> {
    let mut digits = Vec::with_capacity(text.len());
    let mut at_group_start = true;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() || matches!(c, ':' | '|' | ',') {
            at_group_start = true;
            continue;
        }
        if at_group_start && c == '0' && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            chars.next();
            at_group_start = false;
            continue;
        }
        at_group_start = false;
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => {
                return Err(Failure::BadInput(format!(
                    "invalid hex: {c:?} at character {} of the input",
                    text[..i].chars().count() + 1
                )))
            }
        }
    }
    if digits.is_empty() {
        return Err(Failure::BadInput(
            "invalid hex: no hex digits in the input".into(),
        ));
    }
    if digits.len() % 2 != 0 {
        return Err(Failure::BadInput(format!(
            "invalid hex: odd number of hex digits ({}): the byte at offset {} has only one digit",
            digits.len(),
            digits.len() / 2
        )));
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Io(format!("cannot write to standard output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_tolerates_separators_and_prefixes() {
        let want = vec![0x42, 0x00, 0x78, 0x01];
        for text in [
            "42007801",
            "42 00 78 01",
            "42:00:78:01",
            "0x42 0x00 0x78 0x01",
            "0x42007801\n",
            "420078 | 01",
            "0x42, 0x00, 0X78, 0x01",
            "  4200\n\t7801  ",
            "42007801".to_uppercase().as_str(),
        ] {
            assert_eq!(parse_hex(text).unwrap(), want, "{text:?}");
        }
    }

    #[test]
    fn bad_hex_is_named() {
        let e = parse_hex("420").unwrap_err().to_string();
        assert!(e.contains("odd number") && e.contains("offset 1"), "{e}");
        let e = parse_hex("42 0g").unwrap_err().to_string();
        assert!(e.contains("'g' at character 5"), "{e}");
        let e = parse_hex("4x2").unwrap_err().to_string();
        assert!(e.contains("'x' at character 2"), "{e}");
        assert!(parse_hex("  \n").is_err());
        assert!(parse_hex("0x").is_err());
    }
}
