// The hand-written test ROMs, `test-roms/NAME.asm`, listed once for the test crates
// that run every one of them (emu-frontend/tests/roms.rs, difftest/tests/diff.rs):
// they `include!` this file and call `for_each_rom!(their_macro)`, which expands to
// `their_macro!(alu, bcd, ...)`, and each checks the list against the directory
// with `check_rom_list`.
//
// A ROM that needs a CPU feature no model has by default names the CPU it wants
// in a header line `; cpu: MODEL[,+flag...]` (QEMU's -cpu syntax, a model QEMU
// has too): the harnesses run it on that CPU in QEMU, and in vemu on it as well
// as on the default model (test-roms/pae.asm: execute-disable).

macro_rules! for_each_rom {
    ($m:ident) => {
        $m!(
            alu,
            apic,
            bcd,
            bitops,
            callgate,
            codealias,
            condition,
            control,
            data,
            descinsn,
            doublefault,
            exceptions,
            framework,
            iobitmap,
            misc,
            mmx,
            modeswitch,
            muldiv,
            pagefault,
            pae,
            paging,
            rings,
            rotflags,
            seglimits,
            segments,
            shift,
            smc,
            sse,
            stack,
            stacksize,
            string,
            sysenter,
            system,
            task,
            timer,
            triplefault,
            unreal,
            v86,
            x87,
        );
    };
}

/// Panics unless `listed` names exactly the `.asm` files in `dir`.
fn check_rom_list(dir: &std::path::Path, listed: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "asm").then_some(stem)
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add new ROMs to for_each_rom! in test-roms/roms.rs");
}
