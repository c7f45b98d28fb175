//! A short seeded run of the system-level soak (`vemu-diff soak`), in the
//! debug build the tests use, so with overflow checks on: generated system
//! states and code run in the interpreter and the JIT in lockstep, and there
//! must be no divergence and no host panic; and a shorter one against QEMU
//! (`vemu-diff soak --qemu`), where each case runs single-stepped in QEMU too
//! and the traces must agree but for reviewed allowlist entries. A missing
//! QEMU fails the test.

use std::path::Path;

use vemu_difftest::default_allowlist;
use vemu_difftest::soak::{self, SoakOptions};

#[test]
fn a_short_soak_finds_nothing() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak");
    std::fs::create_dir_all(&work).expect("work directory");
    let opts = SoakOptions {
        seed: 20261206,
        first_case: 0,
        cases: Some(24),
        instructions: None,
        seconds: None,
        case_limit: 400_000,
    };
    let report = soak::run(&opts, &work, |_| {}).expect("the soak runs");
    assert!(report.clean(), "{}", report.text(opts.seed));
    assert_eq!(report.cases, 24);
    assert!(report.instructions > 500_000, "{}", report.text(opts.seed));
    assert!(report.vectors.len() >= 20, "too few kinds of interrupts: {}", report.text(opts.seed));
    assert!(report.outcomes.len() >= 2, "every case ended alike: {}", report.text(opts.seed));
}

#[test]
fn a_short_soak_against_qemu_finds_nothing() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak-qemu");
    std::fs::create_dir_all(&work).expect("work directory");
    let opts = SoakOptions {
        seed: 20261206,
        first_case: 0,
        cases: Some(6),
        instructions: None,
        seconds: None,
        case_limit: 60_000,
    };
    let report = soak::qemu::run(&opts, &work, &default_allowlist(), |_| {}).expect("the soak runs");
    let text = report.text(opts.seed);
    assert!(report.clean(), "{text}");
    assert_eq!(report.cases, 6);
    assert!(report.instructions > 50_000, "{text}");
    assert!(report.steps_compared > 10_000, "too little compared: {text}");
}
