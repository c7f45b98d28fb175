//! The serial console on a real terminal (tmux): keys typed there reach the
//! guest, Ctrl-A x quits, and the terminal is as it was afterwards, whichever
//! way the run ends (issue 8).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{scratch, Tmux};

/// A copy of guest image `name` in `dir` (each test runs its own, and the
/// built images stay as they are).
fn guest_image(name: &str, dir: &Path) -> PathBuf {
    let guests = common::build_images("build-guests.sh");
    let copy = dir.join(name);
    std::fs::copy(guests.join(name), &copy).expect("copying the image");
    copy
}

/// The shell line that runs vemu on `image`, then records its exit status
/// and the terminal settings before and after it in `dir`.
fn script(dir: &Path, image: &Path) -> String {
    let d = dir.display();
    format!(
        "stty -a > {d}/before; {} run -nographic -no-reboot {} ; echo $? > {d}/status; stty -a > {d}/after; sleep 60",
        env!("CARGO_BIN_EXE_vemu"),
        image.display()
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// Waits for the run in `dir` to end; its exit status.
fn exit_status(dir: &Path) -> String {
    let start = Instant::now();
    while read(dir, "status").is_empty() || read(dir, "after").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "vemu did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    read(dir, "status").trim().to_string()
}

#[test]
fn keys_typed_at_the_boot_prompt_reach_the_guest() {
    let dir = scratch().join("console-keys");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = Tmux::start("keys", &script(&dir, &guest_image("hd-syslinux.img", &dir)));
    // SYSLINUX waits a second at "boot:" for the default entry (Debian's
    // kernel); typed in time, "mini" picks the test kernel, which ends the
    // run through the debug-exit port (status 1).
    t.wait_for("SYSLINUX", Duration::from_secs(60));
    t.keys(&["mini", "Enter"]);
    let screen = t.wait_for("PASS", Duration::from_secs(60));
    // The test kernel's own line (SYSLINUX's "Loading /minikern" can be
    // overwritten on the terminal: SeaBIOS's serial console redraws the
    // screen there with cursor moves while SYSLINUX also writes to COM1).
    assert!(screen.contains("minikernel: command line: BOOT_IMAGE=/minikern"), "{screen}");
    assert_eq!(exit_status(&dir), "1", "{}", t.screen());
    assert_eq!(read(&dir, "before"), read(&dir, "after"), "the terminal was not restored");
}

#[test]
fn ctrl_a_x_quits_and_restores_the_terminal() {
    let dir = scratch().join("console-quit");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // SYSLINUX loads Debian's kernel, which then stops for want of an FPU:
    // the run goes on until the user quits.
    let t = Tmux::start("quit", &script(&dir, &guest_image("hd-syslinux.img", &dir)));
    // (SYSLINUX's lines are the marker that the guest runs: its "Loading"
    // lines can be overwritten by SeaBIOS's serial console redrawing.)
    t.wait_for("SYSLINUX", Duration::from_secs(60));
    // Help first, then quit.
    t.keys(&["C-a", "h"]);
    t.wait_for("C-a x    exit emulator", Duration::from_secs(10));
    t.keys(&["C-a", "x"]);
    assert_eq!(exit_status(&dir), "0", "{}", t.screen());
    assert!(t.screen().contains("terminating on user request"), "{}", t.screen());
    assert_eq!(read(&dir, "before"), read(&dir, "after"), "the terminal was not restored");
}

#[test]
fn a_signal_ends_the_run_and_restores_the_terminal() {
    let dir = scratch().join("console-signal");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let image = guest_image("hd-syslinux.img", &dir);
    let t = Tmux::start("signal", &script(&dir, &image));
    // (SYSLINUX's lines are the marker that the guest runs: its "Loading"
    // lines can be overwritten by SeaBIOS's serial console redrawing.)
    t.wait_for("SYSLINUX", Duration::from_secs(60));
    // vemu itself, not the shell around it (whose command line names it too).
    let pattern = format!("^{} run -nographic -no-reboot {}", env!("CARGO_BIN_EXE_vemu"), image.display());
    let ok = Command::new("pkill").args(["-TERM", "-f", &pattern]).status();
    assert!(ok.is_ok_and(|s| s.success()), "pkill failed");
    assert_eq!(exit_status(&dir), "0", "{}", t.screen());
    assert!(t.screen().contains("terminating on signal 15"), "{}", t.screen());
    assert_eq!(read(&dir, "before"), read(&dir, "after"), "the terminal was not restored");
}
