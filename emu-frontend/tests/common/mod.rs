//! Shared by the guest-level tests: finding the tools (nasm, QEMU, Bochs; a
//! missing tool is a failure, never a skip), assembling guest programs, and
//! running them in vemu and in the reference emulators with a time limit.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Runs `scripts/{script}` (an image builder that caches what it builds)
/// with its output in target/guests; that folder.
pub fn build_images(script: &str) -> PathBuf {
    let repo = repo();
    let dir = repo.join("target/guests");
    let status = Command::new(repo.join("scripts").join(script))
        .env("VEMU_GUEST_DIR", &dir)
        .status()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(status.success(), "scripts/{script} failed");
    dir
}

/// Where tests put what they build.
pub fn scratch() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guests");
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

/// Panics with an install hint if `tool` is not on PATH.
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "{tool} is not installed: run scripts/install-deps.sh (tests never skip)");
}

/// Assembles `src` with nasm (include path test-roms/lib) into `out`, with
/// `defines`. Tests run in parallel and may build the same guest: each writes a
/// file of its own and renames it into place, so nobody reads a half-written one.
pub fn assemble(src: &Path, out: &Path, defines: &[&str]) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    require("nasm");
    let tmp =
        out.with_extension(format!("tmp{}-{}", std::process::id(), SERIAL.fetch_add(1, Ordering::Relaxed)));
    let lib = repo().join("test-roms/lib/");
    let mut cmd = Command::new("nasm");
    cmd.arg("-f").arg("bin").arg("-i").arg(&lib);
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let status = cmd.arg(src).arg("-o").arg(&tmp).status().expect("running nasm");
    assert!(status.success(), "nasm failed on {}", src.display());
    std::fs::rename(&tmp, out).expect("moving the assembled guest into place");
}

/// What a finished (or killed) process left.
#[derive(Debug)]
pub struct Run {
    /// Exit status; None if killed by a signal or the time limit.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Run {
    /// The last non-empty line of stdout.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
    }

    pub fn describe(&self) -> String {
        format!(
            "status {:?}{}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
            self.status,
            if self.timed_out { " (timed out)" } else { "" },
            tail(&self.stdout, 15),
            tail(&self.stderr, 15)
        )
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `cmd` with stdin closed, killing it after `limit`.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting") {
            break st;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("waiting after kill");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        status: status.code(),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
        timed_out,
    }
}

/// Runs `cmd` with stdin closed until its output shows every one of
/// `markers` in order (then it is killed: the guest has shown what the test
/// wanted), it exits, or `limit` passes (no markers: until it exits). The run's stdout is what it printed.
pub fn run_until(cmd: Command, markers: &[&str], limit: Duration) -> Run {
    let all_seen = |text: &str| {
        let mut at = 0;
        markers.iter().all(|m| match text[at..].find(m) {
            Some(i) => {
                at += i + m.len();
                true
            }
            None => false,
        })
    };
    run_watching(cmd, limit, |text| !markers.is_empty() && all_seen(text))
}

/// Runs `cmd` with stdin closed, showing `watch` its standard output so far
/// every 20 ms, until `watch` says it has seen enough (then it is killed),
/// it exits, or `limit` passes.
pub fn run_watching(mut cmd: Command, limit: Duration, mut watch: impl FnMut(&str) -> bool) -> Run {
    use std::sync::{Arc, Mutex};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let writer = seen.clone();
    let out_reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            writer.lock().expect("output buffer").extend_from_slice(&buf[..n]);
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting") {
            break Some(st);
        }
        let text = String::from_utf8_lossy(&seen.lock().expect("output buffer")).into_owned();
        if watch(&text) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = out_reader.join();
    let stdout = String::from_utf8_lossy(&seen.lock().expect("output buffer")).into_owned();
    Run {
        status: status.and_then(|s| s.code()),
        stdout,
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
        timed_out,
    }
}

/// `vemu ARGS...`, with `vemu run` on the deterministic clock (one
/// nanosecond per instruction, no sleeping: `-icount shift=0,sleep=off`), so
/// that a test's guest runs the same every time and as fast as it can.
pub fn vemu(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vemu"));
    match args.split_first() {
        Some((&"run", rest)) => {
            cmd.args(["run", "-icount", "shift=0,sleep=off"]).args(rest);
        }
        _ => {
            cmd.args(args);
        }
    }
    run_with_limit(cmd, Duration::from_secs(120))
}

/// QEMU's command line for a test ROM (the one the issue names).
pub fn qemu_bios(rom: &Path, extra: &[&str]) -> Run {
    require("qemu-system-i386");
    let mut cmd = Command::new("qemu-system-i386");
    cmd.arg("-bios").arg(rom);
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-debugcon", "stdio", "-display", "none"]);
    cmd.args(extra);
    run_with_limit(cmd, Duration::from_secs(60))
}

/// Runs a ROM under Bochs (its debugger continued through up to four resets);
/// Bochs has no isa-debug-exit, so only the output counts.
pub fn bochs_bios(rom: &Path) -> Run {
    require("bochs");
    let dir = rom.parent().expect("rom directory");
    let stem = rom.file_stem().expect("rom name").to_string_lossy();
    let rc = dir.join(format!("{stem}.bochsrc"));
    let cmds = dir.join(format!("{stem}.bochscmd"));
    std::fs::write(
        &rc,
        format!(
            "megs: 32\nromimage: file={}\ndisplay_library: rfb, options=\"timeout=0\"\nport_e9_hack: enabled=1\n\
             log: /dev/null\npanic: action=fatal\nerror: action=report\n\
             cpu: count=1, ips=50000000, ignore_bad_msrs=0\nspeaker: enabled=0\n\
             sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy\n\
             plugin_ctrl: speaker=0, sb16=0, es1370=0\n",
            rom.display()
        ),
    )
    .expect("bochsrc");
    std::fs::write(&cmds, "c\nc\nc\nc\nquit\n").expect("bochs commands");
    let mut cmd = Command::new("bochs");
    cmd.arg("-q").arg("-f").arg(&rc).arg("-rc").arg(&cmds);
    let mut run = run_with_limit(cmd, Duration::from_secs(120));
    // Keep only what the guest printed: Bochs's own log lines are tagged.
    let guest: Vec<&str> = run.stdout.lines().filter(|l| !is_bochs_noise(l)).collect();
    run.stdout = guest.join("\n");
    run
}

fn is_bochs_noise(l: &str) -> bool {
    let tagged = l.len() > 12 && l.as_bytes()[..11].iter().all(|b| b.is_ascii_digit());
    tagged
        || l.starts_with("ALSA")
        || l.starts_with("====")
        || l.contains("Bochs x86 Emulator")
        || l.contains("Built from")
        || l.contains("Timestamp")
        || l.starts_with("Next at")
        || l.starts_with("(0)")
        || l.starts_with('[')
        || l.starts_with("<bochs")
        || l.starts_with("Bochs is exiting")
        || l.trim().is_empty()
}

/// A tmux session of its own running `script` in a shell, 120x40.
pub struct Tmux {
    name: String,
}

impl Tmux {
    pub fn start(name: &str, script: &str) -> Tmux {
        require("tmux");
        let name = format!("vemu-{name}-{}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "40", "sh", "-c", script])
            .status()
            .expect("starting tmux");
        assert!(ok.success(), "tmux new-session failed");
        Tmux { name }
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; the screen then.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(start.elapsed() < limit, "{text:?} never showed; the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    pub fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux").args(["send-keys", "-t", &self.name]).args(keys).status();
        assert!(ok.is_ok_and(|s| s.success()), "tmux send-keys failed");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

/// A guest run to talk to: its standard input is the serial console's
/// keyboard, its output is collected as it comes.
pub struct Session {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// Where in the output the next `expect` starts looking.
    at: usize,
    label: String,
}

impl Session {
    /// Starts `cmd` (labelled `label` in failures) with piped standard streams.
    pub fn start(mut cmd: Command, label: &str) -> Session {
        use std::sync::{Arc, Mutex};
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let writer = seen.clone();
            let mut stream = stream;
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    writer.lock().expect("output buffer").extend_from_slice(&buf[..n]);
                }
            });
        }
        let input = child.stdin.take();
        Session { child, input, seen, at: 0, label: label.to_string() }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().expect("output buffer")).into_owned()
    }

    /// Waits for `text` after what the last `expect` matched; the output in
    /// between. Fails with the whole output if it does not come within `limit`
    /// or the run ends first.
    pub fn expect(&mut self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let out = self.seen.lock().expect("output buffer").clone();
            let tail = &out[self.at.min(out.len())..];
            if let Some(i) = tail.windows(text.len()).position(|w| w == text.as_bytes()) {
                let between = String::from_utf8_lossy(&tail[..i]).into_owned();
                self.at += i + text.len();
                return between;
            }
            let ended = self.child.try_wait().expect("waiting").is_some();
            if ended || start.elapsed() > limit {
                let why = if ended { "the run ended" } else { "timed out" };
                panic!(
                    "{}: {why} waiting for {text:?}; the output:\n{}",
                    self.label,
                    String::from_utf8_lossy(&out)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `line` and Enter (a carriage return, as a terminal sends).
    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        let input = self.input.as_mut().expect("standard input");
        input.write_all(format!("{line}\r").as_bytes()).expect("typing into the guest");
        input.flush().expect("typing into the guest");
    }

    /// Types `bytes` as they are (control keys included).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let input = self.input.as_mut().expect("standard input");
        input.write_all(bytes).expect("typing into the guest");
        input.flush().expect("typing into the guest");
    }

    /// Waits for the run to end (within `limit`); its exit status.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("waiting") {
                return st.code();
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("{}: did not end within {limit:?}; the output:\n{}", self.label, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
