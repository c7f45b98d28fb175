//! Splits guest code into basic blocks with iced-x86.
//!
//! A [`Block`] is a run of decoded instructions that starts at CS:EIP and ends
//! after a control transfer, after an instruction that changes the CPU mode or is
//! privileged (see [`ends_block`]), at a 4 KiB page boundary, at a length cap, or
//! before an instruction whose fetch would fault. An instruction that straddles two
//! pages is decoded from both and ends its block; the block then records both
//! physical pages so that writes to either invalidate it.
//!
//! The decoder does not know the CPU: a [`CodeSource`] translates code addresses
//! (segmentation has been applied by the caller: it passes CS.base, the limit and
//! EIP) and supplies bytes. It does not cache blocks either (see the block cache).

#![forbid(unsafe_code)]

use iced_x86::{
    Code, Decoder, DecoderError, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register,
};
use vemu_softmmu::PhysAddr;

/// Where the decoder gets code bytes from.
pub trait CodeSource {
    /// The fault a code fetch can raise (a page fault, in practice).
    type Fault;
    /// Physical address of the code byte at `linear`, or the fault its fetch raises.
    fn translate_code(&mut self, linear: u32) -> Result<PhysAddr, Self::Fault>;
    /// Copies bytes starting at `phys` (all within one page) into `buf`.
    fn read_code(&mut self, phys: PhysAddr, buf: &mut [u8]);
}

/// Why no block could be decoded at CS:EIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError<F> {
    /// Fetching the first instruction faults (a page fault on either of its pages).
    Fault(F),
    /// The first instruction does not lie within the CS limit (#GP(0)).
    CsLimit,
}

/// What to decode.
#[derive(Copy, Clone, Debug)]
pub struct DecodeRequest {
    pub cs_base: u32,
    pub eip: u32,
    /// Highest valid offset in CS (expand-up code segments only).
    pub cs_limit: u32,
    /// 16 or 32 (CS.D).
    pub bitness: u32,
    /// Most instructions in one block.
    pub max_insns: usize,
}

/// Why a block ended where it did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BlockEnd {
    /// The last instruction transfers control, changes the mode or is privileged.
    Terminator,
    /// The next instruction starts on another page (or straddles into it).
    PageBoundary,
    /// The length cap was reached.
    LengthCap,
    /// The next instruction would fault when fetched, or leaves the CS limit, or
    /// 16-bit IP wraps around: it is decoded again when it is reached.
    FetchStop,
}

/// A decoded basic block.
#[derive(Clone, Debug)]
pub struct Block {
    /// EIP of the first instruction.
    pub eip: u32,
    /// Physical address of the first byte.
    pub phys: PhysAddr,
    /// 16 or 32.
    pub bitness: u32,
    pub insns: Vec<Instruction>,
    /// Bytes covered.
    pub len: u32,
    /// Linear and physical page of the second page, if the last instruction straddles.
    pub second_page: Option<(u32, PhysAddr)>,
    pub end: BlockEnd,
}

impl Block {
    /// Physical pages (page-aligned) whose bytes the block was decoded from.
    pub fn pages(&self) -> impl Iterator<Item = PhysAddr> + '_ {
        std::iter::once(PhysAddr(self.phys.0 & !0xfff)).chain(self.second_page.map(|(_, p)| p))
    }

    /// The bytes the block was decoded from, as (physical address, length)
    /// runs within one page each: one run, or two for a block whose last
    /// instruction straddles a page boundary.
    pub fn byte_runs(&self) -> impl Iterator<Item = (PhysAddr, u32)> + '_ {
        let first = self.len.min(0x1000 - (self.phys.0 & 0xfff));
        std::iter::once((self.phys, first))
            .chain(self.second_page.map(|(_, p)| (p, self.len - first)).filter(|r| r.1 > 0))
    }

    /// Offset in CS of the block's last byte.
    pub fn last_offset(&self) -> u32 {
        self.eip.wrapping_add(self.len - 1)
    }
}

/// Whether `ins` must be the last instruction of a block: control transfers,
/// instructions that change the CPU mode, a segment register (translations may
/// assume the segments stay as they were when the block began) or the
/// interrupt flag, string port I/O, and privileged ones. IN and OUT end their
/// block when they run, unless the port is quiet (see the CPU's `Bus`): port
/// I/O can raise an interrupt or flip the A20 gate.
pub fn ends_block(ins: &Instruction) -> bool {
    if ins.flow_control() != FlowControl::Next {
        return true;
    }
    match ins.mnemonic() {
        Mnemonic::Mov => {
            matches!(
                ins.op0_kind(),
                OpKind::Register if is_control_or_debug(ins.op0_register()) || ins.op0_register().is_segment_register()
            ) || (ins.op0_kind() == OpKind::Register && is_control_or_debug(ins.op1_register()))
        }
        Mnemonic::Pop => ins.op0_kind() == OpKind::Register && ins.op0_register().is_segment_register(),
        Mnemonic::Lds
        | Mnemonic::Les
        | Mnemonic::Lfs
        | Mnemonic::Lgs
        | Mnemonic::Lss
        | Mnemonic::Lmsw
        | Mnemonic::Clts
        | Mnemonic::Lgdt
        | Mnemonic::Lidt
        | Mnemonic::Lldt
        | Mnemonic::Ltr
        | Mnemonic::Invlpg
        | Mnemonic::Invd
        | Mnemonic::Wbinvd
        | Mnemonic::Hlt
        | Mnemonic::Cli
        | Mnemonic::Sti
        | Mnemonic::Popf
        | Mnemonic::Popfd
        | Mnemonic::Insb
        | Mnemonic::Insw
        | Mnemonic::Insd
        | Mnemonic::Outsb
        | Mnemonic::Outsw
        | Mnemonic::Outsd
        | Mnemonic::Wrmsr
        | Mnemonic::Rdmsr
        | Mnemonic::Sysenter
        | Mnemonic::Sysexit => true,
        _ => ins.code() == Code::INVALID,
    }
}

fn is_control_or_debug(r: Register) -> bool {
    r.is_cr() || r.is_dr() || r.is_tr()
}

/// Decodes the block at `req.cs_base + req.eip`.
pub fn decode_block<S: CodeSource>(src: &mut S, req: &DecodeRequest) -> Result<Block, FetchError<S::Fault>> {
    let linear = req.cs_base.wrapping_add(req.eip);
    // Bytes from EIP that lie within the CS limit (and, in 16-bit code, below 64 KiB).
    let mut limit_end = req.cs_limit as u64 + 1;
    if req.bitness == 16 {
        limit_end = limit_end.min(0x10000);
    }
    if req.eip as u64 >= limit_end {
        return Err(FetchError::CsLimit);
    }
    let in_limit = (limit_end - req.eip as u64).min(0x1000 + 15) as usize;
    let phys = src.translate_code(linear).map_err(FetchError::Fault)?;
    let page_left = 0x1000 - (linear & 0xfff) as usize;
    let mut bytes = [0u8; 0x1000 + 15];
    src.read_code(phys, &mut bytes[..page_left]);

    let mut block = Block {
        eip: req.eip,
        phys,
        bitness: req.bitness,
        insns: Vec::new(),
        len: 0,
        second_page: None,
        end: BlockEnd::LengthCap,
    };
    let mut ins = Instruction::default();
    let mut offset = 0usize; // bytes decoded so far
    let stop = |block: &mut Block, fault: FetchError<S::Fault>| {
        if block.insns.is_empty() {
            Err(fault)
        } else {
            block.end = BlockEnd::FetchStop;
            Ok(())
        }
    };
    loop {
        if block.insns.len() >= req.max_insns {
            block.end = BlockEnd::LengthCap;
            break;
        }
        if offset >= page_left {
            block.end = BlockEnd::PageBoundary;
            break;
        }
        if offset >= in_limit {
            stop(&mut block, FetchError::CsLimit)?;
            break;
        }
        let eip = req.eip.wrapping_add(offset as u32) as u64;
        let end = page_left.min(in_limit);
        let mut straddles = false;
        if decode(req.bitness, &bytes[offset..end], eip, &mut ins) == DecoderError::NoMoreBytes {
            if end == in_limit {
                // The instruction runs past the CS limit.
                stop(&mut block, FetchError::CsLimit)?;
                break;
            }
            // It continues on the next page: fetch up to 15 more bytes from there.
            let next_linear = linear.wrapping_add(page_left as u32);
            let p2 = match src.translate_code(next_linear) {
                Ok(p2) => p2,
                Err(fault) => {
                    stop(&mut block, FetchError::Fault(fault))?;
                    break;
                }
            };
            let end2 = (page_left + 15).min(in_limit);
            src.read_code(p2, &mut bytes[page_left..page_left + 15]);
            if decode(req.bitness, &bytes[offset..end2], eip, &mut ins) == DecoderError::NoMoreBytes {
                stop(&mut block, FetchError::CsLimit)?;
                break;
            }
            block.second_page = Some((next_linear, PhysAddr(p2.0 & !0xfff)));
            straddles = true;
        }
        offset += ins.len().max(1);
        let terminator = ends_block(&ins);
        block.insns.push(ins);
        if straddles {
            block.end = BlockEnd::PageBoundary;
            break;
        }
        if terminator {
            block.end = BlockEnd::Terminator;
            break;
        }
    }
    block.len = offset as u32;
    Ok(block)
}

/// Decodes one instruction from the start of `bytes`; tells whether they ran out.
fn decode(bitness: u32, bytes: &[u8], ip: u64, ins: &mut Instruction) -> DecoderError {
    let mut decoder = Decoder::with_ip(bitness, bytes, ip, DecoderOptions::NONE);
    decoder.decode_out(ins);
    decoder.last_error()
}

#[cfg(test)]
mod tests;
