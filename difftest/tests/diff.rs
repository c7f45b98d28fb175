//! The differential runner in CI: every hand-written ROM of test-roms/ (on the
//! CPU its `; cpu:` line names, if any) and a fixed set of generated streams
//! (every family, in real mode and under 32-bit and PAE paging) run in vemu and
//! in QEMU, single-stepped, and must agree at every instruction (undefined
//! flags masked, reviewed allowlist applied), with the interpreter and with
//! every block compiled by the JIT (lockstep). A missing nasm or QEMU fails the
//! test.

use std::path::{Path, PathBuf};

use vemu_difftest::gen::{Family, Mode};
use vemu_difftest::run::cpu_model;
use vemu_difftest::{
    assemble, default_allowlist, diff_rom_on, rom_cpu, rom_dir, stream_rom, CpuModel, Engine, QEMU_DEFINES,
};

fn work() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("difftest");
    std::fs::create_dir_all(&d).expect("work directory");
    d
}

/// Both tiers against QEMU on `model`: the interpreter, then every block compiled.
fn check(name: &str, bin: &Path, model: &CpuModel) {
    for engine in [Engine::Interp, Engine::Jit] {
        let r = diff_rom_on(bin, &work(), &default_allowlist(), engine, model)
            .unwrap_or_else(|e| panic!("{name} ({engine:?}): {e}"));
        if let Some(d) = &r.comparison.divergence {
            panic!("{name}: vemu ({engine:?}) and QEMU diverge\n{}", d.text);
        }
        assert!(r.comparison.steps > 100, "{name}: only {} steps compared", r.comparison.steps);
    }
}

fn rom(name: &str) {
    let src = rom_dir().join(format!("{name}.asm"));
    let bin = work().join(format!("{name}.diff.bin"));
    assemble(&src, &bin).unwrap();
    check(name, &bin, &rom_cpu(&src).unwrap().unwrap_or_else(cpu_model));
}

macro_rules! rom_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                rom(stringify!($name));
            }
        )*
        const ROMS: &[&str] = &[$(stringify!($name)),*];
    };
}

include!("../../test-roms/roms.rs");
for_each_rom!(rom_tests);

#[test]
fn every_hand_written_rom_is_compared() {
    check_rom_list(&rom_dir(), ROMS);
}

/// Generated instructions per family and mode in CI (the soak runs millions).
const CI_COUNT: usize = 2500;
/// Seeds CI runs, fixed so that a failure reproduces.
const CI_SEEDS: [u64; 2] = [1, 2];

fn stream(family: Family, mode: Mode) {
    for seed in CI_SEEDS {
        let s = stream_rom(family, mode, seed, CI_COUNT, &work(), QEMU_DEFINES).unwrap();
        check(&s.name, &s.rom, &cpu_model());
    }
}

macro_rules! stream_tests {
    ($($test:ident: $family:ident $mode:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                stream(Family::$family, Mode::$mode);
            }
        )*
    };
}

stream_tests!(
    stream_alu_real: Alu Real, stream_alu_pm: Alu Protected, stream_alu_pae: Alu Pae,
    stream_shift_real: Shift Real, stream_shift_pm: Shift Protected, stream_shift_pae: Shift Pae,
    stream_muldiv_real: MulDiv Real, stream_muldiv_pm: MulDiv Protected, stream_muldiv_pae: MulDiv Pae,
    stream_bcd_real: Bcd Real, stream_bcd_pm: Bcd Protected, stream_bcd_pae: Bcd Pae,
    stream_bit_real: Bit Real, stream_bit_pm: Bit Protected, stream_bit_pae: Bit Pae,
    stream_string_real: String Real, stream_string_pm: String Protected, stream_string_pae: String Pae,
    stream_data_real: Data Real, stream_data_pm: Data Protected, stream_data_pae: Data Pae,
    stream_stack_real: Stack Real, stream_stack_pm: Stack Protected, stream_stack_pae: Stack Pae,
    stream_cond_real: Cond Real, stream_cond_pm: Cond Protected, stream_cond_pae: Cond Pae,
    stream_flags_real: Flags Real, stream_flags_pm: Flags Protected, stream_flags_pae: Flags Pae,
    stream_x87_real: X87 Real, stream_x87_pm: X87 Protected, stream_x87_pae: X87 Pae,
    stream_mmx_real: Mmx Real, stream_mmx_pm: Mmx Protected, stream_mmx_pae: Mmx Pae,
    stream_sse_real: SseFloat Real, stream_sse_pm: SseFloat Protected, stream_sse_pae: SseFloat Pae,
    stream_sse2int_real: SseInt Real, stream_sse2int_pm: SseInt Protected, stream_sse2int_pae: SseInt Pae,
);
