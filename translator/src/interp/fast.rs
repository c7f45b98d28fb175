//! Handlers for the forms cold 32-bit code runs most, chosen ahead of the
//! generic ones when a block is decoded ([`super::handler`]). In a Linux
//! boot's interpreted code, moves between a 32-bit register and memory,
//! and PUSH and POP of 32-bit registers, are half the instructions; their
//! generic handlers first ask the operands' kinds, whether a register is a
//! segment or control register, and the opcode table for the operand size,
//! which the form already answers. Each does what the generic one does for
//! its form, with the same faults in the same order.

use iced_x86::{Code, Instruction, OpKind, Register};

use super::Handler;
use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::op;

/// The operations [`alu`] does, as its const parameter.
mod alu_op {
    pub const ADD: u8 = 0;
    pub const SUB: u8 = 1;
    pub const CMP: u8 = 2;
    pub const AND: u8 = 3;
    pub const OR: u8 = 4;
    pub const XOR: u8 = 5;
    pub const TEST: u8 = 6;
}

/// The index in `CpuState::regs` of a 32-bit general register.
#[inline(always)]
fn gpr32(r: Register) -> usize {
    r as usize - Register::EAX as usize
}

/// The handler for `ins` if its form has one of its own.
pub(super) fn handler(ins: &Instruction) -> Option<Handler> {
    use alu_op::*;
    use Code as C;
    let reg = |n| ins.op_kind(n) == OpKind::Register;
    Some(match ins.code() {
        C::Mov_r32_rm32 | C::Mov_rm32_r32 if reg(0) && reg(1) => mov_r32_r32,
        C::Mov_r32_rm32 => load_r32,
        C::Mov_rm32_r32 => store_r32,
        C::Push_r32 => push_r32,
        C::Pop_r32 => pop_r32,
        C::Lea_r32_m => lea_r32,
        C::Jmp_rel8_32 | C::Jmp_rel32_32 => jmp_rel32,
        C::Call_rel32_32 => call_rel32,
        C::Retnd => ret32::<false>,
        C::Retnd_imm16 => ret32::<true>,
        _ if ins.is_jcc_short_or_near() && ins.op0_kind() == OpKind::NearBranch32 => {
            match super::data::cc_nibble(ins.condition_code()) {
                0x0 => jcc32::<0x0>,
                0x1 => jcc32::<0x1>,
                0x2 => jcc32::<0x2>,
                0x3 => jcc32::<0x3>,
                0x4 => jcc32::<0x4>,
                0x5 => jcc32::<0x5>,
                0x6 => jcc32::<0x6>,
                0x7 => jcc32::<0x7>,
                0x8 => jcc32::<0x8>,
                0x9 => jcc32::<0x9>,
                0xa => jcc32::<0xa>,
                0xb => jcc32::<0xb>,
                0xc => jcc32::<0xc>,
                0xd => jcc32::<0xd>,
                0xe => jcc32::<0xe>,
                _ => jcc32::<0xf>,
            }
        }
        C::Mov_r32_imm32 => mov_r32_imm32,
        C::Mov_rm32_imm32 => store_imm32,
        C::Movzx_r32_rm8 => movzx_r32::<1>,
        C::Movzx_r32_rm16 => movzx_r32::<2>,
        C::Inc_r32 => inc_dec_r32::<true>,
        C::Dec_r32 => inc_dec_r32::<false>,
        C::Inc_rm32 | C::Dec_rm32 if !reg(0) => return None,
        C::Inc_rm32 => inc_dec_r32::<true>,
        C::Dec_rm32 => inc_dec_r32::<false>,
        C::Add_rm32_r32 | C::Add_r32_rm32 | C::Add_rm32_imm8 | C::Add_rm32_imm32 | C::Add_EAX_imm32 => {
            alu::<ADD>
        }
        C::Sub_rm32_r32 | C::Sub_r32_rm32 | C::Sub_rm32_imm8 | C::Sub_rm32_imm32 | C::Sub_EAX_imm32 => {
            alu::<SUB>
        }
        C::Cmp_rm32_r32 | C::Cmp_r32_rm32 | C::Cmp_rm32_imm8 | C::Cmp_rm32_imm32 | C::Cmp_EAX_imm32 => {
            alu::<CMP>
        }
        C::And_rm32_r32 | C::And_r32_rm32 | C::And_rm32_imm8 | C::And_rm32_imm32 | C::And_EAX_imm32 => {
            alu::<AND>
        }
        C::Or_rm32_r32 | C::Or_r32_rm32 | C::Or_rm32_imm8 | C::Or_rm32_imm32 | C::Or_EAX_imm32 => alu::<OR>,
        C::Xor_rm32_r32 | C::Xor_r32_rm32 | C::Xor_rm32_imm8 | C::Xor_rm32_imm32 | C::Xor_EAX_imm32 => {
            alu::<XOR>
        }
        C::Test_rm32_r32 | C::Test_rm32_imm32 | C::Test_EAX_imm32 => alu::<TEST>,
        _ => return None,
    })
}

/// ADD, SUB, CMP, AND, OR, XOR and TEST of 32 bits: a register with a
/// register, an immediate or memory, or memory with a register or an
/// immediate. As the generic handlers do: the destination is read first
/// (checked for writing unless the operation only compares), then the
/// source, and the flags are set after the result is written.
fn alu<const OP: u8>(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let writes = OP != alu_op::CMP && OP != alu_op::TEST;
    let b = |cpu: &mut Cpu| -> Fault<u32> {
        Ok(match ins.op1_kind() {
            OpKind::Register => cpu.state.regs[gpr32(ins.op1_register())],
            OpKind::Memory => {
                let (seg, offset) = cpu.ea(ins);
                cpu.read(seg, offset, 4)?
            }
            _ => ins.immediate(1) as u32,
        })
    };
    let compute = |a: u32, b: u32| match OP {
        alu_op::ADD => (op::ADD, a.wrapping_add(b)),
        alu_op::SUB | alu_op::CMP => (op::SUB, a.wrapping_sub(b)),
        alu_op::OR => (op::LOGIC, a | b),
        alu_op::XOR => (op::LOGIC, a ^ b),
        _ => (op::LOGIC, a & b),
    };
    let (kind, r, a, b) = if ins.op0_kind() == OpKind::Register {
        let dst = gpr32(ins.op0_register());
        let a = cpu.state.regs[dst];
        let b = b(cpu)?;
        let (kind, r) = compute(a, b);
        if writes {
            cpu.state.regs[dst] = r;
        }
        (kind, r, a, b)
    } else {
        let (seg, offset) = cpu.ea(ins);
        let a = if writes { cpu.read_rmw(seg, offset, 4)? } else { cpu.read(seg, offset, 4)? };
        let b = b(cpu)?;
        let (kind, r) = compute(a, b);
        if writes {
            cpu.write(seg, offset, 4, r)?;
        }
        (kind, r, a, b)
    };
    let (a, b) = if kind == op::LOGIC { (0, 0) } else { (a, b) };
    cpu.state.flags.set_lazy(kind | op::SIZE32, r, a, b);
    Ok(())
}

/// INC and DEC of a 32-bit register (CF unchanged).
fn inc_dec_r32<const INC: bool>(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let dst = gpr32(ins.op0_register());
    let a = cpu.state.regs[dst];
    let (kind, r) = if INC { (op::INC, a.wrapping_add(1)) } else { (op::DEC, a.wrapping_sub(1)) };
    cpu.state.regs[dst] = r;
    cpu.state.flags.set_lazy(kind | op::SIZE32, r, a, 1);
    Ok(())
}

/// MOV r32, imm32.
fn mov_r32_imm32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.state.regs[gpr32(ins.op0_register())] = ins.immediate32();
    Ok(())
}

/// MOV r/m32, imm32 (the register form included).
fn store_imm32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    if ins.op0_kind() == OpKind::Register {
        return mov_r32_imm32(cpu, ins);
    }
    let (seg, offset) = cpu.ea(ins);
    cpu.write(seg, offset, 4, ins.immediate32())
}

/// MOVZX r32, r/m8 and r/m16 (`SIZE` bytes).
fn movzx_r32<const SIZE: u32>(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let v = match ins.op1_kind() {
        OpKind::Register => cpu.get_reg(ins.op1_register()),
        _ => {
            let (seg, offset) = cpu.ea(ins);
            cpu.read(seg, offset, SIZE)?
        }
    };
    cpu.state.regs[gpr32(ins.op0_register())] = v & super::mask(SIZE);
    Ok(())
}

/// Jcc rel8 and rel32 with a 32-bit operand size (`CC`: the condition's
/// number in the opcode).
fn jcc32<const CC: u8>(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    if cpu.state.flags.condition(CC) {
        cpu.near_jump(ins.near_branch32())?;
    }
    Ok(())
}

/// JMP rel8 and rel32 with a 32-bit operand size.
fn jmp_rel32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.near_jump(ins.near_branch32())
}

/// CALL rel32 with a 32-bit operand size.
fn call_rel32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.near_call(ins.near_branch32(), 4)
}

/// RET and RET imm16 with a 32-bit operand size.
fn ret32<const IMM: bool>(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.ret_near_by(4, if IMM { ins.immediate16() as u32 } else { 0 })
}

/// LEA r32, m.
fn lea_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.state.regs[gpr32(ins.op0_register())] = cpu.ea_offset(ins);
    Ok(())
}

/// MOV r32, r32.
fn mov_r32_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    cpu.state.regs[gpr32(ins.op0_register())] = cpu.state.regs[gpr32(ins.op1_register())];
    Ok(())
}

/// MOV r32, m32.
fn load_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let (seg, offset) = cpu.ea(ins);
    cpu.state.regs[gpr32(ins.op0_register())] = cpu.read(seg, offset, 4)?;
    Ok(())
}

/// MOV m32, r32.
fn store_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let (seg, offset) = cpu.ea(ins);
    let value = cpu.state.regs[gpr32(ins.op1_register())];
    cpu.write(seg, offset, 4, value)
}

/// PUSH r32 (PUSH ESP pushes the value before the push).
fn push_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let value = cpu.state.regs[gpr32(ins.op0_register())];
    cpu.push(value, 4)
}

/// POP r32 (POP ESP leaves the popped value in ESP).
fn pop_r32(cpu: &mut Cpu, ins: &Instruction) -> Fault {
    let value = cpu.peek(0, 4)?;
    cpu.drop_stack(4);
    cpu.state.regs[gpr32(ins.op0_register())] = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use iced_x86::{Decoder, Instruction};
    use vemu_softmmu::{Memory, PhysAddr, PhysMemory};

    use crate::bus::NullBus;
    use crate::cpu::{Cpu, CpuConfig};
    use crate::state::{attr, cr0, reg, Seg, Segment};
    use crate::testing::{cases, Rng};

    /// The opcodes (with the ModRM reg field where it selects the
    /// operation) of the forms with handlers of their own.
    const FORMS: &[&[u8]] = &[
        &[0x89],
        &[0x8b],
        &[0x8d],
        &[0xc7],
        &[0x0f, 0xb6],
        &[0x0f, 0xb7],
        &[0x50],
        &[0x53],
        &[0x54],
        &[0x5c],
        &[0x5d],
        &[0x40],
        &[0x4c],
        &[0xb8],
        &[0xbc],
        &[0x01],
        &[0x03],
        &[0x05],
        &[0x29],
        &[0x2b],
        &[0x2d],
        &[0x39],
        &[0x3b],
        &[0x3d],
        &[0x21],
        &[0x23],
        &[0x25],
        &[0x09],
        &[0x0b],
        &[0x0d],
        &[0x31],
        &[0x33],
        &[0x35],
        &[0x85],
        &[0xa9],
        &[0x81],
        &[0x83],
        &[0xf7],
        &[0xff],
        &[0x70],
        &[0x72],
        &[0x74],
        &[0x76],
        &[0x78],
        &[0x7a],
        &[0x7c],
        &[0x7f],
        &[0x0f, 0x85],
        &[0x0f, 0x8e],
        &[0xeb],
        &[0xe9],
        &[0xe8],
        &[0xc3],
        &[0xc2],
    ];

    const RAM: u32 = 1 << 20;

    fn cpu() -> Cpu {
        let mut mem = Memory::new(PhysMemory::new(RAM as u64).unwrap());
        let mut rng = Rng(7);
        let bytes: Vec<u8> = (0..RAM).map(|_| rng.next() as u8).collect();
        mem.write_phys(PhysAddr(0), &bytes);
        Cpu::new(mem, Box::new(NullBus::default()), CpuConfig::default())
    }

    /// The same random state in both: where the next instruction is, a
    /// code segment of 64 KiB or 4 GiB, registers that keep most addresses
    /// within the RAM (some anywhere, ESP sometimes where a 16-bit stack
    /// wraps), random flags, real or protected mode, and data segments of
    /// 64 KiB or 1 MiB, 16- or 32-bit, writable or read-only; sometimes with
    /// the limit just beyond the memory operand, so that the access size
    /// decides whether it faults.
    fn randomize(cpus: [&mut Cpu; 2], ins: &Instruction, rng: &mut Rng) {
        let mut regs: Vec<u32> = (0..8)
            .map(|_| if rng.below(4) == 0 { rng.next() as u32 } else { rng.below(0x1_0000) as u32 + 8 })
            .collect();
        if rng.below(4) == 0 {
            regs[reg::ESP] = (rng.next() as u32 & 0xffff_0000) | (0xfff8 + rng.below(16) as u32);
        }
        let flags = rng.next() as u32 & 0x8d5 | 2;
        let protected = rng.below(2) == 0;
        let mut segs = [Segment::real(0, false, 0); 3];
        for s in &mut segs {
            s.limit = if rng.below(2) == 0 { 0xffff } else { 0xf_ffff };
            if protected && rng.below(4) == 0 {
                s.attr &= !attr::WRITABLE_READABLE;
            }
            if rng.below(2) == 0 {
                s.attr |= attr::DB;
            }
        }
        let code_limit = if rng.below(2) == 0 { 0xffff } else { u32::MAX };
        let next_eip = rng.next() as u32;
        let near_limit = rng.below(4) == 0;
        let slack = rng.below(4) as u32;
        for cpu in cpus {
            cpu.state.regs.copy_from_slice(&regs);
            cpu.state.flags.set(flags);
            cpu.state.cr0 = if protected { cr0::PE } else { 0 };
            cpu.state.segs[Seg::CS as usize].limit = code_limit;
            cpu.next_eip = next_eip;
            for (seg, s) in [Seg::DS, Seg::ES, Seg::SS].into_iter().zip(segs) {
                cpu.state.segs[seg as usize] = s;
            }
            if near_limit && ins.op_kinds().any(|k| k == iced_x86::OpKind::Memory) {
                let (seg, offset) = cpu.ea(ins);
                cpu.state.segs[seg as usize].limit = offset.saturating_add(slack);
            }
        }
    }

    /// Bytes of RAM an instruction may have written: around ESP and its
    /// memory operand.
    fn touched(cpu: &mut Cpu, ins: &Instruction) -> Vec<u8> {
        let mut at = vec![cpu.state.regs[reg::ESP].wrapping_sub(8)];
        if ins.op_kinds().any(|k| k == iced_x86::OpKind::Memory) {
            at.push(cpu.ea(ins).1);
        }
        let mut out = Vec::new();
        for a in at {
            let mut buf = [0; 16];
            cpu.mem.read_phys(PhysAddr(a.min(RAM - 16)), &mut buf);
            out.extend(buf);
        }
        out
    }

    #[test]
    fn the_handlers_of_their_own_do_what_the_generic_ones_do() {
        let (mut fast, mut generic) = (cpu(), cpu());
        let mut rng = Rng(0x5eed);
        let mut taken = vec![0; FORMS.len()];
        for _ in 0..cases(20_000) {
            let form = rng.below(FORMS.len() as u64) as usize;
            let mut bytes = Vec::new();
            // Sometimes 16-bit addressing, sometimes a 16-bit operand (which
            // the handlers of their own must leave to the generic ones).
            let prefix = rng.below(8);
            if prefix == 0 {
                bytes.push(0x67);
            } else if prefix == 1 {
                bytes.push(0x66);
            }
            bytes.extend(FORMS[form]);
            // ModRM, SIB, a displacement kept small, an immediate.
            let modrm = rng.next() as u8;
            bytes.extend([modrm, rng.next() as u8, rng.next() as u8, rng.below(0x80) as u8, 0, 0]);
            bytes.extend((rng.next() as u32).to_le_bytes());
            let ins = Decoder::new(32, &bytes, 0).decode();
            let Some(handler) = super::handler(&ins) else {
                continue;
            };
            assert!(prefix != 1, "{ins}: a 16-bit operand");
            taken[form] += 1;
            randomize([&mut fast, &mut generic], &ins, &mut rng);
            let ours = handler(&mut fast, &ins);
            let theirs = super::super::generic_handler(&ins)(&mut generic, &ins);
            assert_eq!(
                ours.err().map(|e| (e.vector, e.error)),
                theirs.err().map(|e| (e.vector, e.error)),
                "{ins}"
            );
            assert_eq!(fast.state.regs, generic.state.regs, "{ins}");
            assert_eq!(fast.next_eip, generic.next_eip, "{ins}");
            assert_eq!(fast.state.flags.get(), generic.state.flags.get(), "{ins}");
            assert_eq!(touched(&mut fast, &ins), touched(&mut generic, &ins), "{ins}");
        }
        for (form, n) in FORMS.iter().zip(taken) {
            assert!(n > 0, "no instance of {form:02x?} went to a handler of its own");
        }
    }
}
