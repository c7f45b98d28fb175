//! The display, the keyboard and the monitor (issue 9), checked against QEMU:
//! scripts/display-test.py drives vemu and qemu-system-i386 through QMP (the
//! qemu.qmp package) booting test-roms/boot/display.asm, which draws known
//! pictures in text modes (80x25, 40x25, 80x50), the planar 16-colour mode
//! 12h, mode 13h, mode X and VBE modes of 32, 16 and 8 bits per pixel; every
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
    let repo = common::repo();
    let dir = repo.join("target/guests");
    let status = Command::new(repo.join("scripts/build-boot-tests.sh"))
        .env("VEMU_GUEST_DIR", &dir)
        .status()
        .expect("running scripts/build-boot-tests.sh");
    assert!(status.success(), "scripts/build-boot-tests.sh failed");
    dir
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
    assert_eq!(text.matches("agree pixel for pixel").count(), 9, "{text}");
}
