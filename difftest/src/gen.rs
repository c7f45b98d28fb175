//! Seeded random instruction streams, one instruction family at a time, written
//! as nasm sources on the test-ROM frame (`test-roms/lib/rom.inc`).
//!
//! A stream runs in real mode or in 32-bit protected mode with paging, 32-bit
//! or PAE. Its data (8 KiB of seeded random bytes copied from the ROM) sits
//! behind DS=ES=FS=GS: segment 0x1000 in real mode, a data segment based at
//! 1 MiB in protected mode, where one of its pages starts not present so that
//! the first access to it takes a page fault, which a handler resolves by
//! mapping the page and restarting the instruction. Under PAE paging (identity
//! mapped too) the data segment is based at 0x1FF000, so that its first page
//! goes through a 4 KiB PTE and its second is the start of a 2 MiB page, the
//! one that starts not present; accesses that straddle the two cross from one
//! format of mapping to the other. EBX, ESI and EDI always hold small offsets, so every generated
//! address stays inside the data (and inside the 64 KiB real-mode limit, which
//! QEMU 7.2 does not check); the other general registers take any value.
//! Divides may raise #DE; the ROM frame's recorder resumes after them.
//!
//! Flags the SDM leaves undefined after an instruction are tracked so that no
//! generated instruction reads one: a flag-defining CMP is inserted first. The
//! differential runner masks the undefined flags themselves.
//!
//! The x87, MMX, SSE and SSE2 families are in `gen/fp.rs`.

use std::fmt::Write as _;

use crate::rng::Rng;

mod fp;

/// Instruction families (issue 3 names them).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Family {
    Alu,
    Shift,
    MulDiv,
    Bcd,
    Bit,
    String,
    Data,
    Stack,
    Cond,
    Flags,
    X87,
    Mmx,
    SseFloat,
    SseInt,
}

impl Family {
    pub const ALL: [Family; 14] = [
        Family::Alu,
        Family::Shift,
        Family::MulDiv,
        Family::Bcd,
        Family::Bit,
        Family::String,
        Family::Data,
        Family::Stack,
        Family::Cond,
        Family::Flags,
        Family::X87,
        Family::Mmx,
        Family::SseFloat,
        Family::SseInt,
    ];

    /// The families of the floating-point and SIMD units (`gen/fp.rs`).
    pub fn is_fp(self) -> bool {
        matches!(self, Family::X87 | Family::Mmx | Family::SseFloat | Family::SseInt)
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Alu => "alu",
            Family::Shift => "shift",
            Family::MulDiv => "muldiv",
            Family::Bcd => "bcd",
            Family::Bit => "bit",
            Family::String => "string",
            Family::Data => "data",
            Family::Stack => "stack",
            Family::Cond => "cond",
            Family::Flags => "flags",
            Family::X87 => "x87",
            Family::Mmx => "mmx",
            Family::SseFloat => "sse",
            Family::SseInt => "sse2int",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.name() == s)
    }
}

/// Where a stream runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Real mode, 16-bit code.
    Real,
    /// 32-bit protected mode with 32-bit paging.
    Protected,
    /// 32-bit protected mode with PAE paging, 4 KiB and 2 MiB pages.
    Pae,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Real, Mode::Protected, Mode::Pae];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Real => "real",
            Mode::Protected => "pm",
            Mode::Pae => "pae",
        }
    }

    /// 32-bit protected mode (with either kind of paging).
    pub fn protected(self) -> bool {
        self != Mode::Real
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.iter().copied().find(|m| m.name() == s)
    }
}

// EFLAGS bits.
const CF: u32 = 0x1;
const PF: u32 = 0x4;
const AF: u32 = 0x10;
const ZF: u32 = 0x40;
const SF: u32 = 0x80;
const OF: u32 = 0x800;
const ARITH: u32 = CF | PF | AF | ZF | SF | OF;

/// Bytes of random data behind the data segment.
const DATA_BYTES: u32 = 0x2000;
/// EBX, ESI and EDI stay in ADDR_REG_MIN..ADDR_REG_LIMIT: displacements below
/// 0x100 and scales up to 4 keep every address below DATA_BYTES, and a negative
/// bit offset of BTx (down to -0x300 bits) never reaches below 0.
const ADDR_REG_MIN: u32 = 0x100;
/// Page-table entries protected mode maps: the first MiB and the data above it.
const PT_ENTRIES: u32 = 0x100 + DATA_BYTES / 0x1000;
const ADDR_REG_LIMIT: u32 = 0x600;

const R8: [&str; 6] = ["al", "ah", "cl", "ch", "dl", "dh"];
const R16: [&str; 4] = ["ax", "cx", "dx", "bp"];
const R32: [&str; 4] = ["eax", "ecx", "edx", "ebp"];

/// Condition codes and the flags each reads.
const CONDITIONS: [(&str, u32); 16] = [
    ("o", OF),
    ("no", OF),
    ("b", CF),
    ("ae", CF),
    ("z", ZF),
    ("nz", ZF),
    ("be", CF | ZF),
    ("a", CF | ZF),
    ("s", SF),
    ("ns", SF),
    ("p", PF),
    ("np", PF),
    ("l", SF | OF),
    ("ge", SF | OF),
    ("le", ZF | SF | OF),
    ("g", ZF | SF | OF),
];

struct Gen {
    rng: Rng,
    mode: Mode,
    out: String,
    /// Flags currently undefined.
    undefined: u32,
    labels: u32,
    /// Instructions emitted in the body.
    count: usize,
    /// Registers on the x87 stack (the x87 family keeps it from faulting).
    fp_depth: u32,
}

impl Gen {
    fn line(&mut self, text: &str) {
        self.out.push_str("    ");
        self.out.push_str(text);
        self.out.push('\n');
        self.count += 1;
    }

    fn label(&mut self) -> String {
        self.labels += 1;
        format!(".L{}", self.labels)
    }

    fn place(&mut self, label: &str) {
        let _ = writeln!(self.out, "{label}:");
    }

    /// Records an instruction's flag effects: `defined` written, `undefined` left undefined.
    fn flags(&mut self, defined: u32, undefined: u32) {
        self.undefined = (self.undefined & !defined) | undefined;
    }

    /// Makes sure the flags in `reads` are defined before an instruction reads them.
    fn need(&mut self, reads: u32) {
        if self.undefined & reads != 0 {
            let r = self.rng.pick(&R32);
            let r2 = self.rng.pick(&R32);
            self.line(&format!("cmp {r}, {r2}"));
            self.flags(ARITH, 0);
        }
    }

    fn size(&mut self) -> u32 {
        self.rng.pick(&[1, 2, 4])
    }

    fn reg(&mut self, size: u32) -> &'static str {
        let regs: &[&'static str] = match size {
            1 => &R8,
            2 => &R16,
            _ => &R32,
        };
        self.rng.pick(regs)
    }

    fn kw(size: u32) -> &'static str {
        match size {
            1 => "byte",
            2 => "word",
            _ => "dword",
        }
    }

    /// An address expression inside the data, with 16- or 32-bit addressing.
    fn addr(&mut self) -> String {
        let disp = self.rng.below(0x100);
        if self.rng.chance(50) {
            let base = self.rng.pick(&["bx+si", "bx+di", "si", "di", "bx"]);
            if disp == 0 && self.rng.chance(50) {
                format!("[{base}]")
            } else {
                format!("[{base}+{disp:#x}]")
            }
        } else {
            let base = self.rng.pick(&["ebx", "esi", "edi"]);
            if self.rng.chance(50) {
                let index = self.rng.pick(&["ebx", "esi", "edi"]);
                let scale = self.rng.pick(&[1, 2, 4]);
                format!("[{base}+{index}*{scale}+{disp:#x}]")
            } else {
                format!("[{base}+{disp:#x}]")
            }
        }
    }

    fn mem(&mut self, size: u32) -> String {
        format!("{} {}", Self::kw(size), self.addr())
    }

    /// A register or memory operand.
    fn rm(&mut self, size: u32) -> String {
        if self.rng.chance(40) {
            self.mem(size)
        } else {
            self.reg(size).to_string()
        }
    }

    fn imm(&mut self, size: u32) -> u32 {
        let v = self.rng.interesting();
        match size {
            1 => v & 0xff,
            2 => v & 0xffff,
            _ => v,
        }
    }

    // ---- families -----------------------------------------------------------------

    fn alu(&mut self) {
        let size = self.size();
        match self.rng.below(10) {
            0..=5 => {
                let op = self.rng.pick(&["add", "adc", "sub", "sbb", "cmp", "and", "or", "xor", "test"]);
                if op == "adc" || op == "sbb" {
                    self.need(CF);
                }
                let form = self.rng.below(4);
                let text = match form {
                    0 => format!("{op} {}, {}", self.reg(size), self.reg(size)),
                    1 if op != "test" => format!("{op} {}, {}", self.reg(size), self.mem(size)),
                    2 => format!("{op} {}, {}", self.mem(size), self.reg(size)),
                    _ => {
                        let dst = self.rm(size);
                        if size > 1 && self.rng.chance(40) && op != "test" {
                            // imm8 sign-extended (83 /x)
                            format!("{op} {dst}, byte {}", self.imm(1) as i8)
                        } else {
                            format!("{op} {dst}, {:#x}", self.imm(size))
                        }
                    }
                };
                self.line(&text);
                // AND OR XOR TEST leave AF undefined.
                let undefined = if matches!(op, "and" | "or" | "xor" | "test") { AF } else { 0 };
                self.flags(ARITH & !undefined, undefined);
            }
            6 => {
                let op = self.rng.pick(&["inc", "dec", "neg", "not"]);
                let dst = self.rm(size);
                self.line(&format!("{op} {dst}"));
                match op {
                    "not" => {}
                    "neg" => self.flags(ARITH, 0),
                    _ => self.flags(ARITH & !CF, 0),
                }
            }
            7 => {
                let dst = self.rm(size);
                let src = self.reg(size);
                self.line(&format!("xadd {dst}, {src}"));
                self.flags(ARITH, 0);
            }
            _ => {
                let dst = self.rm(size);
                let src = self.reg(size);
                self.line(&format!("cmpxchg {dst}, {src}"));
                self.flags(ARITH, 0);
            }
        }
    }

    fn shift(&mut self) {
        let size = self.size();
        let op = self.rng.pick(&["shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd"]);
        if op == "rcl" || op == "rcr" {
            self.need(CF);
        }
        let dst = self.rm(size);
        let count = match self.rng.below(3) {
            0 => "1".to_string(),
            1 => format!("{}", self.rng.below(40)),
            _ => {
                let c = self.rng.below(40);
                self.line(&format!("mov cl, {c}"));
                "cl".to_string()
            }
        };
        if op == "shld" || op == "shrd" {
            if size == 1 || dst.contains("cl") || dst.contains("cx") || dst.contains("ecx") {
                return;
            }
            let src = loop {
                let r = self.reg(size);
                if !r.contains('c') {
                    break r;
                }
            };
            self.line(&format!("{op} {dst}, {src}, {count}"));
        } else {
            if count == "cl" && (dst == "cl" || dst == "ch") {
                return;
            }
            self.line(&format!("{op} {dst}, {count}"));
        }
        if op == "rcl" || op == "rcr" {
            self.qemu_flag_loss(&dst);
        }
        // Conservatively: OF (count other than 1), AF, and CF (counts past the
        // operand size) may be undefined; rotates leave SF ZF PF AF alone.
        match op {
            "rol" | "ror" | "rcl" | "rcr" => self.flags(0, CF | OF),
            _ => self.flags(SF | ZF | PF, CF | OF | AF),
        }
    }

    fn muldiv(&mut self) {
        let size = self.size();
        match self.rng.below(4) {
            0 => {
                let op = self.rng.pick(&["mul", "imul"]);
                let src = self.rm(size);
                self.line(&format!("{op} {src}"));
                self.flags(CF | OF, SF | ZF | AF | PF);
            }
            1 if size > 1 => {
                let dst = self.reg(size);
                let src = self.rm(size);
                if self.rng.chance(50) {
                    self.line(&format!("imul {dst}, {src}"));
                } else {
                    let imm = self.imm(size) as i32;
                    let imm = if size == 2 { imm as i16 as i32 } else { imm };
                    self.line(&format!("imul {dst}, {src}, {imm}"));
                }
                self.flags(CF | OF, SF | ZF | AF | PF);
            }
            _ => {
                // Keep the dividend small enough often enough for quotients to fit.
                if self.rng.chance(60) {
                    let hi = match size {
                        1 => "ah",
                        2 => "dx",
                        _ => "edx",
                    };
                    let v = self.rng.below(4);
                    self.line(&format!("mov {hi}, {v}"));
                }
                let op = self.rng.pick(&["div", "idiv"]);
                let src = loop {
                    let s = self.rm(size);
                    if !matches!(s.as_str(), "al" | "ah" | "ax" | "eax" | "dx" | "edx" | "dl" | "dh") {
                        break s;
                    }
                };
                let after = self.label();
                self.recovery(&after);
                self.line(&format!("{op} {src}"));
                self.place(&after);
                self.flags(0, ARITH);
            }
        }
    }

    /// QEMU 7.2 loses the arithmetic flags when SETcc, RCL or RCR on memory
    /// faults (see difftest/allowlist.txt); the page fault handler restarts the
    /// instruction, so after one on memory the flags count as undefined and are
    /// redefined before anything reads them.
    fn qemu_flag_loss(&mut self, operand: &str) {
        if self.mode.protected() && operand.contains('[') {
            self.flags(0, ARITH);
        }
    }

    /// Arms the ROM frame's exception recorder to resume at `label`.
    fn recovery(&mut self, label: &str) {
        match self.mode {
            Mode::Real => self.line(&format!("SET_RECOVERY {label}")),
            Mode::Protected | Mode::Pae => self.line(&format!("mov dword [ss:VAR_EXC_RECOVER], {label}")),
        }
    }

    fn bcd(&mut self) {
        match self.rng.below(4) {
            0 | 1 => {
                let a = self.imm(1);
                let b = self.imm(1);
                let op = self.rng.pick(&["add", "sub"]);
                self.line(&format!("mov al, {a:#x}"));
                self.line(&format!("{op} al, {b:#x}"));
                let adj = match (op, self.rng.below(2)) {
                    ("add", 0) => "daa",
                    ("add", _) => "aaa",
                    (_, 0) => "das",
                    _ => "aas",
                };
                self.line(adj);
                match adj {
                    "daa" | "das" => self.flags(CF | AF | SF | ZF | PF, OF),
                    _ => self.flags(AF | CF, OF | SF | ZF | PF),
                }
            }
            2 => {
                let base = if self.rng.chance(10) { 0 } else { 1 + self.rng.below(255) };
                let after = self.label();
                self.recovery(&after);
                self.line(&format!("aam {base}"));
                self.place(&after);
                self.flags(SF | ZF | PF, OF | AF | CF);
            }
            _ => {
                let base = self.rng.below(256);
                self.line(&format!("aad {base}"));
                self.flags(SF | ZF | PF, OF | AF | CF);
            }
        }
    }

    fn bit(&mut self) {
        let size = self.rng.pick(&[2, 4]);
        if self.rng.chance(25) {
            let op = self.rng.pick(&["bsf", "bsr"]);
            let dst = self.reg(size);
            let src = self.rm(size);
            self.line(&format!("{op} {dst}, {src}"));
            self.flags(ZF, CF | OF | SF | AF | PF);
            return;
        }
        let op = self.rng.pick(&["bt", "bts", "btr", "btc"]);
        let dst = self.rm(size);
        if self.rng.chance(50) {
            let bit = self.rng.below(256);
            self.line(&format!("{op} {dst}, {bit}"));
        } else {
            // A register offset reaches around the memory operand: keep it small.
            let off_reg = if size == 2 { "dx" } else { "edx" };
            if dst.contains("dx") || dst == "dl" {
                return;
            }
            let off = self.rng.below(0x800) as i32 - 0x300;
            self.line(&format!("mov {off_reg}, {off}"));
            self.line(&format!("{op} {dst}, {off_reg}"));
        }
        self.flags(CF, OF | SF | AF | PF);
    }

    fn string(&mut self) {
        let a32 = self.rng.chance(50);
        let (si, di, cx) = if a32 { ("esi", "edi", "ecx") } else { ("si", "di", "cx") };
        let down = self.rng.chance(30);
        let size = self.size();
        let start = |g: &mut Gen| 0x100 + g.rng.below(0x400);
        let s = start(self);
        let d = start(self);
        self.line(&format!("mov {si}, {s:#x}"));
        self.line(&format!("mov {di}, {d:#x}"));
        let count = self.rng.below(20);
        self.line(&format!("mov {cx}, {count}"));
        self.line(if down { "std" } else { "cld" });
        let suffix = match size {
            1 => "b",
            2 => "w",
            _ => "d",
        };
        let op = self.rng.pick(&["movs", "cmps", "scas", "lods", "stos"]);
        let compare = op == "cmps" || op == "scas";
        let rep = match self.rng.below(3) {
            0 => "",
            1 if compare => "repe ",
            1 => "rep ",
            _ if compare => "repne ",
            _ => "rep ",
        };
        let asize = match (self.mode, a32) {
            (Mode::Real, true) => "a32 ",
            (Mode::Protected | Mode::Pae, false) => "a16 ",
            _ => "",
        };
        // A segment override on the source (all data segments have the same base).
        let seg = if op != "scas" && op != "stos" && self.rng.chance(25) { "fs " } else { "" };
        self.line(&format!("{asize}{seg}{rep}{op}{suffix}"));
        if compare {
            self.flags(ARITH, 0);
        }
        self.line("cld");
    }

    fn data(&mut self) {
        let size = self.size();
        match self.rng.below(12) {
            0..=2 => {
                let text = match self.rng.below(4) {
                    0 => format!("mov {}, {}", self.reg(size), self.reg(size)),
                    1 => format!("mov {}, {}", self.reg(size), self.mem(size)),
                    2 => format!("mov {}, {}", self.mem(size), self.reg(size)),
                    _ => format!("mov {}, {:#x}", self.rm(size), self.imm(size)),
                };
                self.line(&text);
            }
            3 => {
                let op = self.rng.pick(&["movzx", "movsx"]);
                let (dsize, ssize) = self.rng.pick(&[(2, 1), (4, 1), (4, 2)]);
                let dst = self.reg(dsize);
                let src = self.rm(ssize);
                self.line(&format!("{op} {dst}, {src}"));
            }
            4 => {
                let a = self.reg(size);
                let b = self.rm(size);
                self.line(&format!("xchg {b}, {a}"));
            }
            5 => {
                let dsize = self.rng.pick(&[2, 4]);
                let dst = self.reg(dsize);
                let a = self.addr();
                self.line(&format!("lea {dst}, {a}"));
            }
            6 => {
                let op = self.rng.pick(&["cbw", "cwde", "cwd", "cdq"]);
                self.line(op);
            }
            7 => {
                let r = self.rng.pick(&R32);
                self.line(&format!("bswap {r}"));
            }
            8 => {
                let a32 = self.rng.chance(50);
                let prefix = match (self.mode, a32) {
                    (Mode::Real, true) => "a32 ",
                    (Mode::Protected | Mode::Pae, false) => "a16 ",
                    _ => "",
                };
                self.line(&format!("{prefix}xlatb"));
            }
            9 => {
                self.need(ARITH);
                self.line("lahf");
            }
            10 => {
                self.line("sahf");
                self.flags(SF | ZF | AF | PF | CF, 0);
            }
            _ => {
                let dst = self.rm(2);
                let seg = self.rng.pick(&["ds", "es", "ss", "cs", "fs", "gs"]);
                self.line(&format!("mov {dst}, {seg}"));
            }
        }
    }

    fn stack(&mut self) {
        match self.rng.below(9) {
            0 | 1 => {
                let size = self.rng.pick(&[2, 4]);
                let src = if self.rng.chance(30) {
                    format!("{} {:#x}", Self::kw(size), self.imm(size))
                } else {
                    self.rm(size)
                };
                self.line(&format!("push {src}"));
                let dst = self.reg(size);
                self.line(&format!("pop {dst}"));
            }
            2 => {
                let size = self.rng.pick(&[2, 4]);
                let src = self.reg(size);
                self.line(&format!("push {src}"));
                let dst = self.mem(size);
                self.line(&format!("pop {dst}"));
            }
            3 => {
                let (push, pop) = self.rng.pick(&[("pusha", "popa"), ("pushad", "popad")]);
                self.line(push);
                let r = self.rng.pick(&R32);
                let v = self.imm(4);
                self.line(&format!("mov {r}, {v:#x}"));
                self.line(pop);
            }
            4 => {
                self.need(ARITH);
                let (push, pop) = self.rng.pick(&[("pushf", "popf"), ("pushfd", "popfd")]);
                self.line(push);
                self.line(pop);
            }
            5 => {
                let size = self.rng.pick(&["o16 ", "o32 ", ""]);
                let alloc = self.rng.below(64) & !1;
                let level = self.rng.below(4);
                self.line("mov ebp, esp");
                self.line(&format!("{size}enter {alloc}, {level}"));
                let r = self.rng.pick(&["eax", "ecx", "edx"]);
                let v = self.imm(4);
                self.line(&format!("mov {r}, {v:#x}"));
                self.line(&format!("{size}leave"));
            }
            6 => {
                let target = self.label();
                let over = self.label();
                self.line(&format!("call {target}"));
                self.line(&format!("jmp {over}"));
                self.place(&target);
                let r = self.rng.pick(&["eax", "ecx", "edx"]);
                let v = self.imm(4);
                self.line(&format!("mov {r}, {v:#x}"));
                if self.rng.chance(30) {
                    self.line("ret");
                } else {
                    self.line("push dword 0x12345678");
                    self.line("push dword 0x9abcdef0");
                    self.line("mov ebp, [esp+8]");
                    self.line("add esp, 8");
                    self.line("ret");
                }
                self.place(&over);
            }
            7 => {
                let target = self.label();
                let over = self.label();
                self.line("push word 0x1234");
                self.line(&format!("call {target}"));
                self.line(&format!("jmp {over}"));
                self.place(&target);
                // RET imm16 drops the word pushed before the call.
                self.line("ret 2");
                self.place(&over);
            }
            _ => {
                let seg = self.rng.pick(&["ds", "es", "fs", "gs"]);
                self.line(&format!("push {seg}"));
                self.line(&format!("pop {seg}"));
            }
        }
    }

    fn cond(&mut self) {
        let (cc, reads) = self.rng.pick(&CONDITIONS);
        if self.rng.chance(30) {
            // Set up flags worth testing first.
            let size = self.size();
            let a = self.reg(size);
            let b = self.imm(size);
            self.line(&format!("cmp {a}, {b:#x}"));
            self.flags(ARITH, 0);
        }
        self.need(reads);
        match self.rng.below(3) {
            0 => {
                let skip = self.label();
                self.line(&format!("j{cc} {skip}"));
                let r = self.rng.pick(&R32);
                let v = self.imm(4);
                self.line(&format!("mov {r}, {v:#x}"));
                self.place(&skip);
            }
            1 => {
                let dst = self.rm(1);
                self.line(&format!("set{cc} {dst}"));
                self.qemu_flag_loss(&dst);
            }
            _ => {
                let size = self.rng.pick(&[2, 4]);
                let dst = self.reg(size);
                let src = self.rm(size);
                self.line(&format!("cmov{cc} {dst}, {src}"));
            }
        }
    }

    fn flags_family(&mut self) {
        match self.rng.below(7) {
            0 => {
                let op = self.rng.pick(&["clc", "stc"]);
                self.line(op);
                self.flags(CF, 0);
            }
            1 => {
                self.need(CF);
                self.line("cmc");
                self.flags(CF, 0);
            }
            2 => {
                self.need(ARITH);
                self.line("lahf");
                self.line("xor ah, 0x5a");
                self.line("sahf");
                self.flags(ARITH & !OF, 0);
            }
            3 => {
                // POPF of a value with chosen arithmetic flags and DF.
                let v = (self.rng.u32() & (ARITH | 0x400)) | 2;
                self.line(&format!("push dword {v:#x}"));
                self.line("popfd");
                self.flags(ARITH, 0);
                self.line("cld");
            }
            4 => {
                self.need(CF);
                self.line("salc");
            }
            5 => {
                self.need(ARITH);
                self.line("pushf");
                self.line("pop ax");
                self.line("push ax");
                self.line("popf");
            }
            _ => {
                let size = self.size();
                let a = self.reg(size);
                let b = self.reg(size);
                self.line(&format!("cmp {a}, {b}"));
                self.flags(ARITH, 0);
            }
        }
    }

    fn one(&mut self, family: Family) {
        match family {
            Family::Alu => self.alu(),
            Family::Shift => self.shift(),
            Family::MulDiv => self.muldiv(),
            Family::Bcd => self.bcd(),
            Family::Bit => self.bit(),
            Family::String => self.string(),
            Family::Data => self.data(),
            Family::Stack => self.stack(),
            Family::Cond => self.cond(),
            Family::Flags => self.flags_family(),
            Family::X87 => self.x87(),
            Family::Mmx => self.mmx(),
            Family::SseFloat => self.sse_float(),
            Family::SseInt => self.sse_int(),
        }
    }
}

/// A generated ROM source and what went into it.
pub struct Stream {
    pub source: String,
    /// Instructions in the generated body.
    pub instructions: usize,
}

/// Writes a ROM running `count` random instructions of `family` in `mode`.
pub fn generate(family: Family, mode: Mode, seed: u64, count: usize) -> Stream {
    let mut g =
        Gen { rng: Rng::new(seed), mode, out: String::new(), undefined: 0, labels: 0, count: 0, fp_depth: 0 };
    let mut head = String::new();
    let _ = writeln!(
        head,
        "; generated by vemu-diff: family {}, mode {}, seed {seed}, {count} instructions\n\
         %include \"rom.inc\"\n",
        family.name(),
        mode.name()
    );
    // Protected mode's page table: identity, present, writable.
    if mode == Mode::Protected {
        let _ = writeln!(head, "section .rodata\nalign 4\npage_table:");
        for i in 0..PT_ENTRIES {
            let _ = writeln!(head, "    dd {:#x}", (i << 12) | 3);
        }
    }
    // The random data, copied into RAM at start.
    let _ = writeln!(head, "section .rodata\nalign 4\nrandom_data:");
    let mut data_rng = Rng::new(seed ^ 0xdada);
    for _ in 0..DATA_BYTES / 32 {
        let words: Vec<String> = (0..8).map(|_| format!("{:#010x}", data_rng.interesting())).collect();
        let _ = writeln!(head, "    dd {}", words.join(", "));
    }
    let mut regs: Vec<(&str, u32)> = Vec::new();
    for r in ["eax", "ecx", "edx", "ebp"] {
        regs.push((r, g.rng.interesting()));
    }
    for r in ["ebx", "esi", "edi"] {
        regs.push((r, ADDR_REG_MIN + g.rng.below(ADDR_REG_LIMIT - ADDR_REG_MIN)));
    }
    let flags = (g.rng.u32() & ARITH) | 2;
    match mode {
        Mode::Real => {
            let _ = writeln!(
                head,
                "CODE16\nmain:\n    INSTALL_RM_HANDLERS\n\
                 \x20   mov ax, 0x1000\n    mov es, ax\n    push cs\n    pop ds\n\
                 \x20   mov si, random_data\n    xor di, di\n    mov cx, {}\n    rep movsd\n\
                 \x20   mov ds, ax\n    mov fs, ax\n    mov gs, ax",
                DATA_BYTES / 4
            );
        }
        Mode::Protected => {
            let _ = writeln!(
                head,
                "CODE16\nmain:\n    ENTER_PM32 pm_main\nCODE32\npm_main:\n\
                 \x20   ; data segment at 1 MiB (0x40): limit 0xfffff bytes, read/write\n\
                 \x20   mov dword [GDT_BASE + 0x40], 0x0000ffff\n\
                 \x20   mov dword [GDT_BASE + 0x44], 0x004f9310\n\
                 \x20   ; identity-map the first 1 MiB and the data: directory 0x20000, table 0x21000\n\
                 \x20   mov esi, page_table + 0xF0000\n    mov edi, 0x21000\n    mov ecx, {PT_ENTRIES}\n    rep movsd\n\
                 \x20   mov dword [0x20000], 0x21003\n\
                 \x20   ; the #PF handler maps the page and restarts the access\n\
                 \x20   mov eax, page_fault\n    mov [IDT_BASE + 14*8], ax\n    shr eax, 16\n    mov [IDT_BASE + 14*8 + 6], ax\n\
                 \x20   mov eax, 0x20000\n    mov cr3, eax\n    mov eax, cr0\n    or eax, 0x80000000\n    mov cr0, eax\n\
                 \x20   mov esi, random_data + 0xF0000\n    mov edi, 0x100000\n    mov ecx, {}\n    rep movsd\n\
                 \x20   and dword [0x21000 + 0x101*4], ~1      ; 0x101000 not present\n\
                 \x20   invlpg [0x101000]\n\
                 \x20   mov ax, 0x40\n    mov ds, ax\n    mov es, ax\n    mov fs, ax\n    mov gs, ax",
                DATA_BYTES / 4
            );
        }
        Mode::Pae => {
            let _ = writeln!(
                head,
                "CODE16\nmain:\n    ENTER_PM32 pm_main\nCODE32\npm_main:\n\
                 \x20   ; data segment at 0x1FF000 (0x40): limit 0xfffff bytes, read/write\n\
                 \x20   mov dword [GDT_BASE + 0x40], 0xf000ffff\n\
                 \x20   mov dword [GDT_BASE + 0x44], 0x004f931f\n\
                 \x20   ; identity-map the first 1 MiB and the data's first page in 4 KiB pages\n\
                 \x20   ; (PDPT 0x20000, directory 0x21000, table 0x22000), its second page\n\
                 \x20   ; starts the 2 MiB page at 0x200000\n\
                 \x20   mov edi, 0x22000\n    mov eax, 3\n    mov ecx, 0x100\n\
                 .pt:\n    mov [edi], eax\n    add edi, 8\n    add eax, 0x1000\n    loop .pt\n\
                 \x20   mov dword [0x22000 + 0x1ff*8], 0x1ff003\n\
                 \x20   mov dword [0x21000], 0x22003\n\
                 \x20   mov dword [0x21000 + 8], 0x200083\n\
                 \x20   mov dword [0x20000], 0x21001\n\
                 \x20   ; the #PF handler maps the page and restarts the access\n\
                 \x20   mov eax, page_fault\n    mov [IDT_BASE + 14*8], ax\n    shr eax, 16\n    mov [IDT_BASE + 14*8 + 6], ax\n\
                 \x20   mov eax, cr4\n    or eax, 0x20\n    mov cr4, eax\n\
                 \x20   mov eax, 0x20000\n    mov cr3, eax\n    mov eax, cr0\n    or eax, 0x80000000\n    mov cr0, eax\n\
                 \x20   mov esi, random_data + 0xF0000\n    mov edi, 0x1ff000\n    mov ecx, {}\n    rep movsd\n\
                 \x20   and dword [0x21000 + 8], ~1      ; the 2 MiB page at 0x200000 not present\n\
                 \x20   invlpg [0x200000]\n\
                 \x20   mov ax, 0x40\n    mov ds, ax\n    mov es, ax\n    mov fs, ax\n    mov gs, ax",
                DATA_BYTES / 4
            );
        }
    }
    if family.is_fp() {
        head.push_str(&fp::tables(seed));
        head.push_str(&fp::sign_masks());
    }
    for (r, v) in &regs {
        let _ = writeln!(head, "    mov {r}, {v:#x}");
    }
    let _ = writeln!(head, "    push dword {flags:#x}\n    popfd\n    ; ---- the stream ----");
    while g.count < count {
        g.one(family);
    }
    let mut source = head;
    source.push_str(&g.out);
    source.push_str("    ; ---- end ----\n    mov al, 0\n    out 0xf4, al\n    cli\n    hlt\n");
    if mode == Mode::Protected {
        source.push_str(
            "page_fault:\n    push eax\n    push ds\n    mov ax, SEL_DATA32\n    mov ds, ax\n\
             \x20   mov eax, cr2\n    shr eax, 12\n    or dword [0x21000 + eax*4], 1\n\
             \x20   mov eax, cr2\n    invlpg [eax]\n    pop ds\n    pop eax\n    add esp, 4\n    iretd\n",
        );
    }
    if mode == Mode::Pae {
        // A 4 KiB page below 2 MiB, the 2 MiB page from there on.
        source.push_str(
            "page_fault:\n    push eax\n    push ds\n    mov ax, SEL_DATA32\n    mov ds, ax\n\
             \x20   mov eax, cr2\n    cmp eax, 0x200000\n    jae .large\n\
             \x20   shr eax, 12\n    or dword [0x22000 + eax*8], 1\n    jmp .mapped\n\
             .large:\n    shr eax, 21\n    or dword [0x21000 + eax*8], 1\n\
             .mapped:\n    mov eax, cr2\n    invlpg [eax]\n    pop ds\n    pop eax\n    add esp, 4\n    iretd\n",
        );
    }
    Stream { source, instructions: g.count }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a = generate(Family::Alu, Mode::Real, 42, 100);
        let b = generate(Family::Alu, Mode::Real, 42, 100);
        assert_eq!(a.source, b.source);
        assert!(a.instructions >= 100);
        assert_ne!(a.source, generate(Family::Alu, Mode::Real, 43, 100).source);
    }

    #[test]
    fn every_family_and_mode_generates() {
        for f in Family::ALL {
            for m in Mode::ALL {
                let s = generate(f, m, 1, 50);
                assert!(s.source.contains("---- the stream ----"), "{f:?} {m:?}");
                assert_eq!(Family::parse(f.name()), Some(f));
                assert_eq!(Mode::parse(m.name()), Some(m));
            }
        }
    }
}
