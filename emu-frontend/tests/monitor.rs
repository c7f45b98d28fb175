//! The monitor and the VNC server against bad clients (issue 9): malformed
//! JSON, unknown commands, a huge message, a screendump that cannot be
//! written, VNC garbage and clients that vanish mid-message each get an
//! error or a closed connection, and the guest runs on; stop and cont with
//! their events, the human monitor's output, and quit.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Vemu(Child);

impl Drop for Vemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A QMP connection: lines in, JSON out.
struct Qmp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Qmp {
    fn new(port: u16) -> Qmp {
        let s = connect(port);
        Qmp { reader: BufReader::new(s.try_clone().unwrap()), writer: s }
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("a line from QMP");
        assert!(l.ends_with("\r\n"), "QMP lines end in CR LF: {l:?}");
        l
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    /// Sends `text` and returns the next line that is not an event.
    fn ask(&mut self, text: &str) -> String {
        self.send(text);
        loop {
            let l = self.line();
            if !l.starts_with("{\"event\"") && !l.contains("\"timestamp\"") {
                return l;
            }
        }
    }
}

#[test]
fn bad_clients_get_errors_and_the_guest_runs_on() {
    let dir = common::scratch().join("monitor");
    std::fs::create_dir_all(&dir).unwrap();
    let (qmp_port, hmp_port) = (free_port(), free_port());
    let vnc_display = free_port() % 1000 + 5000;
    let vemu = Command::new(env!("CARGO_BIN_EXE_vemu"))
        .args(["run", "-display", "none", "-serial", "null", "-S"])
        .args(["-qmp", &format!("tcp:127.0.0.1:{qmp_port},server=on,wait=off")])
        .args(["-monitor", &format!("tcp:127.0.0.1:{hmp_port},server=on,wait=off")])
        .args(["-vnc", &format!("127.0.0.1:{vnc_display}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting vemu");
    let mut vemu = Vemu(vemu);

    let mut q = Qmp::new(qmp_port);
    let greeting = q.line();
    assert!(greeting.starts_with("{\"QMP\": {\"version\": {\"qemu\": {"), "{greeting}");
    assert!(q.ask("{\"execute\": \"query-status\"}").contains("Expecting capabilities negotiation"));
    assert!(q.ask("garbage\n").contains("\"desc\": \"JSON parse error, invalid keyword 'garbage'\""));
    assert_eq!(q.ask("{\"execute\": \"qmp_capabilities\"}"), "{\"return\": {}}\r\n");
    assert!(q.ask("{\"execute\": \"query-status\", \"id\": 7}").contains("\"status\": \"prelaunch\""));
    let e = q.ask("{\"execute\": \"frobnicate\", \"id\": \"x\"}");
    assert!(e.contains("CommandNotFound") && e.contains("\"id\": \"x\""), "{e}");
    let e = q.ask("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"/nonexistent/dir/x.ppm\"}}");
    assert!(e.contains("failed to open file '/nonexistent/dir/x.ppm': No such file or directory"), "{e}");
    let e = q.ask("{\"execute\": \"screendump\", \"arguments\": {\"filename\": 5}}");
    assert!(e.contains("Invalid parameter type for 'filename', expected: string"), "{e}");
    let huge = format!("{{\"execute\": \"{}\"}}", "a".repeat(4 << 20));
    assert!(q.ask(&huge).contains("CommandNotFound"));
    assert!(q.ask("{\"execute\": \"cont\"}").contains("\"return\": {}"));

    // VNC: garbage instead of a version, an unknown message, a client that
    // goes away in the middle of one.
    let vnc_port = 5900 + vnc_display;
    let mut v = connect(vnc_port);
    let mut version = [0u8; 12];
    v.read_exact(&mut version).unwrap();
    assert_eq!(&version, b"RFB 003.008\n");
    v.write_all(b"GARBAGE!!!!\n").unwrap();
    let mut rest = Vec::new();
    let _ = v.read_to_end(&mut rest);
    assert_eq!(rest, [0, 0, 0, 0], "a failed handshake, then the connection closes");
    let mut v = connect(vnc_port);
    v.read_exact(&mut version).unwrap();
    v.write_all(b"RFB 003.008\n").unwrap();
    let mut types = [0u8; 2];
    v.read_exact(&mut types).unwrap();
    assert_eq!(types, [1, 1], "one security type: None");
    v.write_all(&[1]).unwrap();
    let mut result = [0u8; 4];
    v.read_exact(&mut result).unwrap();
    assert_eq!(result, [0, 0, 0, 0]);
    v.write_all(&[1]).unwrap();
    let mut init = [0u8; 24];
    v.read_exact(&mut init).unwrap();
    assert_eq!(init[4], 32, "32 bits per pixel");
    v.write_all(&[99, 1, 2, 3]).unwrap();
    let _ = v.read_to_end(&mut rest);
    let mut v = connect(vnc_port);
    v.read_exact(&mut version).unwrap();
    v.write_all(b"RFB 003.0").unwrap();
    drop(v);

    // The guest runs on: its clock moves, the monitor answers.
    assert!(q.ask("{\"execute\": \"query-status\"}").contains("\"status\": \"running\""));
    q.send("{\"execute\": \"stop\"}");
    let ev = q.line();
    assert!(
        ev.contains("\"event\": \"STOP\"") && ev.contains("\"timestamp\""),
        "the event comes first: {ev}"
    );
    assert_eq!(q.line(), "{\"return\": {}}\r\n");
    assert!(q.ask("{\"execute\": \"query-status\"}").contains("\"status\": \"paused\""));
    let hmp =
        q.ask("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info status\"}}");
    assert_eq!(hmp, "{\"return\": \"VM status: paused\\r\\n\"}\r\n");
    let regs = q.ask(
        "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info registers\"}}",
    );
    for field in ["EAX=", "CR0=", "FCW=", " [ST=", "FPR7=", "XMM07="] {
        assert!(regs.contains(field), "info registers shows {field} as QEMU does: {regs}");
    }

    // The human monitor on its own socket.
    let h = connect(hmp_port);
    let mut hr = BufReader::new(h.try_clone().unwrap());
    let mut hw = h;
    let mut line = String::new();
    hr.read_line(&mut line).unwrap();
    assert!(line.starts_with("QEMU 7.2.0 monitor"), "{line}");
    hw.write_all(b"xp /4xb 0xffff0\n").unwrap();
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&out).ends_with("\r\n(qemu) ")
        || !String::from_utf8_lossy(&out).contains(':')
    {
        hr.read_exact(&mut byte).unwrap();
        out.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("00000000000ffff0: 0xea 0x5b 0xe0 0x00"), "the reset vector's far jump: {text:?}");
    hw.write_all(b"xp /1i 0xffff0\n").unwrap();
    out.clear();
    while !String::from_utf8_lossy(&out).ends_with("\r\n(qemu) ") {
        hr.read_exact(&mut byte).unwrap();
        out.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("0x000ffff0:  ea 5b e0 00 f0") && text.contains("jmp"), "disassembled: {text:?}");
    hw.write_all(b"cont\n").unwrap();

    let ev = q.line();
    assert!(ev.contains("\"event\": \"RESUME\""), "{ev}");
    q.send("{\"execute\": \"quit\"}");
    assert!(q.line().contains("\"event\": \"SHUTDOWN\""));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = vemu.0.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "vemu did not quit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    vemu.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "status {status}; stderr: {err}");
    assert!(err.is_empty(), "quitting from the monitor prints nothing: {err}");
}
