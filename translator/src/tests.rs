//! CPU-level tests that need a bus the test controls (interrupt timing) or that
//! look inside the machine (self-modifying code within one block). Guest-level
//! behaviour is tested by the ROMs in test-roms/.

use std::any::Any;

use vemu_softmmu::{Memory, MmioId, PhysAddr, PhysMemory};

use crate::bus::{Bus, BusRequest};
use crate::cpu::{Cpu, CpuConfig, Exit};
use crate::state::{fl, reg, Seg, Segment};

/// A bus whose interrupt line rises at the `after`-th time the CPU looks at it.
struct TimedIrq {
    looks: u32,
    after: u32,
    vector: u8,
    acknowledged: bool,
}

impl Bus for TimedIrq {
    fn port_in(&mut self, _now: u64, _port: u16, _size: u8) -> u32 {
        0xff
    }
    fn port_out(&mut self, _now: u64, _port: u16, _size: u8, _value: u32) {}
    fn mmio_read(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8) -> u32 {
        0
    }
    fn mmio_write(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self, _now: u64) -> bool {
        self.looks += 1;
        !self.acknowledged && self.looks >= self.after
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        self.acknowledged = true;
        self.vector
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        None
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A real-mode CPU with `code` at 0000:1000, SS:SP = 0000:8000, and vector 0x20
/// pointing at a HLT at 0000:2000.
fn cpu_with(code: &[u8], irq_after: u32) -> Cpu {
    let mut mem = Memory::new(PhysMemory::new(1 << 20).unwrap());
    mem.write_phys(PhysAddr(0x1000), code);
    mem.write_phys(PhysAddr(0x2000), &[0xf4]);
    mem.write_phys(PhysAddr(0x20 * 4), &[0x00, 0x20, 0x00, 0x00]);
    let bus = TimedIrq { looks: 0, after: irq_after, vector: 0x20, acknowledged: false };
    let mut cpu = Cpu::new(mem, Box::new(bus), CpuConfig::default());
    cpu.state.segs[Seg::CS as usize] = Segment::real(0, true, 0);
    cpu.state.eip = 0x1000;
    cpu.state.regs[reg::ESP] = 0x8000;
    cpu
}

/// The IP the interrupt pushed (the instruction it interrupted).
fn interrupted_ip(cpu: &mut Cpu) -> u32 {
    assert_eq!(cpu.state.eip, 0x2001, "the handler's HLT ran");
    cpu.read_lin(0x8000 - 6, 2, false).unwrap()
}

#[test]
fn sti_holds_interrupts_off_for_one_instruction() {
    // cli; sti; nop; nop; hlt. The interrupt is pending from the start.
    let mut cpu = cpu_with(&[0xfa, 0xfb, 0x90, 0x90, 0xf4], 1);
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(interrupted_ip(&mut cpu), 0x1003, "taken after the NOP that follows STI");
}

#[test]
fn mov_ss_holds_interrupts_off_for_one_instruction() {
    // sti; nop; mov ss, ax; nop; nop; hlt. The line rises at the second look,
    // which comes right after MOV SS ends its block: the shadow defers it past
    // the next NOP.
    let mut cpu = cpu_with(&[0xfb, 0x90, 0x8e, 0xd0, 0x90, 0x90, 0xf4], 3);
    cpu.state.flags.bits |= fl::IF;
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(interrupted_ip(&mut cpu), 0x1005);
}

#[test]
fn a_block_that_rewrites_its_own_next_instruction() {
    // mov byte [0x1006], 0x42 ; mov al, 0x00 ; hlt   (the store patches the imm8)
    let code = [0xc6, 0x06, 0x06, 0x10, 0x42, 0xb0, 0x00, 0xf4];
    let mut cpu = cpu_with(&code, u32::MAX);
    // Run the block once unpatched so that it is cached, then rewind.
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xff, 0x42);
    cpu.mem.write_phys(PhysAddr(0x1006), &[0x00]);
    cpu.state.eip = 0x1000;
    cpu.state.halted = false;
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xff, 0x42, "the patched immediate was executed");
}
