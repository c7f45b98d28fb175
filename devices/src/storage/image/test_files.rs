//! What the image tests share: scratch directories that clean up after
//! themselves, and QEMU's own tools (`qemu-img`, `qemu-io`,
//! `qemu-system-i386`) as the judge of what a backend left in a file.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vemu-img-{}-{n}-{name}", std::process::id()));
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Creates `name` in the directory with `contents`.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/install-deps.sh installs it): {e}"))
}

/// Runs a QEMU tool in `dir` and returns what it printed; it must succeed.
pub fn qemu_tool(program: &str, args: &[&str], dir: &Path) -> String {
    let out = run(program, args, dir);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a QEMU tool in `dir` that must fail, and returns its error output.
pub fn qemu_tool_fails(program: &str, args: &[&str], dir: &Path) -> String {
    let out = run(program, args, dir);
    assert!(!out.status.success(), "{program} {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `qemu-system-i386` started on an image, stopped before its first
/// instruction (`-S`), killed on drop.
pub struct RunningQemu(Child);

impl RunningQemu {
    /// Starts QEMU with `drive_args` (e.g. `["-hda", "disk.raw"]`) in `dir` and
    /// waits until it holds its locks on every byte of `bytes` of `image`
    /// (101 for a writer, 100 for a reader, 201 for refusing other writers:
    /// QEMU takes its locks one after another).
    pub fn start(dir: &Path, drive_args: &[&str], image: &Path, bytes: &[u64]) -> RunningQemu {
        let child = Command::new("qemu-system-i386")
            .args(drive_args)
            .args(["-display", "none", "-S", "-nodefaults"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run qemu-system-i386 (scripts/install-deps.sh installs it): {e}")
            });
        let mut qemu = RunningQemu(child);
        let inode = format!(":{} ", fs::metadata(image).unwrap().ino());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let locks = fs::read_to_string("/proc/locks").unwrap();
            let held = |byte: u64| {
                locks.lines().any(|l| l.contains("OFDLCK") && l.contains(&inode) && covers(l, byte))
            };
            if bytes.iter().all(|b| held(*b)) {
                return qemu;
            }
            if let Some(status) = qemu.0.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut stderr) = qemu.0.stderr.take() {
                    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
                }
                panic!("qemu-system-i386 {drive_args:?} exited ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "qemu-system-i386 took no lock on {}", image.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a line of `/proc/locks` (ending in the first and last byte) locks `byte`.
fn covers(line: &str, byte: u64) -> bool {
    let mut fields = line.split_whitespace().rev();
    let end = fields.next().and_then(|f| f.parse::<u64>().ok());
    let start = fields.next().and_then(|f| f.parse::<u64>().ok());
    matches!((start, end), (Some(start), Some(end)) if start <= byte && byte <= end)
}

/// Starts `qemu-system-i386` with `drive_args` in `dir`, expecting it to
/// refuse them and exit at once; returns its error output.
pub fn qemu_system_fails(dir: &Path, drive_args: &[&str]) -> String {
    let mut child = Command::new("qemu-system-i386")
        .args(drive_args)
        .args(["-display", "none", "-S", "-nodefaults"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run qemu-system-i386 (scripts/install-deps.sh installs it): {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qemu-system-i386 {drive_args:?} ran instead of refusing the image");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "qemu-system-i386 {drive_args:?} exited successfully");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl Drop for RunningQemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
