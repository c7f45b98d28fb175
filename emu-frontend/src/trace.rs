//! `--trace FILE`: one line per executed instruction, taken before it runs, in
//! the names and order of QEMU's `-d cpu` dump:
//!
//! ```text
//! EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000f27 ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000 EIP=0000fff0 EFL=00000002 CPL=0 ES=0000 CS=f000 SS=0000 DS=0000 FS=0000 GS=0000 CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
//! ```
//!
//! An exception or interrupt delivered gets its own line before the handler's
//! first instruction: `INT=vv ERR=eeeeeeee` (ERR only when an error code is
//! pushed), with ` SW` appended for INT n/INT3/INTO/INT1 and ` HW` for hardware
//! interrupts. Lines starting with
//! `#` are comments (POST codes: `# POST xx`). The file is shared by the CPU and
//! the POST port through [`SharedWriter`].

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::rc::Rc;

use vemu_translator::Instruction;
use vemu_translator::{CpuState, InterruptKind, Seg, Tracer};

/// A writer several owners append to.
#[derive(Clone)]
pub struct SharedWriter(pub Rc<RefCell<BufWriter<File>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// Formats the state as one trace line (without the newline).
pub fn state_line(s: &CpuState) -> String {
    let r = &s.regs;
    format!(
        "EAX={:08x} EBX={:08x} ECX={:08x} EDX={:08x} ESI={:08x} EDI={:08x} EBP={:08x} ESP={:08x} EIP={:08x} EFL={:08x} CPL={} ES={:04x} CS={:04x} SS={:04x} DS={:04x} FS={:04x} GS={:04x} CR0={:08x} CR2={:08x} CR3={:08x} CR4={:08x}",
        r[0], r[3], r[1], r[2], r[6], r[7], r[5], r[4], s.eip, s.eflags(), s.cpl,
        s.seg(Seg::ES).selector, s.seg(Seg::CS).selector, s.seg(Seg::SS).selector,
        s.seg(Seg::DS).selector, s.seg(Seg::FS).selector, s.seg(Seg::GS).selector,
        s.cr0, s.cr2, s.cr3, s.cr4
    )
}

/// Writes the trace of a run.
pub struct FileTracer {
    out: SharedWriter,
}

impl FileTracer {
    pub fn new(out: SharedWriter) -> Self {
        FileTracer { out }
    }
}

impl Tracer for FileTracer {
    fn before_instruction(&mut self, state: &CpuState, _ins: &Instruction) {
        let _ = writeln!(self.out, "{}", state_line(state));
    }
    fn interrupt(&mut self, _state: &CpuState, vector: u8, error: Option<u32>, kind: InterruptKind) {
        let _ = match error {
            Some(e) => write!(self.out, "INT={vector:02x} ERR={e:08x}"),
            None => write!(self.out, "INT={vector:02x}"),
        };
        let tag = match kind {
            InterruptKind::Exception => "",
            InterruptKind::Software => " SW",
            InterruptKind::Hardware => " HW",
        };
        let _ = writeln!(self.out, "{tag}");
    }
}
