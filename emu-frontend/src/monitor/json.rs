//! JSON as QMP carries it: a stream of values with no framing (a message
//! ends where its brackets close, whatever the lines), single-quoted
//! strings accepted as QEMU's parser accepts them, and output written
//! compactly with QEMU's separators (`", "` and `": "`).

use serde_json::Value;

/// Limits of one message, as QEMU's JSON streamer has them.
const MAX_BYTES: usize = 64 << 20;
const MAX_DEPTH: usize = 1024;

/// What the splitter found in the input.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// A complete value, parsed.
    Value(Value),
    /// Input that is not JSON, or a limit exceeded: the error's detail (the
    /// words after "JSON parse error, " or the limit's message).
    Error(String),
}

/// Splits a byte stream into JSON messages.
#[derive(Default)]
pub struct Splitter {
    /// The message so far, with single-quoted strings rewritten.
    buf: Vec<u8>,
    depth: usize,
    /// Inside a string delimited by this quote.
    quote: Option<u8>,
    escape: bool,
    /// Inside a bare token at depth 0 (a number, a keyword, garbage).
    bare: bool,
    /// Skipping input after a limit was hit, until the depth is back to 0.
    skipping: bool,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Takes more input; returns the messages it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, &mut out);
        }
        out
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        let text = std::mem::take(&mut self.buf);
        self.depth = 0;
        let bare = std::mem::take(&mut self.bare);
        out.push(match serde_json::from_slice::<Value>(&text) {
            Ok(v) => Message::Value(v),
            Err(_) if bare => Message::Error(format!(
                "JSON parse error, invalid keyword '{}'",
                String::from_utf8_lossy(&text)
            )),
            Err(e) => Message::Error(format!("JSON parse error, {}", describe(&e))),
        });
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Message>) {
        if self.skipping {
            // QEMU resets its parser after a limit error; vemu drops the
            // rest of the offending message.
            match (self.quote, b) {
                (Some(_), _) if self.escape => self.escape = false,
                (Some(_), b'\\') => self.escape = true,
                (Some(q), c) if c == q => self.quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => self.quote = Some(b),
                (None, b'{' | b'[') => self.depth += 1,
                (None, b'}' | b']') => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.skipping = false;
                    }
                }
                _ => {}
            }
            return;
        }
        if let Some(q) = self.quote {
            if self.escape {
                self.escape = false;
                if q == b'\'' && b == b'\'' {
                    // \' inside a single-quoted string: a plain quote.
                    self.buf.pop();
                    self.buf.push(b'\'');
                } else {
                    self.buf.push(b);
                }
            } else if b == b'\\' {
                self.escape = true;
                self.buf.push(b);
            } else if b == q {
                self.quote = None;
                self.buf.push(b'"');
            } else if q == b'\'' && b == b'"' {
                self.buf.extend_from_slice(b"\\\"");
            } else {
                self.buf.push(b);
            }
        } else {
            if self.bare && (b.is_ascii_whitespace() || b"{}[],:\"'".contains(&b)) {
                self.finish(out);
            }
            match b {
                b'"' | b'\'' => {
                    self.quote = Some(b);
                    self.buf.push(b'"');
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    self.buf.push(b);
                    if self.depth > MAX_DEPTH {
                        out.push(Message::Error("JSON nesting depth limit exceeded".into()));
                        self.buf.clear();
                        self.skipping = true;
                        return;
                    }
                }
                b'}' | b']' => {
                    self.buf.push(b);
                    if self.depth <= 1 {
                        self.finish(out);
                    } else {
                        self.depth -= 1;
                    }
                }
                c if c.is_ascii_whitespace() => {
                    if self.depth > 0 {
                        self.buf.push(c);
                    }
                }
                c => {
                    if self.depth == 0 {
                        self.bare = true;
                    }
                    self.buf.push(c);
                }
            }
        }
        if self.buf.len() > MAX_BYTES {
            out.push(Message::Error("JSON token size limit exceeded".into()));
            self.buf.clear();
            self.bare = false;
            self.skipping = self.depth > 0;
            if !self.skipping {
                self.depth = 0;
            }
        }
    }
}

/// The part of a serde_json error a QMP client can use, without its
/// position (QEMU's messages name none).
fn describe(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" at line ") {
        Some(i) => &s[..i],
        None => &s,
    };
    match s {
        "expected value" | "EOF while parsing a value" | "trailing comma" => "expecting value".into(),
        "expected `:`" => "missing : in object pair".into(),
        "key must be a string" => "key is not a string in object".into(),
        "EOF while parsing an object" | "EOF while parsing a list" | "EOF while parsing a string" => {
            "premature EOI".into()
        }
        other => other.to_string(),
    }
}

/// `value` as QEMU writes it: compact, with a space after every comma and
/// colon.
pub fn to_qmp_string(value: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, value);
    s
}

fn write_value(s: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            s.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&Value::String(k.clone()).to_string());
                s.push_str(": ");
                write_value(s, v);
            }
            s.push('}');
        }
        Value::Array(items) => {
            s.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_value(s, v);
            }
            s.push(']');
        }
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(input: &str) -> Vec<Message> {
        Splitter::new().feed(input.as_bytes())
    }

    #[test]
    fn messages_end_where_their_brackets_close() {
        let mut s = Splitter::new();
        assert!(s.feed(b"{\"execute\":").is_empty());
        let m = s.feed(b" \"stop\"}{\"execute\": \"cont\"}\n");
        assert_eq!(
            m,
            vec![Message::Value(json!({"execute": "stop"})), Message::Value(json!({"execute": "cont"}))]
        );
        // Brackets inside strings do not count.
        assert_eq!(values("{\"a\": \"}{\"}"), vec![Message::Value(json!({"a": "}{"}))]);
    }

    #[test]
    fn single_quotes_and_bare_values() {
        assert_eq!(
            values("{'execute': 'say \"hi\" it\\'s'}"),
            vec![Message::Value(json!({"execute": "say \"hi\" it's"}))]
        );
        assert_eq!(values("5 "), vec![Message::Value(json!(5))]);
        assert_eq!(
            values("garbage\n"),
            vec![Message::Error("JSON parse error, invalid keyword 'garbage'".into())]
        );
    }

    #[test]
    fn errors_are_reported_and_the_stream_goes_on() {
        let m = values("{\"a\":1,}{\"b\": 2}");
        assert_eq!(m[0], Message::Error("JSON parse error, expecting value".into()));
        assert_eq!(m[1], Message::Value(json!({"b": 2})));
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1) + "{\"c\": 3}";
        let m = values(&deep);
        assert_eq!(m[0], Message::Error("JSON nesting depth limit exceeded".into()));
        assert_eq!(m[1], Message::Value(json!({"c": 3})));
    }

    #[test]
    fn output_has_qemus_separators() {
        assert_eq!(to_qmp_string(&json!({"return": {}})), "{\"return\": {}}");
        assert_eq!(
            to_qmp_string(&json!([{"name": "a"}, {"name": "b"}])),
            "[{\"name\": \"a\"}, {\"name\": \"b\"}]"
        );
    }
}
