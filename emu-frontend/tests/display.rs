//! The display, the keyboard and the monitor (issue 9), checked against QEMU:
//! scripts/display-test.py drives vemu and qemu-system-i386 through QMP (the
//! qemu.qmp package) booting test-roms/boot/display.asm, which draws known
//! pictures in text modes (80x25, 40x25, 80x50), the planar 16-colour modes
//! 12h and 0Dh, the CGA modes 4 and 6, mode 13h, mode X and VBE modes of 32,
//! 24, 16, 15 and 8 bits per pixel; every
//! screendump must equal QEMU's pixel for pixel, and keys sent through QMP
//! must reach the program as expected, in both emulators.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// The Python with the QMP client (scripts/python-deps.sh makes it).
fn python() -> PathBuf {
    let out = Command::new(common::repo().join("scripts/python-deps.sh"))
        .output()
        .expect("running scripts/python-deps.sh");
    assert!(out.status.success(), "scripts/python-deps.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The boot test images (scripts/build-boot-tests.sh caches them).
fn boot_images() -> PathBuf {
    common::build_images("build-boot-tests.sh")
}

#[test]
fn screendumps_equal_qemus_and_keys_arrive() {
    common::require("qemu-system-i386");
    let image = boot_images().join("boot-display.img");
    let work = common::scratch().join("display");
    let _ = std::fs::remove_dir_all(&work);
    let out = Command::new(python())
        .arg(common::repo().join("scripts/display-test.py"))
        .arg("--vemu")
        .arg(env!("CARGO_BIN_EXE_vemu"))
        .arg("--image")
        .arg(&image)
        .arg("--work")
        .arg(&work)
        .output()
        .expect("running scripts/display-test.py");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "display test failed:\n{text}");
    assert_eq!(text.matches("agree pixel for pixel").count(), 14, "{text}");
}

/// The terminal display under tmux: the text screen drawn in the terminal,
/// a line for graphics modes, keys typed there reaching the guest (INT 16h),
/// and the terminal put back afterwards.
#[test]
fn the_terminal_display_shows_text_and_takes_keys() {
    let image = boot_images().join("boot-display.img");
    let dir = common::scratch().join("display-terminal");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let script = format!(
        "stty -a > {d}/before; {} run -display curses -serial file:{d}/serial -snapshot -fda {}; \
         s=$?; stty -a > {d}/after; echo $s > {d}/status; sleep 60",
        env!("CARGO_BIN_EXE_vemu"),
        image.display()
    );
    let t = common::Tmux::start("display", &script);
    let long = std::time::Duration::from_secs(60);
    // 80x25 text: the program's rows of ASCII.
    t.wait_for("0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno", long);
    t.keys(&["Space"]);
    t.wait_for("vemu 40 columns", long);
    t.keys(&["Space"]);
    t.wait_for("50 rows, 8x8 font", long);
    t.keys(&["Space"]);
    t.wait_for("the guest is in a 640x480 graphics mode", long);
    // Through the other graphics scenes to the key echo.
    for _ in 0..11 {
        t.keys(&["Space"]);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let serial = || std::fs::read_to_string(dir.join("serial")).unwrap_or_default();
    let start = std::time::Instant::now();
    while !serial().contains("ECHO") {
        assert!(start.elapsed() < long, "no ECHO; serial:\n{}\nscreen:\n{}", serial(), t.screen());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.keys(&["h", "I", "Enter", "Escape"]);
    while std::fs::read_to_string(dir.join("status")).unwrap_or_default().is_empty() {
        assert!(start.elapsed() < long, "vemu did not end; serial:\n{}", serial());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let keys: Vec<String> = serial().lines().filter(|l| l.starts_with("KEY")).map(String::from).collect();
    assert_eq!(keys, ["KEY 2368", "KEY 1749", "KEY 1c0d", "KEY 011b"], "serial:\n{}", serial());
    let status = std::fs::read_to_string(dir.join("status")).unwrap();
    assert_eq!(status.trim(), "1", "the program passes through isa-debug-exit");
    assert_eq!(
        std::fs::read_to_string(dir.join("before")).unwrap(),
        std::fs::read_to_string(dir.join("after")).unwrap(),
        "the terminal was not restored"
    );
}
