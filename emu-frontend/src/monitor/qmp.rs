//! QMP, QEMU's machine protocol, on a Unix or TCP socket: the greeting,
//! capabilities negotiation, commands checked against their argument
//! types and answered in QEMU's shapes, and events to every client that
//! finished negotiating.
//!
//! Each connection has a thread that reads its stream; commands that need
//! the machine go to the run loop as [`Request`]s and wait for the answer,
//! which the run loop gives between slices (so a command takes effect at
//! an instruction boundary).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::json::{to_qmp_string, Message, Splitter};

/// An error in QMP's terms: its class and description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QmpError {
    pub class: &'static str,
    pub desc: String,
}

impl QmpError {
    pub fn generic(desc: impl Into<String>) -> QmpError {
        QmpError { class: "GenericError", desc: desc.into() }
    }
}

/// A command for the machine, with its checked arguments and where the
/// answer goes.
pub struct Request {
    pub command: String,
    pub args: Map<String, Value>,
    pub reply: Sender<Result<Value, QmpError>>,
}

/// Argument types of the commands vemu has.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Ty {
    Str,
    Int,
    Array,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Int => "integer",
            Ty::Array => "array",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Str => v.is_string(),
            Ty::Int => v.is_i64() || v.is_u64(),
            Ty::Array => v.is_array(),
        }
    }
}

/// A command's arguments: (name, type, required).
type Signature = &'static [(&'static str, Ty, bool)];

/// The commands, with their arguments.
const COMMANDS: &[(&str, Signature)] = &[
    ("qmp_capabilities", &[("enable", Ty::Array, false)]),
    ("query-version", &[]),
    ("query-commands", &[]),
    ("query-status", &[]),
    ("stop", &[]),
    ("cont", &[]),
    ("system_reset", &[]),
    ("system_powerdown", &[]),
    ("quit", &[]),
    (
        "screendump",
        &[
            ("filename", Ty::Str, true),
            ("device", Ty::Str, false),
            ("head", Ty::Int, false),
            ("format", Ty::Str, false),
        ],
    ),
    ("send-key", &[("keys", Ty::Array, true), ("hold-time", Ty::Int, false)]),
    (
        "input-send-event",
        &[("events", Ty::Array, true), ("device", Ty::Str, false), ("head", Ty::Int, false)],
    ),
    ("human-monitor-command", &[("command-line", Ty::Str, true), ("cpu-index", Ty::Int, false)]),
];

/// The version vemu reports: the QEMU release whose QMP it speaks.
pub fn version() -> Value {
    json!({"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": concat!("vemu ", env!("CARGO_PKG_VERSION"))})
}

/// Checks a command's arguments against its signature.
fn check_args(command: &str, args: &Map<String, Value>) -> Result<(), QmpError> {
    let Some((_, sig)) = COMMANDS.iter().find(|(n, _)| *n == command) else {
        return Err(QmpError {
            class: "CommandNotFound",
            desc: format!("The command {command} has not been found"),
        });
    };
    for (name, ty, required) in sig.iter() {
        match args.get(*name) {
            None if *required => return Err(QmpError::generic(format!("Parameter '{name}' is missing"))),
            Some(v) if !ty.accepts(v) => {
                return Err(QmpError::generic(format!(
                    "Invalid parameter type for '{name}', expected: {}",
                    ty.name()
                )))
            }
            _ => {}
        }
    }
    if let Some(extra) = args.keys().find(|k| !sig.iter().any(|(n, _, _)| n == k)) {
        return Err(QmpError::generic(format!("Parameter '{extra}' is unexpected")));
    }
    Ok(())
}

/// A connection's writing half, shared with the event broadcaster.
type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

/// The clients that receive events.
#[derive(Clone, Default)]
pub struct Hub {
    clients: Arc<Mutex<Vec<Writer>>>,
}

impl Hub {
    /// Sends an event to every client that finished negotiating; clients
    /// whose connection failed are dropped.
    pub fn emit(&self, event: &str, data: Option<Value>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut msg = Map::new();
        msg.insert(
            "timestamp".into(),
            json!({"seconds": now.as_secs(), "microseconds": now.subsec_micros()}),
        );
        msg.insert("event".into(), json!(event));
        if let Some(d) = data {
            msg.insert("data".into(), d);
        }
        let line = to_qmp_string(&Value::Object(msg)) + "\r\n";
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.retain(|w| {
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            w.write_all(line.as_bytes()).and_then(|_| w.flush()).is_ok()
        });
    }

    fn add(&self, w: Writer) {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).push(w);
    }

    fn remove(&self, w: &Writer) {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).retain(|c| !Arc::ptr_eq(c, w));
    }
}

/// Where a monitor listens (`-qmp`, `-monitor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

/// A character device spec as QEMU's `-qmp`/`-monitor` take it for a
/// server socket: `unix:PATH,server=on,wait=off` or
/// `tcp:HOST:PORT,server=on,wait=off` (`server`, `nowait` as flags too).
/// Returns the endpoint and whether to wait for a client before the
/// machine starts.
pub fn parse_endpoint(spec: &str) -> Result<(Endpoint, bool), String> {
    let mut parts = spec.split(',');
    let target = parts.next().unwrap_or_default();
    let (mut server, mut wait) = (false, true);
    for p in parts {
        match p {
            "server" | "server=on" => server = true,
            "server=off" => server = false,
            "nowait" | "wait=off" => wait = false,
            "wait=on" => wait = true,
            other => return Err(format!("{spec}: unknown option '{other}'")),
        }
    }
    if !server {
        return Err(format!("{spec}: vemu's monitor is a server socket only (add server=on)"));
    }
    let endpoint = if let Some(path) = target.strip_prefix("unix:") {
        Endpoint::Unix(PathBuf::from(path))
    } else if let Some(addr) = target.strip_prefix("tcp:") {
        Endpoint::Tcp(addr.to_string())
    } else {
        return Err(format!("{spec}: vemu's monitor listens on unix:PATH or tcp:HOST:PORT"));
    };
    Ok((endpoint, wait))
}

/// A listening socket, either kind.
pub enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// One accepted connection: its reading and writing halves.
pub type Connection = (Box<dyn Read + Send>, Box<dyn Write + Send>);

impl Listener {
    pub fn bind(endpoint: &Endpoint) -> Result<Listener, String> {
        match endpoint {
            Endpoint::Unix(path) => {
                // A socket file left by an earlier run is replaced, as QEMU does.
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    let _ = std::fs::remove_file(path);
                }
                UnixListener::bind(path)
                    .map(Listener::Unix)
                    .map_err(|e| format!("cannot listen on {}: {e}", path.display()))
            }
            Endpoint::Tcp(addr) => TcpListener::bind(addr)
                .map(Listener::Tcp)
                .map_err(|e| format!("cannot listen on {addr}: {e}")),
        }
    }

    pub fn accept(&self) -> std::io::Result<Connection> {
        match self {
            Listener::Unix(l) => {
                let (s, _) = l.accept()?;
                Ok((Box::new(s.try_clone()?), Box::new(s)))
            }
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                Ok((Box::new(s.try_clone()?), Box::new(s)))
            }
        }
    }
}

/// Accepts clients on `listener`, each served by `session` in a thread of
/// its own; with `wait`, returns only after the first one connected.
fn accept_clients(listener: Listener, wait: bool, session: impl Fn(Connection) + Clone + Send + 'static) {
    if let Some(conn) = if wait { listener.accept().ok() } else { None } {
        let s = session.clone();
        std::thread::spawn(move || s(conn));
    }
    std::thread::spawn(move || loop {
        match listener.accept() {
            Ok(conn) => {
                let s = session.clone();
                std::thread::spawn(move || s(conn));
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    });
}

/// Serves QMP on `listener`; with `wait`, returns only after the first
/// client connected (its session goes on in its own thread).
pub fn serve(listener: Listener, wait: bool, machine: Sender<Request>, hub: Hub) {
    accept_clients(listener, wait, move |conn| session(conn, machine.clone(), hub.clone()));
}

/// Serves the human monitor on `listener` (`-monitor`): each line a
/// command, its output and the prompt back.
pub fn serve_hmp(listener: Listener, wait: bool, machine: Sender<Request>) {
    accept_clients(listener, wait, move |conn| hmp_session(conn, machine.clone()));
}

/// One human monitor session: lines in, output and prompts out.
pub fn hmp_session((reader, mut writer): Connection, machine: Sender<Request>) {
    use std::io::BufRead;
    let greeting = format!("{}{}", super::hmp::GREETING, super::hmp::PROMPT);
    if writer.write_all(greeting.as_bytes()).and_then(|_| writer.flush()).is_err() {
        return;
    }
    let mut lines = std::io::BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let cmd = line.trim().to_string();
        let quit = matches!(cmd.split_whitespace().next(), Some("quit" | "q"));
        let output = if cmd.is_empty() {
            String::new()
        } else {
            let mut args = Map::new();
            args.insert("command-line".into(), Value::String(cmd));
            let (tx, rx) = mpsc::channel();
            if machine.send(Request { command: "human-monitor-command".into(), args, reply: tx }).is_err() {
                return;
            }
            match rx.recv() {
                Ok(Ok(Value::String(s))) => s,
                Ok(Ok(_)) => String::new(),
                Ok(Err(e)) => format!("{}\r\n", e.desc),
                Err(_) => return,
            }
        };
        if quit {
            let _ = writer.write_all(output.as_bytes());
            return;
        }
        let reply = output + super::hmp::PROMPT;
        if writer.write_all(reply.as_bytes()).and_then(|_| writer.flush()).is_err() {
            return;
        }
    }
}

/// One client's session.
fn session((mut reader, writer): Connection, machine: Sender<Request>, hub: Hub) {
    let writer: Writer = Arc::new(Mutex::new(writer));
    let send = |v: Value| -> bool {
        let line = to_qmp_string(&v) + "\r\n";
        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(line.as_bytes()).and_then(|_| w.flush()).is_ok()
    };
    if !send(json!({"QMP": {"version": version(), "capabilities": []}})) {
        return;
    }
    let mut negotiated = false;
    let mut splitter = Splitter::new();
    let mut buf = [0u8; 4096];
    'conn: loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for msg in splitter.feed(&buf[..n]) {
            let reply = match msg {
                Message::Error(desc) => error_reply(&QmpError::generic(desc), None),
                Message::Value(v) => {
                    let id = v.get("id").cloned();
                    let (reply, quit) = match handle(v, &mut negotiated, &machine) {
                        Ok((command, value)) => {
                            if command == "qmp_capabilities" {
                                hub.add(writer.clone());
                            }
                            (ok_reply(value, id), command == "quit")
                        }
                        Err(e) => (error_reply(&e, id), false),
                    };
                    if quit {
                        send(reply);
                        break 'conn;
                    }
                    reply
                }
            };
            if !send(reply) {
                break 'conn;
            }
        }
    }
    hub.remove(&writer);
}

fn ok_reply(value: Value, id: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("return".into(), value);
    if let Some(id) = id {
        m.insert("id".into(), id);
    }
    Value::Object(m)
}

fn error_reply(e: &QmpError, id: Option<Value>) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), id);
    }
    m.insert("error".into(), json!({"class": e.class, "desc": e.desc}));
    Value::Object(m)
}

/// Checks one message and runs its command; the command's name and result.
fn handle(v: Value, negotiated: &mut bool, machine: &Sender<Request>) -> Result<(String, Value), QmpError> {
    let Value::Object(mut obj) = v else { return Err(QmpError::generic("QMP input must be a JSON object")) };
    obj.remove("id");
    let execute = obj.remove("execute");
    let args = match obj.remove("arguments") {
        None => Map::new(),
        Some(Value::Object(a)) => a,
        Some(_) => return Err(QmpError::generic("QMP input member 'arguments' must be an object")),
    };
    if let Some(extra) = obj.keys().next() {
        return Err(QmpError::generic(format!("QMP input member '{extra}' is unexpected")));
    }
    let command = match execute {
        None => return Err(QmpError::generic("QMP input lacks member 'execute'")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(QmpError::generic("QMP input member 'execute' must be a string")),
    };
    if !*negotiated {
        if command != "qmp_capabilities" {
            return Err(QmpError {
                class: "CommandNotFound",
                desc: "Expecting capabilities negotiation with 'qmp_capabilities'".into(),
            });
        }
        check_args(&command, &args)?;
        if let Some(cap) = args.get("enable").and_then(|e| e.as_array()).and_then(|a| a.first()) {
            return Err(QmpError::generic(format!(
                "Capability {} not available",
                cap.as_str().unwrap_or("?")
            )));
        }
        *negotiated = true;
        return Ok((command, json!({})));
    }
    if command == "qmp_capabilities" {
        return Err(QmpError {
            class: "CommandNotFound",
            desc: "Capabilities negotiation is already complete, command ignored".into(),
        });
    }
    check_args(&command, &args)?;
    match command.as_str() {
        "query-version" => return Ok((command, version())),
        "query-commands" => {
            let names: Vec<Value> = COMMANDS.iter().map(|(n, _)| json!({"name": n})).collect();
            return Ok((command, Value::Array(names)));
        }
        _ => {}
    }
    let (tx, rx) = mpsc::channel();
    machine
        .send(Request { command: command.clone(), args, reply: tx })
        .map_err(|_| QmpError::generic("the machine has stopped"))?;
    let value = rx.recv().map_err(|_| QmpError::generic("the machine has stopped"))??;
    Ok((command, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: Value, negotiated: &mut bool) -> Result<(String, Value), QmpError> {
        // No machine behind the channel: commands for it fail at once.
        let (tx, rx) = mpsc::channel();
        drop(rx);
        handle(v, negotiated, &tx)
    }

    #[test]
    fn negotiation_first() {
        let mut n = false;
        let e = run(json!({"execute": "query-version"}), &mut n).unwrap_err();
        assert_eq!(e.class, "CommandNotFound");
        assert_eq!(e.desc, "Expecting capabilities negotiation with 'qmp_capabilities'");
        assert_eq!(run(json!({"execute": "qmp_capabilities"}), &mut n).unwrap().1, json!({}));
        let e = run(json!({"execute": "qmp_capabilities"}), &mut n).unwrap_err();
        assert_eq!(e.desc, "Capabilities negotiation is already complete, command ignored");
        assert_eq!(run(json!({"execute": "query-version"}), &mut n).unwrap().1, version());
    }

    #[test]
    fn malformed_requests_get_qemus_errors() {
        let mut n = true;
        let desc = |v: Value, n: &mut bool| run(v, n).unwrap_err().desc;
        assert_eq!(desc(json!([1]), &mut n), "QMP input must be a JSON object");
        assert_eq!(desc(json!({"arguments": {}}), &mut n), "QMP input lacks member 'execute'");
        assert_eq!(desc(json!({"execute": 1}), &mut n), "QMP input member 'execute' must be a string");
        assert_eq!(desc(json!({"execute": "stop", "x": 1}), &mut n), "QMP input member 'x' is unexpected");
        assert_eq!(desc(json!({"execute": "bogus"}), &mut n), "The command bogus has not been found");
        assert_eq!(desc(json!({"execute": "screendump"}), &mut n), "Parameter 'filename' is missing");
        assert_eq!(
            desc(json!({"execute": "screendump", "arguments": {"filename": 3}}), &mut n),
            "Invalid parameter type for 'filename', expected: string"
        );
        assert_eq!(
            desc(json!({"execute": "stop", "arguments": {"bad": 1}}), &mut n),
            "Parameter 'bad' is unexpected"
        );
        // A machine that is gone is an error, not a hang.
        assert_eq!(desc(json!({"execute": "stop"}), &mut n), "the machine has stopped");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("unix:/tmp/q.sock,server=on,wait=off").unwrap(),
            (Endpoint::Unix("/tmp/q.sock".into()), false)
        );
        assert_eq!(
            parse_endpoint("tcp:127.0.0.1:4444,server,nowait").unwrap(),
            (Endpoint::Tcp("127.0.0.1:4444".into()), false)
        );
        assert!(parse_endpoint("tcp:127.0.0.1:4444").is_err());
        assert!(parse_endpoint("stdio,server=on").is_err());
    }
}
