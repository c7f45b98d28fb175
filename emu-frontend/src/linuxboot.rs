//! Booting a Linux kernel image (bzImage, or an old zImage) with `-kernel`,
//! `-initrd` and `-append`, the way QEMU's PC does: the BIOS runs as usual,
//! and a boot option ROM of ours (`roms/linuxboot.asm`) that SeaBIOS finds
//! in fw_cfg and boots first copies the kernel's parts into memory and enters
//! the kernel's real-mode setup code. So the kernel sees what it sees under
//! QEMU: SeaBIOS's E820 map, ACPI tables and PCI set-up, and a setup header
//! filled in as QEMU fills it (Documentation/x86/boot.rst).
//!
//! This module reads the image's setup header, decides where each part goes
//! (the placement QEMU uses, so that the addresses match), fills in the
//! header fields a boot loader owns, and hands the parts to fw_cfg.

use std::path::{Path, PathBuf};

use vemu_devices::{fw_cfg_key as key, FwCfg};

use crate::error::MachineError;

/// The loader ROM, as `nasm -f bin roms/linuxboot.asm` builds it (a test
/// checks it is).
const ROM: &[u8] = include_bytes!("../roms/linuxboot.bin");
/// The ROM's fw_cfg file, and the bootorder line that makes SeaBIOS boot it first.
pub const ROM_FILE: &str = "genroms/linuxboot.bin";
const BOOTORDER: &str = "/rom@genroms/linuxboot.bin\n";

/// "HdrS": the setup header's magic at 0x202.
const HDR_MAGIC: u32 = 0x5372_6448;
/// Memory the PC keeps free below the top of RAM for the firmware's ACPI
/// tables (QEMU's i440fx machine: 128 KiB + 32 KiB); the initrd goes below.
const ACPI_DATA_SIZE: u32 = 0x28000;
/// Boot protocol loadflags.
const LOADED_HIGH: u8 = 0x01;
const CAN_USE_HEAP: u8 = 0x80;
/// type_of_loader: QEMU's (0xB), revision 0.
const LOADER_TYPE: u8 = 0xb0;

/// A kernel laid out for a machine, ready to go into fw_cfg.
#[derive(Debug)]
pub struct LinuxImage {
    pub setup_addr: u32,
    /// The setup sectors, header filled in.
    pub setup: Vec<u8>,
    pub kernel_addr: u32,
    pub kernel: Vec<u8>,
    pub cmdline_addr: u32,
    /// The command line and its terminating NUL.
    pub cmdline: Vec<u8>,
    pub initrd_addr: u32,
    pub initrd: Option<Vec<u8>>,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Whether `file` has a Linux setup header (as QEMU tells a Linux image from
/// a Multiboot one).
pub fn is_linux(file: &[u8]) -> bool {
    file.len() >= 0x206 && le32(file, 0x202) == HDR_MAGIC
}

/// The video mode of a `vga=` option, as the setup header takes it.
fn vga_mode(cmdline: &str) -> Result<Option<u16>, String> {
    let Some(at) = cmdline.find("vga=") else { return Ok(None) };
    let value = cmdline[at + 4..].split(' ').next().unwrap_or("");
    let mode = match value {
        v if v.starts_with("normal") => 0xffff,
        v if v.starts_with("ext") => 0xfffe,
        v if v.starts_with("ask") => 0xfffd,
        v => {
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u16::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.map_err(|_| format!("the command line's vga={v} is not a video mode"))?
        }
    };
    Ok(Some(mode))
}

/// Lays out `file` (a kernel image read from `path`) with `initrd` and
/// `cmdline` for a machine with `ram` bytes below 4 GiB.
pub fn load(
    path: &Path,
    file: &[u8],
    initrd: Option<(PathBuf, Vec<u8>)>,
    cmdline: &str,
    ram: u32,
) -> Result<LinuxImage, MachineError> {
    let bad = |why: String| MachineError::KernelLayout { path: path.to_path_buf(), why };
    // Every field read below lies in the first 0x270 bytes.
    if !is_linux(file) || file.len() < 0x270 {
        return Err(bad("no Linux setup header (\"HdrS\" at 0x202)".into()));
    }
    let protocol = le16(file, 0x206);
    let loadflags = if protocol >= 0x200 { file[0x211] } else { 0 };
    // Where the parts go: QEMU's placement for each generation of the protocol.
    let cmdline_len = cmdline.len() as u32;
    let (setup_addr, cmdline_addr, kernel_addr) = if protocol < 0x200 || loadflags & LOADED_HIGH == 0 {
        (0x90000, 0x9a000 - ((cmdline_len + 16) & !15), 0x10000)
    } else if protocol < 0x202 {
        (0x90000, 0x9a000 - ((cmdline_len + 16) & !15), 0x100000)
    } else {
        (0x10000, 0x20000, 0x100000)
    };
    // The longest command line the kernel takes (without the NUL).
    let cmdline_max = if protocol >= 0x206 { le32(file, 0x238) } else { 255 };
    if cmdline_len > cmdline_max {
        return Err(bad(format!(
            "the command line is {cmdline_len} bytes; this kernel takes at most {cmdline_max}"
        )));
    }

    let sectors = match file[0x1f1] {
        0 => 4,
        n => n as usize,
    };
    let setup_size = (sectors + 1) * 512;
    if setup_size > file.len() {
        return Err(bad(format!("its header gives {sectors} setup sectors, more than the file holds")));
    }
    let mut setup = file[..setup_size].to_vec();
    let kernel = file[setup_size..].to_vec();

    // The highest address the initrd may reach.
    let top = ram.saturating_sub(ACPI_DATA_SIZE);
    let mut initrd_max = if protocol >= 0x20c && le16(file, 0x236) & 0x40 != 0 {
        u32::MAX // XLF_CAN_BE_LOADED_ABOVE_4G
    } else if protocol >= 0x203 {
        le32(file, 0x22c)
    } else {
        0x37ff_ffff
    };
    if initrd_max >= top {
        initrd_max = top.saturating_sub(1);
    }

    // The kernel must fit, decompressed (init_size, protocol 2.10), below
    // the initrd or the top of memory.
    let kernel_need = if protocol >= 0x20a {
        (kernel.len() as u64).max(le32(file, 0x260) as u64)
    } else {
        kernel.len() as u64
    };
    let mut limit = top as u64;

    if protocol >= 0x202 {
        put32(&mut setup, 0x228, cmdline_addr);
    } else {
        put16(&mut setup, 0x20, 0xa33f);
        put16(&mut setup, 0x22, (cmdline_addr - setup_addr) as u16);
    }
    if let Some(mode) = vga_mode(cmdline).map_err(bad)? {
        put16(&mut setup, 0x1fa, mode);
    }
    if protocol >= 0x200 {
        setup[0x210] = LOADER_TYPE;
    }
    if protocol >= 0x201 {
        setup[0x211] |= CAN_USE_HEAP;
        put16(&mut setup, 0x224, (cmdline_addr - setup_addr - 0x200) as u16);
    }

    let mut initrd_addr = 0;
    let initrd = match initrd {
        None => None,
        Some((initrd_path, data)) => {
            if protocol < 0x200 {
                return Err(bad("this kernel is too old to take an initrd".into()));
            }
            let size = data.len() as u64;
            if size >= initrd_max as u64 {
                return Err(MachineError::KernelLayout {
                    path: initrd_path,
                    why: format!(
                        "the initrd is {} KiB; with {} MiB of RAM it may take at most {} KiB",
                        size >> 10,
                        ram >> 20,
                        initrd_max >> 10
                    ),
                });
            }
            initrd_addr = (initrd_max - size as u32) & !0xfff;
            limit = initrd_addr as u64;
            put32(&mut setup, 0x218, initrd_addr);
            put32(&mut setup, 0x21c, size as u32);
            Some(data)
        }
    };
    if kernel_addr as u64 + kernel_need > limit {
        return Err(bad(format!(
            "the kernel needs {} KiB from {kernel_addr:#x}{}; the machine has {} MiB of RAM (-m)",
            kernel_need >> 10,
            if initrd.is_some() { " below its initrd" } else { "" },
            ram >> 20
        )));
    }

    let mut cmdline_bytes = cmdline.as_bytes().to_vec();
    cmdline_bytes.push(0);
    Ok(LinuxImage {
        setup_addr,
        setup,
        kernel_addr,
        kernel,
        cmdline_addr,
        cmdline: cmdline_bytes,
        initrd_addr,
        initrd,
    })
}

/// The loader ROM with its checksum byte set.
fn rom() -> Vec<u8> {
    let mut rom = ROM.to_vec();
    let sum = rom.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    let last = rom.len() - 1;
    rom[last] = rom[last].wrapping_sub(sum);
    rom
}

impl LinuxImage {
    /// Hands the parts, the loader ROM and the boot order to fw_cfg.
    pub fn install(self, fw: &mut FwCfg) {
        let u32_item = |v: usize| (v as u32).to_le_bytes().to_vec();
        fw.set(key::SETUP_ADDR, u32_item(self.setup_addr as usize));
        fw.set(key::SETUP_SIZE, u32_item(self.setup.len()));
        fw.set(key::SETUP_DATA, self.setup);
        fw.set(key::KERNEL_ADDR, u32_item(self.kernel_addr as usize));
        fw.set(key::KERNEL_SIZE, u32_item(self.kernel.len()));
        fw.set(key::KERNEL_DATA, self.kernel);
        fw.set(key::CMDLINE_ADDR, u32_item(self.cmdline_addr as usize));
        fw.set(key::CMDLINE_SIZE, u32_item(self.cmdline.len()));
        fw.set(key::CMDLINE_DATA, self.cmdline);
        if let Some(initrd) = self.initrd {
            fw.set(key::INITRD_ADDR, u32_item(self.initrd_addr as usize));
            fw.set(key::INITRD_SIZE, u32_item(initrd.len()));
            fw.set(key::INITRD_DATA, initrd);
        }
        fw.add_file(ROM_FILE, rom());
        fw.add_file("bootorder", BOOTORDER.as_bytes().to_vec());
    }
}

/// The lines of a Linux console log in which the kernel says it computed
/// something wrong, or worse: a crypto self-test that failed (a boot runs
/// dozens, from SHA-2 to RSA and Diffie-Hellman, on the CPU it boots on), a
/// WARNING, a BUG, an oops, a panic. A boot that printed one did not
/// succeed, however far it went: miscompiled code can make a kernel boot
/// faster by failing its self-tests early. The Linux tests and the boot
/// benchmark (`compare-pc`) check for them.
pub fn kernel_complaints(log: &str) -> Vec<&str> {
    const SIGNS: [&str; 7] = [
        "WARNING:",
        "BUG:",
        "Oops:",
        "Call Trace:",
        "general protection fault",
        "invalid opcode:",
        "Kernel panic",
    ];
    log.lines()
        .filter(|l| (l.contains("alg:") && l.contains("failed")) || SIGNS.iter().any(|s| l.contains(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bzImage-shaped file: `sectors` setup sectors, protocol `protocol`,
    /// `payload` bytes of kernel.
    fn image(protocol: u16, sectors: u8, payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; (sectors as usize + 1) * 512 + payload];
        for (i, b) in f[(sectors as usize + 1) * 512..].iter_mut().enumerate() {
            *b = i as u8;
        }
        f[0x1fe] = 0x55;
        f[0x1ff] = 0xaa;
        f[0x1f1] = sectors;
        put32(&mut f, 0x202, HDR_MAGIC);
        put16(&mut f, 0x206, protocol);
        f[0x211] = LOADED_HIGH;
        put32(&mut f, 0x22c, 0x7fff_ffff);
        put32(&mut f, 0x238, 2047);
        put32(&mut f, 0x260, 0x80_0000);
        f
    }

    const RAM: u32 = 128 << 20;

    #[test]
    fn modern_kernel_is_placed_as_qemu_places_it() {
        let f = image(0x20f, 30, 5000);
        let initrd = vec![7u8; 10_000];
        let img =
            load(Path::new("k"), &f, Some((PathBuf::from("i"), initrd)), "console=ttyS0 vga=0x317", RAM)
                .unwrap();
        assert_eq!((img.setup_addr, img.cmdline_addr, img.kernel_addr), (0x10000, 0x20000, 0x100000));
        assert_eq!(img.setup.len(), 31 * 512);
        assert_eq!(img.kernel, f[31 * 512..]);
        assert_eq!(img.cmdline, b"console=ttyS0 vga=0x317\0");
        // The initrd ends at the last page below RAM - ACPI data - 1.
        let max = RAM - ACPI_DATA_SIZE - 1;
        assert_eq!(img.initrd_addr, (max - 10_000) & !0xfff);
        let h = &img.setup;
        assert_eq!(le32(h, 0x218), img.initrd_addr);
        assert_eq!(le32(h, 0x21c), 10_000);
        assert_eq!(le32(h, 0x228), 0x20000);
        assert_eq!(h[0x210], LOADER_TYPE);
        assert_eq!(h[0x211], LOADED_HIGH | CAN_USE_HEAP);
        assert_eq!(le16(h, 0x224) as u32, 0x20000 - 0x10000 - 0x200);
        assert_eq!(le16(h, 0x1fa), 0x317);
    }

    #[test]
    fn old_protocols_use_the_low_layout() {
        let mut f = image(0x201, 4, 100);
        let img = load(Path::new("k"), &f, None, "ro", RAM).unwrap();
        assert_eq!((img.setup_addr, img.kernel_addr), (0x90000, 0x100000));
        assert_eq!(img.cmdline_addr, 0x9a000 - 16);
        assert_eq!(le16(&img.setup, 0x20), 0xa33f, "the old command-line magic");
        assert_eq!(le16(&img.setup, 0x22) as u32, img.cmdline_addr - 0x90000);
        f[0x211] = 0; // zImage: loaded low
        let img = load(Path::new("k"), &f, None, "", RAM).unwrap();
        assert_eq!(img.kernel_addr, 0x10000);
        // Zero setup sectors mean four.
        let f = image(0x20f, 0, 3000);
        assert_eq!(load(Path::new("k"), &f, None, "", RAM).unwrap().setup.len(), 5 * 512);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let err = |r: Result<LinuxImage, MachineError>| r.unwrap_err().to_string();
        let f = image(0x20f, 4, 100);
        let long = "x".repeat(2048);
        assert!(err(load(Path::new("k"), &f, None, &long, RAM)).contains("at most 2047"));
        let old = image(0x204, 4, 100);
        assert!(err(load(Path::new("k"), &old, None, &"y".repeat(256), RAM)).contains("at most 255"));
        let e = err(load(Path::new("k"), &f, Some((PathBuf::from("big"), vec![0; 130 << 20])), "", RAM));
        assert!(e.starts_with("cannot load big: the initrd is"), "{e}");
        // init_size 8 MiB does not fit in 8 MiB of RAM.
        assert!(err(load(Path::new("k"), &f, None, "", 8 << 20)).contains("the kernel needs 8192 KiB"));
        let e = err(load(Path::new("k"), &f, Some((PathBuf::from("i"), vec![0; 119 << 20])), "", RAM));
        assert!(e.contains("below its initrd"), "{e}");
        assert!(err(load(Path::new("k"), &f, None, "vga=fast", RAM)).contains("vga=fast"));
        assert!(err(load(Path::new("k"), &f[..0x250], None, "", RAM)).contains("HdrS"));
        let mut short = image(0x20f, 60, 0);
        short.truncate(20 * 512);
        assert!(err(load(Path::new("k"), &short, None, "", RAM)).contains("60 setup sectors"));
    }

    #[test]
    fn rom_checksum_and_boot_entry() {
        let rom = rom();
        assert_eq!(rom.iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);
        assert_eq!(&rom[..2], &[0x55, 0xaa]);
        assert_eq!(rom[2] as usize * 512, rom.len());
        let pnp = le16(&rom, 0x1a) as usize;
        assert_eq!(&rom[pnp..pnp + 4], b"$PnP");
        assert_ne!(le16(&rom, pnp + 0x1a), 0, "a boot entry vector");
    }

    #[test]
    fn committed_rom_is_what_the_source_assembles_to() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("roms");
        let out = std::env::temp_dir().join(format!("vemu-linuxboot-{}.bin", std::process::id()));
        let status = std::process::Command::new("nasm")
            .args(["-f", "bin", "-o"])
            .arg(&out)
            .arg(dir.join("linuxboot.asm"))
            .status()
            .expect("nasm (scripts/install-deps.sh installs it)");
        assert!(status.success());
        let built = std::fs::read(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        assert!(built == ROM, "roms/linuxboot.bin is stale: run nasm -f bin -o linuxboot.bin linuxboot.asm");
    }

    #[test]
    fn a_failed_self_test_or_a_warning_is_a_complaint_and_a_passed_one_is_not() {
        // From a boot whose JIT miscompiled RSA, and a sound one.
        let log = "[    1.663860] alg: self-tests for CTR-KDF (hmac(sha256)) passed
[    2.539975] alg: akcipher: decrypt test failed. Invalid output
[    2.540044] alg: self-tests for rsa using rsa-generic failed (rc=-22)
[    2.540057] WARNING: CPU: 0 PID: 57 at crypto/testmgr.c:5907 alg_test.cold+0xd6/0x10a
[    2.649000] PCI: Using host bridge windows from ACPI; if necessary, use \"pci=nocrs\" and report a bug
[    2.694000] acpi PNP0A03:00: fail to add MMCONFIG information
";
        let found = kernel_complaints(log);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("decrypt test failed") && found[2].contains("WARNING:"));
        assert!(kernel_complaints("[    0.0] Linux version 6.1.0\nVEMU-GUEST-READY\n").is_empty());
    }
}
