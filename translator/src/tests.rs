//! CPU-level tests that need a bus the test controls (interrupt timing) or that
//! look inside the machine (self-modifying code within one block). Guest-level
//! behaviour is tested by the ROMs in test-roms/.

use std::any::Any;

use vemu_softmmu::{Memory, MmioId, PhysAddr, PhysMemory};

use crate::bus::{Bus, BusRequest};
use crate::cpu::{Cpu, CpuConfig, Exit, InterpKind, CHAIN_BUDGET};
use crate::jit::Engine;
use crate::state::{attr, cr0, fl, reg, Seg, Segment};

/// A bus whose interrupt line rises at virtual time `after` (its next
/// event; an instruction takes a nanosecond), or as soon as the guest reads
/// or writes its MMIO window; with `nmi_on_write`, each write to the window
/// also sends an NMI.
struct TimedIrq {
    after: u64,
    vector: u8,
    acknowledged: bool,
    nmi_on_write: bool,
    nmi: bool,
    /// The device's reads, and its writes (offset, value), in order.
    reads: Vec<u32>,
    writes: Vec<(u32, u32)>,
}

impl TimedIrq {
    /// Its line rising at `after`, on vector 0x20; no NMIs.
    fn new(after: u64) -> TimedIrq {
        TimedIrq {
            after,
            vector: 0x20,
            acknowledged: false,
            nmi_on_write: false,
            nmi: false,
            reads: Vec::new(),
            writes: Vec::new(),
        }
    }
}

impl Bus for TimedIrq {
    fn port_in(&mut self, _now: u64, _port: u16, _size: u8, _mem: &mut Memory) -> u32 {
        0xff
    }
    /// Port 0x60 raises the line; port 0x80 is quiet.
    fn port_out(&mut self, _now: u64, port: u16, _size: u8, _value: u32, _mem: &mut Memory) {
        if port == 0x60 {
            self.after = 0;
        }
    }
    fn port_is_quiet(&self, port: u16, _size: u8, _write: bool) -> bool {
        port == 0x80
    }
    fn mmio_read(&mut self, _now: u64, _id: MmioId, offset: u32, _size: u8) -> u32 {
        self.after = 0;
        self.reads.push(offset);
        0
    }
    fn mmio_write(&mut self, _now: u64, _id: MmioId, offset: u32, _size: u8, value: u32) {
        self.after = 0;
        self.writes.push((offset, value));
        self.nmi |= self.nmi_on_write;
    }
    fn take_nmi(&mut self) -> bool {
        std::mem::take(&mut self.nmi)
    }
    fn interrupt_pending(&mut self, now: u64) -> bool {
        !self.acknowledged && now >= self.after
    }
    fn next_event(&mut self, now: u64) -> Option<u64> {
        (now < self.after).then_some(self.after)
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
fn cpu_with(code: &[u8], irq_after: u64) -> Cpu {
    cpu_on(code, irq_after, CpuConfig::default())
}

/// The same, with a device window at 0xd0000 and the given configuration.
fn cpu_on(code: &[u8], irq_after: u64, config: CpuConfig) -> Cpu {
    let mut phys = PhysMemory::new(1 << 20).unwrap();
    phys.add_mmio(0xd0000, 0x1000, MmioId(1)).unwrap();
    let mut mem = Memory::new(phys);
    mem.write_phys(PhysAddr(0x1000), code);
    mem.write_phys(PhysAddr(0x2000), &[0xf4]);
    mem.write_phys(PhysAddr(0x20 * 4), &[0x00, 0x20, 0x00, 0x00]);
    let bus = TimedIrq::new(irq_after);
    let mut cpu = Cpu::new(mem, Box::new(bus), config);
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
    let mut cpu = cpu_with(&[0xfa, 0xfb, 0x90, 0x90, 0xf4], 0);
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(interrupted_ip(&mut cpu), 0x1003, "taken after the NOP that follows STI");
}

#[test]
fn mov_ss_holds_interrupts_off_for_one_instruction() {
    // sti; nop; mov ss, ax; nop; nop; hlt. The line rises right after MOV SS
    // (three instructions in): the shadow defers it past the next NOP.
    let mut cpu = cpu_with(&[0xfb, 0x90, 0x8e, 0xd0, 0x90, 0x90, 0xf4], 3);
    cpu.state.flags.bits |= fl::IF;
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(interrupted_ip(&mut cpu), 0x1005);
}

#[test]
fn a_block_names_the_block_that_ran_after_it_for_the_run_loop_to_prefetch() {
    // 1000: mov ax, 1; jmp 1010. 1010: inc ax; jmp 1020. 1020: hlt.
    let mut code = vec![0x90; 0x21];
    code[..5].copy_from_slice(&[0xb8, 0x01, 0x00, 0xeb, 0x0b]);
    code[0x10..0x13].copy_from_slice(&[0x40, 0xeb, 0x0d]);
    code[0x20] = 0xf4;
    for engine in ENGINES {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(cpu.state.regs[reg::EAX], 2);
        assert_eq!(cpu.hinted_successor(0x1000), Some(0x1010), "{engine:?}");
        assert_eq!(cpu.hinted_successor(0x1010), Some(0x1020), "{engine:?}");
        assert_eq!(cpu.hinted_successor(0x1020), None, "{engine:?}: nothing ran after the HLT");
    }
}

#[test]
fn two_blocks_that_share_a_recent_slot_are_both_found_without_the_block_cache() {
    // 0000:1000: jmp far 1101:0000 (linear 0x11010); there: jmp far 0000:1000.
    // The two blocks' physical addresses hash to the same slot of the
    // recent blocks, which holds both: after the first turns, no lookup goes
    // on to the block cache but the one in 256 that marks a block used.
    let mut cpu = cpu_on(&[0xea, 0x00, 0x00, 0x01, 0x11], u64::MAX, CpuConfig::default());
    cpu.mem.write_phys(PhysAddr(0x11010), &[0xea, 0x00, 0x10, 0x00, 0x00]);
    cpu.run(10);
    let asked = |cpu: &Cpu| cpu.cache.stats().hits + cpu.cache.stats().misses;
    let before = asked(&cpu);
    cpu.run(1000);
    assert!(matches!(cpu.state.eip, 0 | 0x1000), "between the two jumps");
    assert!(asked(&cpu) - before <= 4, "the block cache was asked {} times", asked(&cpu) - before);
}

#[test]
fn an_exit_to_a_compiled_block_on_its_page_is_linked_to_it() {
    // 1000: inc ax; jmp 1010. 1010: inc bx; jmp 1000. In the baseline tier
    // each block is a translation of its own. An exit whose target the jump
    // cache does not hold comes back to the run loop, which links it to the
    // target's translation (compiled, and run lately) for the next time.
    let mut code = vec![0x90; 0x13];
    code[..3].copy_from_slice(&[0x40, 0xeb, 0x0d]);
    code[0x10..].copy_from_slice(&[0x43, 0xeb, 0xed]);
    let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine: Engine::Jit, ..CpuConfig::default() });
    cpu.run(100);
    cpu.clear_jmp_cache();
    cpu.run(100);
    let blocks = cpu.cache.on_page(PhysAddr(0x1000));
    let block = |eip: u32| blocks.iter().find(|b| b.block.eip == eip).expect("the block ran");
    let linked = [(0x1000, 0x1010), (0x1010, 0x1000)]
        .iter()
        .filter(|(from, to)| block(*from).links.target(0) == block(*to).code.get().expect("compiled").entry)
        .count();
    assert!(linked >= 1, "no exit was linked");
    assert_eq!(cpu.state.regs[reg::EAX] + cpu.state.regs[reg::EBX], cpu.icount as u32 / 2);
}

#[test]
fn a_load_after_a_store_or_load_of_its_operand_sees_memory_in_both_tiers() {
    // Run five times (compiled after the first with the JIT), each time:
    //   mov bx, 0x3000; mov si, 0x3000; mov ax, 0x1111; mov dx, 0x2222
    //   mov [bx], ax; mov [si], dx; mov cx, [bx]        (another operand, same address)
    //   mov word [bx+2], 0xabcd; mov al, [bx+2]; mov di, [bx+2]   (a narrower load)
    //   mov bp, [bx+4]; inc bx; mov dx, [bx+4]          (its register changed)
    //   mov byte [si+9], 0x77; mov [si+8], ah; mov sp, [si+8]     (a wider load)
    //   mov sp, 0x8000; dec word [0x4000]; jnz start; hlt
    let code = [
        0xbb, 0x00, 0x30, 0xbe, 0x00, 0x30, 0xb8, 0x11, 0x11, 0xba, 0x22, 0x22, 0x89, 0x07, 0x89, 0x14, 0x8b,
        0x0f, 0xc7, 0x47, 0x02, 0xcd, 0xab, 0x8a, 0x47, 0x02, 0x8b, 0x7f, 0x02, 0x8b, 0x6f, 0x04, 0x43, 0x8b,
        0x57, 0x04, 0xc6, 0x44, 0x09, 0x77, 0x88, 0x64, 0x08, 0x8b, 0x64, 0x08, 0x89, 0x26, 0x10, 0x40, 0xbc,
        0x00, 0x80, 0xff, 0x0e, 0x00, 0x40, 0x75, 0xc5, 0xf4,
    ];
    for (engine, threshold) in [(Engine::Interp, 2000), (Engine::Jit, 1), (Engine::Jit, 2000)] {
        let mut cpu =
            cpu_on(&code, u64::MAX, CpuConfig { engine, jit_threshold: threshold, ..CpuConfig::default() });
        cpu.mem.write_phys(PhysAddr(0x3000), &(0..16).collect::<Vec<u8>>());
        cpu.mem.write_phys(PhysAddr(0x4000), &[5, 0]);
        assert_eq!(cpu.run(1000), Exit::Halted, "{engine:?}");
        let r = |i: usize| cpu.state.regs[i] & 0xffff;
        let got = [r(reg::ECX), r(reg::EAX), r(reg::EDI), r(reg::EBP), r(reg::EDX), r(reg::EBX)];
        assert_eq!(got, [0x2222, 0x11cd, 0xabcd, 0x0504, 0x0605, 0x3001], "{engine:?} at {threshold}");
        let mut top = [0; 2];
        cpu.mem.read_phys(PhysAddr(0x4010), &mut top);
        assert_eq!(u16::from_le_bytes(top), 0x7711, "{engine:?} at {threshold}: mov [0x4010], sp");
    }
}

#[test]
fn a_block_that_rewrites_its_own_next_instruction() {
    // mov byte [0x1006], 0x42 ; mov al, 0x00 ; hlt   (the store patches the imm8)
    let code = [0xc6, 0x06, 0x06, 0x10, 0x42, 0xb0, 0x00, 0xf4];
    let mut cpu = cpu_with(&code, u64::MAX);
    // Run the block once unpatched so that it is cached, then rewind.
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xff, 0x42);
    cpu.mem.write_phys(PhysAddr(0x1006), &[0x00]);
    cpu.state.eip = 0x1000;
    cpu.state.halted = false;
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xff, 0x42, "the patched immediate was executed");
}

/// Both engines, each forcing its tier.
const ENGINES: [Engine; 2] = [Engine::Interp, Engine::Jit];

#[test]
fn an_mmio_access_is_followed_by_a_look_at_interrupts_in_both_tiers() {
    // sti; mov ds, ax(=0xd000); then `mov [0], al` or `mov al, [0]`;
    // nop; nop; hlt. The device raises its line when touched: the interrupt is
    // taken right after the access, in both tiers, as after an OUT.
    for access in [[0xa2, 0x00, 0x00], [0xa0, 0x00, 0x00]] {
        for engine in ENGINES {
            let mut code = vec![0xfb, 0xb8, 0x00, 0xd0, 0x8e, 0xd8];
            code.extend_from_slice(&access);
            code.extend_from_slice(&[0x90, 0x90, 0xf4]);
            let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
            assert_eq!(cpu.run(100), Exit::Halted);
            assert_eq!(interrupted_ip(&mut cpu), 0x1009, "{engine:?}, {access:x?}");
        }
    }
}

#[test]
fn an_instruction_whose_access_reaches_a_device_does_everything_once_in_both_tiers() {
    // Compiled code leaves an instruction whose access would reach a device
    // to the interpreter, which runs all of it again: what the instruction
    // did before that access (a read of RAM) must not happen twice over,
    // nor its stack pointer move twice. mov ax, SEG; mov ss, ax; mov sp,
    // 0x100; push word [0x30]; nop; hlt, with the word 0x1234 at 0x30:
    // the stack in the device window (SEG 0xd000) or in RAM (SEG 0, with DS
    // then pointing at the window: the push reads the device).
    for (ss, ds) in [(0xd000u16, 0u16), (0, 0xd000)] {
        for engine in ENGINES {
            let [s0, s1] = ss.to_le_bytes();
            let [d0, d1] = ds.to_le_bytes();
            let code = [
                0xb8, s0, s1, 0x8e, 0xd0, // mov ax, ss; mov ss, ax
                0xb8, d0, d1, 0x8e, 0xd8, // mov ax, ds; mov ds, ax
                0xbc, 0x00, 0x01, // mov sp, 0x100
                0xff, 0x36, 0x30, 0x00, // push word [0x30]
                0x90, 0xf4, // nop; hlt
            ];
            let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
            cpu.mem.write_phys(PhysAddr(0x30), &[0x34, 0x12]);
            assert_eq!(cpu.run(100), Exit::Halted, "{engine:?}");
            assert_eq!(cpu.state.eip, 0x1013, "{engine:?}");
            assert_eq!(cpu.state.regs[reg::ESP] & 0xffff, 0xfe, "{engine:?}: SP moved once");
            let dev = cpu.bus.as_any_mut().downcast_mut::<TimedIrq>().unwrap();
            if ss == 0xd000 {
                assert_eq!(dev.writes, vec![(0xfe, 0x1234)], "{engine:?}: one push, onto the device");
                assert!(dev.reads.is_empty(), "{engine:?}");
            } else {
                assert_eq!(dev.reads, vec![0x30], "{engine:?}: one read of the device");
                assert!(dev.writes.is_empty(), "{engine:?}");
                assert_eq!(cpu.read_lin(0xfe, 2, false).unwrap(), 0, "{engine:?}: what it read, pushed");
            }
        }
    }
}

#[test]
fn compiled_codes_slow_path_makes_plain_accesses_whole_and_others_not_at_all() {
    // Real mode, DS base 0, ES base 0xcf000. Across a page boundary: RAM to
    // RAM is read and written whole; into the device window (0xd0000) or onto a code byte
    // nothing is read or written, and the answer says so.
    let mut cpu = cpu_on(&[0xf4], u64::MAX, CpuConfig::default());
    assert_eq!(cpu.write_for_jit(Seg::DS, 0x3ffe, 4, 0x1122_3344, false), Ok(true));
    assert_eq!(cpu.read_lin(0x3ffe, 4, false).unwrap(), 0x1122_3344);
    assert_eq!(cpu.read_for_jit(Seg::DS, 0x3ffe, 4, false), Ok(Some(0x1122_3344)));
    assert_eq!(cpu.read_for_jit(Seg::DS, 0x3fff, 2, true), Ok(Some(0x2233)));

    cpu.state.segs[Seg::ES as usize] = Segment::real(0xcf00, false, 0);
    assert_eq!(cpu.read_for_jit(Seg::ES, 0xffe, 4, false), Ok(None));
    assert_eq!(cpu.write_for_jit(Seg::ES, 0xffe, 4, 0x5566_7788, false), Ok(false));
    let dev = cpu.bus.as_any_mut().downcast_mut::<TimedIrq>().unwrap();
    assert!(dev.reads.is_empty() && dev.writes.is_empty(), "the device saw nothing");
    assert_eq!(cpu.read_lin(0xcfffe, 2, false).unwrap(), 0, "nor did the RAM half");
    assert_eq!(cpu.read_for_jit(Seg::ES, 0xffc, 4, false), Ok(Some(0)), "RAM up to the window");

    cpu.mem.mark_code(PhysAddr(0x5000), 1);
    assert_eq!(cpu.write_for_jit(Seg::DS, 0x4ffe, 4, 0x99aa_bbcc, false), Ok(false));
    assert_eq!(cpu.read_for_jit(Seg::DS, 0x4ffe, 4, true), Ok(None), "a read-modify-write of code");
    assert_eq!(cpu.read_for_jit(Seg::DS, 0x4ffe, 4, false), Ok(Some(0)), "code is read");
    assert!(!cpu.mem.has_dirty_code());
    assert_eq!(cpu.write_for_jit(Seg::DS, 0x4ffa, 4, 0x99aa_bbcc, false), Ok(true), "beside the code");
    assert!(!cpu.mem.has_dirty_code());
}

#[test]
fn a_port_write_is_followed_by_a_look_at_interrupts_in_both_tiers_unless_the_port_is_quiet() {
    // sti; out 0x80, al (quiet: the block goes on); out 0x60, al (the device
    // raises its line); nop; nop; hlt. The interrupt is taken right after
    // the second OUT, in both tiers, although neither OUT ends the block
    // when it is decoded.
    let code = [0xfb, 0xe6, 0x80, 0xe6, 0x60, 0x90, 0x90, 0xf4];
    for engine in ENGINES {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(interrupted_ip(&mut cpu), 0x1005, "{engine:?}");
    }
}

#[test]
fn nmis_ignore_if_and_wait_for_the_handlers_iret() {
    // Interrupts off; mov ax, 0xd000; mov ds, ax; mov [0], al (an NMI);
    // nop; hlt. The NMI handler at 0000:3000: inc bx; cmp bx, 1; jne done;
    // mov [0], al (a second NMI, held off); mov cx, bx; done: iret.
    let main = [0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0xa2, 0x00, 0x00, 0x90, 0xf4];
    let handler = [0x43, 0x83, 0xfb, 0x01, 0x75, 0x05, 0xa2, 0x00, 0x00, 0x89, 0xd9, 0xcf];
    for engine in ENGINES {
        let mut cpu = cpu_on(&main, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        cpu.bus.as_any_mut().downcast_mut::<TimedIrq>().unwrap().nmi_on_write = true;
        cpu.mem.write_phys(PhysAddr(0x3000), &handler);
        cpu.mem.write_phys(PhysAddr(2 * 4), &[0x00, 0x30, 0x00, 0x00]);
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(cpu.state.regs[reg::EBX] & 0xffff, 2, "{engine:?}: two NMIs");
        assert_eq!(cpu.state.regs[reg::ECX] & 0xffff, 1, "{engine:?}: the second did not nest");
        assert_eq!(cpu.state.eip, 0x100a, "{engine:?}: halted after the HLT");
        assert!(!cpu.state.nmi_blocked && !cpu.state.nmi_pending);
    }
}

#[test]
fn rcl_by_a_multiple_of_nine_leaves_a_byte_in_memory_unwritten_in_both_tiers() {
    // mov ax, 0xd000; mov ds, ax; rcl byte [0], COUNT; nop; hlt. A write to
    // the window sends an NMI, whose handler at 0000:3000 counts it in BX.
    for (count, writes) in [(9u8, 0u32), (18, 0), (1, 1)] {
        let main = [0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0xc0, 0x16, 0x00, 0x00, count, 0x90, 0xf4];
        for engine in ENGINES {
            let mut cpu = cpu_on(&main, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
            cpu.bus.as_any_mut().downcast_mut::<TimedIrq>().unwrap().nmi_on_write = true;
            cpu.mem.write_phys(PhysAddr(0x3000), &[0x43, 0xcf]);
            cpu.mem.write_phys(PhysAddr(2 * 4), &[0x00, 0x30, 0x00, 0x00]);
            assert_eq!(cpu.run(100), Exit::Halted);
            assert_eq!(cpu.state.regs[reg::EBX] & 0xffff, writes, "{engine:?}: rcl by {count}");
        }
    }
}

/// Runs a 16-bit loop at 0000:1000 with the JIT forced until it halts;
/// returns the CPU.
fn run_jit_loop(code: &[u8]) -> Cpu {
    let mut cpu = cpu_on(code, u64::MAX, CpuConfig { engine: Engine::Jit, ..CpuConfig::default() });
    for _ in 0..1000 {
        if cpu.run(100_000) == Exit::Halted {
            return cpu;
        }
    }
    panic!("the loop did not end");
}

#[test]
fn the_jit_engine_starts_in_the_baseline_tier_and_optimizes_what_gets_hot() {
    // mov dx, 300; l1: mov cx, 10; l2: add ax, cx; loop l2; dec dx; jnz l1; hlt
    // The inner loop's block gets hot first and is compiled again while the
    // block before it is linked to its baseline code; then the outer one.
    let code = [0xba, 0x2c, 0x01, 0xb9, 0x0a, 0x00, 0x01, 0xc8, 0xe2, 0xfc, 0x4a, 0x75, 0xf6, 0xf4];
    for threshold in [100, 1, 1_000_000] {
        let config = CpuConfig { engine: Engine::Jit, jit_threshold: threshold, ..CpuConfig::default() };
        let mut cpu = cpu_on(&code, u64::MAX, config);
        while cpu.run(100_000) != Exit::Halted {}
        assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, 300 * 55, "threshold {threshold}");
        let jit = cpu.jit.as_ref().unwrap();
        let (compiled, optimized) = (jit.compiled, jit.optimized);
        let baseline = compiled - optimized;
        match threshold {
            // The blocks in the baseline tier first, then the loops as regions.
            100 => assert!(baseline >= 3 && optimized >= 1, "{baseline} + {optimized}"),
            // Hot from the first run: only the optimiser compiles.
            1 => assert!(baseline == 0 && optimized >= 1, "{baseline} + {optimized}"),
            // Never hot: the five blocks (the first, l2, the DEC and JNZ,
            // l1, the HLT) stay in the baseline tier.
            _ => assert!(baseline == 5 && optimized == 0, "{baseline} + {optimized}"),
        }
    }
}

#[test]
fn the_interpreters_instructions_are_counted_by_how_often_their_block_ran_before() {
    // mov cx, 200; l: add ax, cx; loop l; hlt: the first block makes the
    // first turn too (three instructions), the loop's block the others (two).
    let code = [0xb9, 0xc8, 0x00, 0x01, 0xc8, 0xe2, 0xfc, 0xf4];
    let run = |engine, jit_threshold| {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, jit_threshold, ..CpuConfig::default() });
        cpu.interp_stats = Some(Box::default());
        while cpu.run(100_000) != Exit::Halted {}
        assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, 200 * 201 / 2, "{engine:?}");
        let stats = cpu.interp_stats.take().unwrap();
        (stats, cpu.icount)
    };
    let at = |k: InterpKind| k as usize;
    // Compiled (on this thread) at its 150th run: the loop's runs 1-9, 10-99
    // and 100-149 were interpreted, and the first block's one run, and the
    // HLT's (a block of its own, which the loop's translation leaves for).
    let (stats, _) = run(Engine::Auto, 150);
    assert_eq!(stats.runs[at(InterpKind::Runs0)], 9 + 1 + 1, "{stats:?}");
    assert_eq!(stats.insns[at(InterpKind::Runs0)], 9 * 2 + 3 + 1, "{stats:?}");
    assert_eq!(stats.runs[at(InterpKind::Runs10)], 90, "{stats:?}");
    assert_eq!(stats.runs[at(InterpKind::Runs100)], 50, "{stats:?}");
    assert_eq!(stats.insns[at(InterpKind::Runs100)], 100, "{stats:?}");
    assert_eq!(stats.insns[at(InterpKind::Queued)] + stats.insns[at(InterpKind::NotCompiled)], 0);
    // The interpreter alone: everything, under "never".
    let (stats, icount) = run(Engine::Interp, 150);
    assert_eq!(stats.insns[at(InterpKind::NotCompiled)], icount, "{stats:?}");
    assert_eq!(stats.insns.iter().sum::<u64>(), icount);
}

#[test]
fn compile_thread_latencies_fall_in_buckets_whose_quantiles_are_bounds() {
    let mut q = crate::QueueStats::default();
    assert_eq!(q.latency_quantile(0.5), None, "nothing compiled");
    q.latency[0] = 5; // under 1 ms
    q.latency[4] = 4; // 8-16 ms
    q.latency[10] = 1; // 512 ms or more
    assert_eq!(q.latency_quantile(0.5), Some(1));
    assert_eq!(q.latency_quantile(0.9), Some(16));
    assert_eq!(q.latency_quantile(1.0), None);
}

/// Runs `cpu` a couple of instructions at a time until the compile thread
/// has nothing in flight (what it finished is then installed or dropped).
fn wait_for_background_compiles(cpu: &mut Cpu) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while cpu.jit.as_ref().unwrap().compiling() {
        assert!(std::time::Instant::now() < deadline, "the compile thread never finished");
        std::thread::sleep(std::time::Duration::from_millis(1));
        cpu.run(2);
    }
}

/// With `stop_after_compiled`, one run of `cpu`: whether it ran compiled
/// code (which returns within the chain budget) and then went on.
fn runs_compiled(cpu: &mut Cpu) -> bool {
    cpu.config.stop_after_compiled = true;
    let before = cpu.icount;
    let exit = cpu.run(1_000_000);
    cpu.config.stop_after_compiled = false;
    let ran = cpu.icount - before;
    exit == Exit::Budget && ran > 2 && ran <= CHAIN_BUDGET
}

#[test]
fn calls_and_returns_across_pages_stay_in_compiled_code_through_the_jump_cache() {
    // l: call 0x2100 (inc ax; ret); inc cx; jmp l, with the CALL at 0x10fd.
    // The call leaves the page, so it is not linked: it and the RET find
    // their targets in the jump cache, whose slot generated code must compute
    // as the run loop does. The RET's target, 0x1100, has the same offset in
    // its page as the routine: a cache indexed by the offset alone would
    // keep evicting one for the other.
    let mut code = vec![0xe9, 0xfa, 0x00]; // 0x1000: jmp 0x10fd
    code.resize(0xfd, 0x90);
    code.extend_from_slice(&[0xe8, 0x00, 0x10]); // 0x10fd: call 0x2100
    code.extend_from_slice(&[0x41, 0xe9, 0xf9, 0xff]); // 0x1100: inc cx; jmp 0x10fd
    let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine: Engine::Jit, ..CpuConfig::default() });
    cpu.mem.write_phys(PhysAddr(0x2100), &[0x40, 0xc3]);
    // Every block has been entered from the run loop once by then, which
    // remembers it in the jump cache.
    cpu.run(1000);
    cpu.config.stop_after_compiled = true;
    let before = cpu.icount;
    assert_eq!(cpu.run(1_000_000), Exit::Budget);
    let ran = cpu.icount - before;
    assert!(ran > 100, "one entry into compiled code ran {ran} instructions");
    assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, cpu.state.regs[reg::ECX] & 0xffff);
}

#[test]
fn a_background_compile_takes_over_once_ready_unless_its_code_changed_meanwhile() {
    // l: inc ax; jmp l -- AX counts the iterations.
    let code = [0x40, 0xeb, 0xfd];
    let config = CpuConfig {
        engine: Engine::Auto,
        jit_threshold: 50,
        background_compile: true,
        ..CpuConfig::default()
    };
    // Run 50 of the loop's block (one instruction after the first) sends it
    // to the thread; the run loop looks for finished compiles only before
    // a block, so none is installed before `run(100)` returns.
    let hot = |cpu: &mut Cpu| {
        assert_eq!(cpu.run(100), Exit::Budget);
        assert!(cpu.jit.as_ref().unwrap().compiling(), "the compile went to the thread");
        assert_eq!(cpu.state.eip, 0x1000, "at INC AX");
    };

    // The loop gets hot, goes to the compile thread and keeps running in the
    // interpreter; once its translation is ready, that runs.
    let mut cpu = cpu_on(&code, u64::MAX, config);
    hot(&mut cpu);
    wait_for_background_compiles(&mut cpu);
    assert_eq!(cpu.jit.as_ref().unwrap().compiled, 1);
    assert!(runs_compiled(&mut cpu), "the finished translation runs");
    cpu.run(100_001);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, cpu.icount.div_ceil(2) as u32 & 0xffff);

    // The loop's code changes (INC AX becomes DEC AX) while its compile is
    // in flight: what the thread finishes never reaches the module, and
    // the new code runs, compiled in its turn.
    let mut cpu = cpu_on(&code, u64::MAX, config);
    hot(&mut cpu);
    let (at, ax) = (cpu.icount, cpu.state.regs[reg::EAX] & 0xffff);
    cpu.write_lin(0x1000, 1, 0x48, false).unwrap();
    let expected = |cpu: &Cpu| ax.wrapping_sub((cpu.icount - at).div_ceil(2) as u32) & 0xffff;
    wait_for_background_compiles(&mut cpu);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, expected(&cpu));
    while cpu.jit.as_ref().unwrap().compiled == 0 {
        // The DEC loop gets hot in its turn.
        cpu.run(100);
        wait_for_background_compiles(&mut cpu);
    }
    assert_eq!(cpu.jit.as_ref().unwrap().compiled, 1, "only the new code was compiled");
    assert!(runs_compiled(&mut cpu), "the new code runs compiled");
    cpu.run(100_001);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, expected(&cpu));
}

#[test]
fn a_translation_built_on_the_compile_thread_keeps_the_blocks_it_points_into() {
    // l: inc ax; cmc; jmp l -- CMC goes to the interpreter's helper, which
    // gets the address of the instruction in the blocks the compile thread
    // built the translation from: those copies must stay with the block.
    let code = [0x40, 0xf5, 0xeb, 0xfc];
    let config = CpuConfig {
        engine: Engine::Auto,
        jit_threshold: 50,
        background_compile: true,
        ..CpuConfig::default()
    };
    let mut cpu = cpu_on(&code, u64::MAX, config);
    cpu.run(200);
    wait_for_background_compiles(&mut cpu);
    assert_eq!(cpu.jit.as_ref().unwrap().compiled, 1);
    let blocks = cpu.cache.on_page(PhysAddr(0x1000));
    let root = blocks.iter().find(|b| b.block.eip == 0x1000).expect("the loop's block");
    let kept = root.compiled_from.borrow();
    let expected: Vec<_> = std::iter::once(&root.block).chain(root.region.borrow().iter()).cloned().collect();
    assert_eq!(kept.len(), expected.len());
    for (k, e) in kept.iter().zip(&expected) {
        assert_eq!((k.eip, &k.insns), (e.eip, &e.insns));
    }
    drop(kept);
    // And it runs: AX counts the iterations, CF toggles with each.
    let (ax, cf, at) = (cpu.state.regs[reg::EAX] & 0xffff, cpu.state.flags.bits & fl::CF, cpu.icount);
    assert!(runs_compiled(&mut cpu), "the translation runs");
    cpu.run(3 * 1000 - (cpu.icount - at) % 3);
    let turns = (cpu.icount - at) / 3;
    assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, (ax + turns as u32) & 0xffff);
    assert_eq!(cpu.state.flags.bits & fl::CF, cf ^ (turns as u32 & 1));
}

#[test]
fn rdtsc_reads_the_clock_alike_in_every_tier_at_any_rate() {
    // nop; nop; nop; rdtsc; hlt
    let code = [0x90, 0x90, 0x90, 0x0f, 0x31, 0xf4];
    for (engine, threshold) in [(Engine::Interp, 2000), (Engine::Jit, 2000), (Engine::Jit, 1)] {
        let mut cpu =
            cpu_on(&code, u64::MAX, CpuConfig { engine, jit_threshold: threshold, ..CpuConfig::default() });
        // 5000 instructions at a nanosecond each, then 37/16 ns each.
        cpu.icount = 5000;
        cpu.set_rate(37);
        cpu.state.tsc_offset = 2 << 32;
        while cpu.run(100) != Exit::Halted {}
        // RDTSC is the fourth instruction: 4 * 37 / 16 = 9.25 ns after 5000.
        let tsc = (cpu.state.regs[reg::EDX] as u64) << 32 | cpu.state.regs[reg::EAX] as u64;
        assert_eq!(tsc, (2 << 32) + 5009, "{engine:?} at threshold {threshold}");
        if engine == Engine::Jit {
            assert!(cpu.jit.as_ref().unwrap().compiled >= 1, "compiled");
        }
    }
}

#[test]
fn at_any_rate_an_interrupt_is_taken_at_the_first_instruction_at_or_after_its_time() {
    // 100 x inc ax; hlt. An instruction takes 37/16 ns. The line rises at
    // 100 ns: the 44th instruction is the first to end at or after it (43
    // end at 99.4 ns). At 50 ns it is the 22nd (21 end at 48.6 ns), also when
    // the run loop first looks at the event after 3 instructions, at 6.9 ns
    // (counted from there, 44 ns away, the rounding would give the 23rd).
    let mut code = vec![0x40; 100];
    code.push(0xf4);
    for (at, first_looked, taken) in [(100, 0, 44), (50, 3, 22)] {
        for (engine, threshold) in [(Engine::Interp, 2000), (Engine::Jit, 1), (Engine::Auto, 2000)] {
            let config = CpuConfig { engine, jit_threshold: threshold, ..CpuConfig::default() };
            let mut cpu = cpu_on(&code, at, config);
            cpu.state.flags.bits |= fl::IF;
            cpu.set_rate(37);
            if first_looked > 0 {
                assert_eq!(cpu.run(first_looked), Exit::Budget);
            }
            assert_eq!(cpu.run(1000), Exit::Halted);
            assert_eq!(interrupted_ip(&mut cpu), 0x1000 + taken, "{engine:?}, at {at} ns");
            assert_eq!(cpu.state.regs[reg::EAX] & 0xffff, taken, "{engine:?}, at {at} ns");
        }
    }
}

#[test]
fn cli_ends_its_block_in_a_region_too() {
    //       mov cx, 100
    //       sti
    // l:    dec cx
    //       jz done
    //       test cx, 1
    //       jz skip
    //       cli           (a block of its own, and a translation of its own: a
    //                     dead end of l's loop, which l's region leaves for)
    // skip: jmp l         (in l's region: it leads back to l)
    // done: pushf; pop ax; hlt
    let code = [
        0xb9, 0x64, 0x00, 0xfb, 0x49, 0x74, 0x09, 0xf7, 0xc1, 0x01, 0x00, 0x74, 0x01, 0xfa, 0xeb, 0xf4, 0x9c,
        0x58, 0xf4,
    ];
    for (engine, threshold) in
        [(Engine::Interp, 2000), (Engine::Jit, 1), (Engine::Jit, 2000), (Engine::Auto, 5)]
    {
        let mut cpu =
            cpu_on(&code, u64::MAX, CpuConfig { engine, jit_threshold: threshold, ..CpuConfig::default() });
        while cpu.run(100_000) != Exit::Halted {}
        let what = format!("{engine:?} at threshold {threshold}");
        assert_eq!(cpu.state.regs[reg::ECX] & 0xffff, 0, "{what}");
        assert_eq!(cpu.state.regs[reg::EAX] & fl::IF, 0, "{what}: IF cleared by the CLI at CX = 1");
        assert_eq!(cpu.state.eip, 0x1013, "{what}");
    }
}

#[test]
fn data_written_beside_code_leaves_its_translation_alone() {
    // mov cx, 2000; l: inc word [0x1100]; loop l; hlt -- the counter shares
    // the loop's page.
    let code = [0xb9, 0xd0, 0x07, 0xff, 0x06, 0x00, 0x11, 0xe2, 0xfa, 0xf4];
    let mut cpu = run_jit_loop(&code);
    assert_eq!(cpu.read_lin(0x1100, 2, false).unwrap(), 2000);
    assert_eq!(cpu.cache.stats().invalidations, 0, "no translation was dropped");
    let compiled = cpu.jit.as_ref().unwrap().compiled;
    assert!(compiled <= 4, "compiled {compiled} times");
}

#[test]
fn code_that_keeps_patching_itself_is_compiled_ever_more_reluctantly() {
    // mov cx, 3000; l: inc byte [0x1008]; mov al, 0 (its immediate, at
    // 0x1008, patched by the INC); loop l; hlt. Every iteration rewrites the
    // loop.
    let code = [0xb9, 0xb8, 0x0b, 0xfe, 0x06, 0x08, 0x10, 0xb0, 0x00, 0xe2, 0xf8, 0xf4];
    let cpu = run_jit_loop(&code);
    assert_eq!(cpu.state.regs[reg::EAX] & 0xff, 3000 & 0xff, "the last patch ran");
    let compiled = cpu.jit.as_ref().unwrap().compiled;
    assert!(compiled < 40, "compiled {compiled} times for 3000 rewrites");
}

/// A CPU in 32-bit protected mode at CPL 0, flat segments, with `code` at
/// linear 0x1000 and a GDT at 0x800 holding `gdt` (descriptors from 0x08 on).
fn pm_cpu(code: &[u8], gdt: &[u64]) -> Cpu {
    let mut cpu = cpu_on(code, u64::MAX, CpuConfig { engine: Engine::Interp, ..CpuConfig::default() });
    let flat = |selector: u16, code: bool| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attr: if code { attr::CODE | attr::WRITABLE_READABLE } else { attr::WRITABLE_READABLE }
            | attr::ACCESSED
            | attr::S
            | attr::PRESENT
            | attr::DB
            | attr::G,
    };
    for (i, d) in gdt.iter().enumerate() {
        cpu.mem.write_phys(PhysAddr(0x808 + 8 * i as u32), &d.to_le_bytes());
    }
    let s = &mut cpu.state;
    s.cr0 |= cr0::PE;
    s.gdtr.base = 0x800;
    s.gdtr.limit = 0x7ff;
    for seg in Seg::ALL {
        s.segs[seg as usize] = flat(if seg == Seg::CS { 0x08 } else { 0x10 }, seg == Seg::CS);
    }
    cpu
}

#[test]
fn sysenter_and_sysexit_selectors_wrap_at_16_bits() {
    // sysenter with IA32_SYSENTER_CS = 0xfffc: SS is 0xfffc + 8, which wraps to
    // 0x0004 (the processor computes selectors in 16 bits).
    let mut cpu = pm_cpu(&[0x0f, 0x34], &[]);
    cpu.state.msr.sysenter_cs = 0xfffc;
    cpu.state.msr.sysenter_eip = 0x2000;
    cpu.run(1);
    assert_eq!(cpu.state.seg(Seg::SS).selector, 0x0004);
    assert_eq!(cpu.state.eip, 0x2000);
    // sysexit with IA32_SYSENTER_CS = 0xfff8: CS = 0xfff8 + 16 and SS = + 24,
    // both wrapping, with RPL 3.
    let mut cpu = pm_cpu(&[0x0f, 0x35], &[]);
    cpu.state.msr.sysenter_cs = 0xfff8;
    cpu.state.regs[reg::EDX] = 0x3000;
    cpu.run(1);
    assert_eq!(cpu.state.seg(Seg::CS).selector, 0x000b);
    assert_eq!(cpu.state.seg(Seg::SS).selector, 0x0013);
    assert_eq!((cpu.state.cpl, cpu.state.eip), (3, 0x3000));
}

#[test]
fn a_tss_at_the_top_of_the_address_space_wraps() {
    // jmp 0x10:0 to a 32-bit TSS based at 0xfffffff0: its fields above the
    // base wrap around to linear 0, as the processor's address arithmetic
    // does (no host panic on the way). The outgoing TSS is at 0x3000.
    let tss_high: u64 = 0x0067 | 0xfff0 << 16 | 0xff << 32 | 0x89 << 40 | 0xff << 56;
    let mut cpu = pm_cpu(&[0xea, 0, 0, 0, 0, 0x10, 0x00], &[0x00cf_9b00_0000_ffff, tss_high]);
    cpu.state.tr = Segment { selector: 0x18, base: 0x3000, limit: 0x67, attr: 0x8b | attr::PRESENT };
    // The incoming EIP (at +0x20, linear 0x10) and EFLAGS (+0x24).
    cpu.mem.write_phys(PhysAddr(0x10), &[0x00, 0x10, 0, 0, 0x02, 0, 0, 0]);
    cpu.run(1);
    assert_eq!(cpu.state.tr.base, 0xffff_fff0, "the task switch happened");
    assert_eq!(cpu.state.eip, 0x1000, "EIP came from the wrapped address");
}

#[test]
fn an_exception_frame_pushed_over_cached_code_drops_it() {
    // ud2 at 0000:1000 raises #UD; its handler at 0000:2000 is `mov ax,
    // 0x1234; hlt`. Once it has run (and is cached), again with SP = 0x2006:
    // the frame (IP 0x1000, CS 0, FLAGS) lands on the handler's own bytes,
    // which must run as they now are, not as they were decoded.
    for engine in ENGINES {
        let mut cpu = cpu_on(&[0x0f, 0x0b], u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        cpu.mem.write_phys(PhysAddr(6 * 4), &[0x00, 0x20, 0x00, 0x00]);
        cpu.mem.write_phys(PhysAddr(0x2000), &[0xb8, 0x34, 0x12, 0xf4]);
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(cpu.state.regs[reg::EAX], 0x1234, "{engine:?}: the handler ran once");
        cpu.state.regs[reg::EAX] = 0;
        cpu.state.regs[reg::ESP] = 0x2006;
        cpu.state.eip = 0x1000;
        cpu.state.halted = false;
        cpu.run(20);
        assert_eq!(cpu.read_lin(0x2000, 2, false).unwrap(), 0x1000, "{engine:?}: the frame is there");
        assert_ne!(cpu.state.regs[reg::EAX], 0x1234, "{engine:?}: the stale handler ran");
    }
}

#[test]
fn a_downward_rep_stos_from_the_top_of_a_flat_segment() {
    // std; mov edi, 0xffffffff; mov ecx, 3; rep stosb; hlt: the bulk path
    // counts the elements below EDI (all 4 Gi of them) without overflow.
    let code = [0xfd, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xb9, 3, 0, 0, 0, 0xf3, 0xaa, 0xf4];
    let mut cpu = pm_cpu(&code, &[]);
    cpu.run(20);
    assert_eq!(cpu.state.regs[reg::ECX], 0);
    assert_eq!(cpu.state.regs[reg::EDI], 0xffff_fffc);
}

#[test]
fn a_load_after_a_store_reads_what_memory_kept_in_every_tier() {
    // Compiled code takes a stored value for a later load of the operand
    // (without reading memory): only where reads see what was written. A
    // store to nothing (beyond RAM) or to a ROM is dropped, and the load
    // reads all ones or the ROM.
    let code = [
        0xbb, 0x00, 0x00, 0x20, 0x00, // mov ebx, 0x200000 (no memory)
        0xc7, 0x43, 0x08, 0x78, 0x56, 0x34, 0x12, // mov dword [ebx+8], 0x12345678
        0x8b, 0x43, 0x08, // mov eax, [ebx+8]
        0xbb, 0x00, 0x00, 0x0e, 0x00, // mov ebx, 0xe0000 (ROM)
        0xc7, 0x43, 0x08, 0x78, 0x56, 0x34, 0x12, // mov dword [ebx+8], 0x12345678
        0x8b, 0x4b, 0x08, // mov ecx, [ebx+8]
        0xf4, // hlt
    ];
    for (engine, jit_threshold) in [(Engine::Interp, 2000), (Engine::Jit, 1), (Engine::Jit, 2000)] {
        let mut cpu = pm_cpu(&code, &[]);
        cpu.config.engine = engine;
        cpu.config.jit_threshold = jit_threshold;
        cpu.mem.phys.add_rom(0xe0000, &[0x11; 0x1000]).unwrap();
        let tier = format!("{engine:?} at {jit_threshold}");
        for run in 0..2 {
            cpu.state.eip = 0x1000;
            cpu.state.halted = false;
            assert_eq!(cpu.run(100), Exit::Halted, "{tier}");
            let r = cpu.state.regs;
            assert_eq!([r[reg::EAX], r[reg::ECX]], [u32::MAX, 0x1111_1111], "{tier}, run {run}");
        }
    }
}

#[test]
fn accesses_through_one_register_share_a_probe_only_where_it_holds_in_every_tier() {
    // 32-bit flat code, in three blocks (the interpreter takes over at each
    // access to the device); compiled code checks accesses through one
    // register once (see `SharedProbe`), where that check can hold.
    let code = [
        // A range that straddles two pages: its check misses, each access
        // goes on alone.
        0xbf, 0xf0, 0x3f, 0x00, 0x00, // mov edi, 0x3ff0
        0x8b, 0x47, 0x08, // mov eax, [edi+8]        (0x3ff8)
        0x8b, 0x4f, 0x14, // mov ecx, [edi+0x14]     (0x4004: 0x20004)
        0x89, 0x4f, 0x04, // mov [edi+4], ecx        (0x3ff4)
        0x89, 0x47, 0x18, // mov [edi+0x18], eax     (0x4008: 0x20008)
        // EBX changed: the same displacement is another address, here the
        // device's.
        0xbb, 0x00, 0xf0, 0x0c, 0x00, // mov ebx, 0xcf000
        0x8b, 0x53, 0x08, // mov edx, [ebx+8]        (RAM)
        0x8b, 0x73, 0x0c, // mov esi, [ebx+0xc]      (RAM)
        0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, // add ebx, 0x1000
        0x8b, 0x6b, 0x08, // mov ebp, [ebx+8]        (device, offset 8)
        // An access beyond the shared range, on the device's page.
        0xbb, 0x00, 0xf9, 0x0c, 0x00, // mov ebx, 0xcf900
        0x8b, 0x53, 0x08, // mov edx, [ebx+8]        (RAM)
        0x8b, 0x73, 0x0c, // mov esi, [ebx+0xc]      (RAM)
        0x8b, 0xbb, 0x00, 0x08, 0x00, 0x00, // mov edi, [ebx+0x800]   (device, offset 0x100)
        // Stores through one register onto the block's own code: the
        // immediate of the MOV after them (at 0x1044).
        0xbb, 0x43, 0x10, 0x00, 0x00, // mov ebx, 0x1043
        0xc6, 0x43, 0x01, 0x78, // mov byte [ebx+1], 0x78
        0xc6, 0x43, 0x02, 0x56, // mov byte [ebx+2], 0x56
        0xb8, 0x00, 0x00, 0x00, 0x00, // mov eax, 0
        0xf4, // hlt
    ];
    assert_eq!(code[0x43], 0xb8, "the patched MOV's place");
    for (engine, jit_threshold) in [(Engine::Interp, 2000), (Engine::Jit, 1), (Engine::Jit, 2000)] {
        let mut cpu = pm_cpu(&code, &[]);
        cpu.config.engine = engine;
        cpu.config.jit_threshold = jit_threshold;
        // Paging: one to one, but for the page at 0x4000, which is at
        // 0x20000 (a check of only the range's first page would take the
        // second's bytes from 0x4000).
        let (dir, table) = (0x10000u32, 0x11000u32);
        cpu.mem.write_phys(PhysAddr(dir), &(table | 3).to_le_bytes());
        for page in 0..0x100u32 {
            let frame = if page == 4 { 0x20 } else { page };
            cpu.mem.write_phys(PhysAddr(table + 4 * page), &(frame << 12 | 3).to_le_bytes());
        }
        cpu.state.cr3 = dir;
        cpu.state.cr0 |= cr0::PG;
        cpu.mem.tlb.flush_all();
        for (at, v) in [(0x3ff8, 0x1111_1111u32), (0x20004, 0x2222_2222), (0xcf008, 0x3333_3333)] {
            cpu.mem.write_phys(PhysAddr(at), &v.to_le_bytes());
        }
        for (at, v) in [(0xcf00c, 0x4444_4444u32), (0xcf908, 0x5555_5555), (0xcf90c, 0x6666_6666)] {
            cpu.mem.write_phys(PhysAddr(at), &v.to_le_bytes());
        }
        let tier = format!("{engine:?} at {jit_threshold}");
        assert_eq!(cpu.run(100), Exit::Halted, "{tier}");
        assert_eq!(cpu.state.regs[reg::EAX], 0x5678, "{tier}: the patched MOV ran");
        // Again, with the TLB filled (a check that cannot hit tests nothing).
        cpu.state.eip = 0x1000;
        cpu.state.halted = false;
        assert_eq!(cpu.run(100), Exit::Halted, "{tier}");
        let r = cpu.state.regs;
        assert_eq!(r[reg::ECX], 0x2222_2222, "{tier}");
        assert_eq!(cpu.read_lin(0x3ff4, 4, false).unwrap(), 0x2222_2222, "{tier}");
        assert_eq!(cpu.read_lin(0x4008, 4, false).unwrap(), 0x1111_1111, "{tier}");
        assert_eq!(
            [r[reg::EDX], r[reg::ESI], r[reg::EBP], r[reg::EDI]],
            [0x5555_5555, 0x6666_6666, 0, 0],
            "{tier}"
        );
        let dev = cpu.bus.as_any_mut().downcast_mut::<TimedIrq>().unwrap();
        assert_eq!(dev.reads, [8, 0x100].repeat(2), "{tier}: each read of the device, once a run");
    }
}

/// A bus whose interrupt line rises at virtual time `at` (a device event the
/// CPU is told about through `next_event`).
struct EventIrq {
    at: u64,
    acknowledged: bool,
}

impl Bus for EventIrq {
    fn port_in(&mut self, _now: u64, _port: u16, _size: u8, _mem: &mut Memory) -> u32 {
        0xff
    }
    fn port_out(&mut self, _now: u64, _port: u16, _size: u8, _value: u32, _mem: &mut Memory) {}
    fn mmio_read(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8) -> u32 {
        0
    }
    fn mmio_write(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self, now: u64) -> bool {
        !self.acknowledged && now >= self.at
    }
    fn next_event(&mut self, now: u64) -> Option<u64> {
        (now < self.at).then_some(self.at)
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        self.acknowledged = true;
        0x20
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        None
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[test]
fn a_rep_instruction_does_not_carry_compiled_code_past_a_device_event() {
    // sti; mov cx, 20; rep stosb; nop x 8; hlt. REP STOSB counts 21; the
    // event is due 3 instructions after it, before the fourth NOP (at
    // 0x1009), and both tiers take the interrupt there.
    let mut code = vec![0xfb, 0xb9, 20, 0, 0xf3, 0xaa];
    code.extend_from_slice(&[0x90; 8]);
    code.push(0xf4);
    for engine in ENGINES {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        cpu.bus = Box::new(EventIrq { at: 1 + 1 + 21 + 3, acknowledged: false });
        cpu.state.regs[reg::EDI] = 0x3000;
        // Compile the blocks first (the JIT compiles before a block runs).
        assert_eq!(cpu.run(1000), Exit::Halted);
        assert_eq!(interrupted_ip(&mut cpu), 0x1009, "{engine:?}");
    }
}

/// Runs real-mode `code` with 3 at 0x3000 (word) and returns the double FSTP
/// left at 0x3010.
#[test]
fn x87_divides_through_memory_operands() {
    // fld1; fild word [0x3000]; fdivp st1; fstp qword [0x3010]; hlt
    let code = [0xd9, 0xe8, 0xdf, 0x06, 0x00, 0x30, 0xde, 0xf9, 0xdd, 0x1e, 0x10, 0x30, 0xf4];
    for engine in ENGINES {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        cpu.state.cr0 |= cr0::NE;
        cpu.state.fpu.finit();
        cpu.mem.write_phys(PhysAddr(0x3000), &[3, 0]);
        assert_eq!(cpu.run(100), Exit::Halted);
        let lo = cpu.read_lin(0x3010, 4, false).unwrap();
        let hi = cpu.read_lin(0x3014, 4, false).unwrap();
        assert_eq!((hi, lo), (0x3fd5_5555, 0x5555_5555), "{engine:?}: {:?}", cpu.state.fpu);
    }
}

#[test]
fn tzcnt_and_lzcnt_encodings_are_bsf_and_bsr_without_bmi() {
    // mov ax, 0x50; mov cx, 0x1234; tzcnt cx, ax (F3 0F BC); lzcnt dx, ax
    // (F3 0F BD); xor ax, ax; mov bx, 0x7777; tzcnt bx, ax; hlt
    let code = [
        0xb8, 0x50, 0x00, 0xb9, 0x34, 0x12, 0xf3, 0x0f, 0xbc, 0xc8, 0xf3, 0x0f, 0xbd, 0xd0, 0x31, 0xc0, 0xbb,
        0x77, 0x77, 0xf3, 0x0f, 0xbc, 0xd8, 0xf4,
    ];
    for engine in ENGINES {
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(cpu.state.regs[reg::ECX] & 0xffff, 4, "{engine:?}: BSF's answer");
        assert_eq!(cpu.state.regs[reg::EDX] & 0xffff, 6, "{engine:?}: BSR's answer");
        assert_eq!(
            cpu.state.regs[reg::EBX] & 0xffff,
            0x7777,
            "{engine:?}: a zero source leaves BSF's destination"
        );
        assert!(cpu.state.flags.zf(), "{engine:?}: ZF for a zero source");
    }
}

#[test]
fn instructions_follow_the_cpu_model() {
    use crate::cpuid::CpuModel;
    // (bytes in 16-bit code, the feature it needs)
    let cases: [(&[u8], &str); 7] = [
        (&[0x0f, 0x44, 0xc3], "cmov"), // cmove ax, bx
        (&[0x0f, 0x31], "tsc"),        // rdtsc
        (&[0x0f, 0x32], "msr"),        // rdmsr
        (&[0x0f, 0xc7, 0x0f], "cx8"),  // cmpxchg8b [bx]
        (&[0x0f, 0x34], "sep"),        // sysenter
        (&[0x0f, 0xae, 0x07], "fxsr"), // fxsave [bx]
        (&[0x0f, 0xfc, 0xc1], "mmx"),  // paddb mm0, mm1
    ];
    for (bytes, feature) in cases {
        let spec = format!("pentium4,-{feature}");
        let (model, _) = CpuModel::parse(&spec).unwrap();
        let mut ins = iced_x86::Decoder::new(16, bytes, 0).decode();
        ins.set_next_ip(bytes.len() as u64);
        let mut cpu = cpu_on(&[0xf4], u64::MAX, CpuConfig { model, ..CpuConfig::default() });
        let e = cpu.execute(&ins).expect_err(&spec);
        assert_eq!(e.vector, crate::exception::vector::UD, "{spec}");
    }
    // CR4 takes only the bits the model's features give: OSFXSR needs FXSR.
    for (spec, vector) in [("pentium4", None), ("pentium4,-fxsr", Some(crate::exception::vector::GP))] {
        let (model, _) = CpuModel::parse(spec).unwrap();
        let bytes = [0x0f, 0x22, 0xe0]; // mov cr4, eax
        let ins = iced_x86::Decoder::new(16, &bytes, 0).decode();
        let mut cpu = cpu_on(&[0xf4], u64::MAX, CpuConfig { model, ..CpuConfig::default() });
        cpu.state.regs[reg::EAX] = crate::state::cr4::OSFXSR;
        assert_eq!(cpu.execute(&ins).err().map(|e| e.vector), vector, "{spec}");
    }
    // The reset signature and CPUID follow the model.
    let model = CpuModel::by_name("486").unwrap();
    let mut cpu = cpu_on(
        &[0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4],
        u64::MAX,
        CpuConfig { model, ..CpuConfig::default() },
    );
    cpu.reset();
    assert_eq!(cpu.state.regs[reg::EDX], 0x480, "EDX after reset");
    cpu.state.segs[Seg::CS as usize] = Segment::real(0, true, 0);
    cpu.state.eip = 0x1000;
    assert_eq!(cpu.run(100), Exit::Halted);
    assert_eq!(cpu.state.regs[reg::EAX], 0x480);
    assert_eq!(cpu.state.regs[reg::EDX], crate::cpuid::feature::FPU | crate::cpuid::feature::PSE);
}

/// A 32-bit flat protected-mode CPU with paging: the first 512 KiB mapped
/// one to one, except the page at 0x50000, which is not present.
fn paged_cpu() -> Cpu {
    let mut cpu = cpu_on(&[0xf4], u64::MAX, CpuConfig::default());
    let (dir, table) = (0x10000u32, 0x11000u32);
    cpu.mem.write_phys(PhysAddr(dir), &(table | 3).to_le_bytes());
    for page in 0..0x80u32 {
        let entry = if page == 0x50 { 0 } else { page << 12 | 3 };
        cpu.mem.write_phys(PhysAddr(table + 4 * page), &entry.to_le_bytes());
    }
    let flat = |code: bool| Segment {
        selector: if code { 8 } else { 0x10 },
        base: 0,
        limit: 0xffff_ffff,
        attr: (if code { attr::CODE } else { 0 })
            | attr::WRITABLE_READABLE
            | attr::ACCESSED
            | attr::S
            | attr::PRESENT
            | attr::DB
            | attr::G,
    };
    for s in Seg::ALL {
        cpu.state.segs[s as usize] = flat(s == Seg::CS);
    }
    cpu.state.cr3 = dir;
    cpu.state.cr0 |= cr0::PE | cr0::PG | cr0::NE;
    cpu.state.cr4 |= crate::state::cr4::OSFXSR;
    cpu.mem.tlb.flush_all();
    cpu
}

#[test]
fn long_operands_that_cross_into_a_missing_page_fault_before_writing() {
    // (32-bit code, the operand's address, a store?)
    let cases: [(&[u8], u32, bool); 5] = [
        (&[0xdb, 0x3d, 0xfa, 0xff, 0x04, 0x00], 0x4fffa, true), // fstp tword [0x4fffa]
        (&[0xdd, 0x1d, 0xfc, 0xff, 0x04, 0x00], 0x4fffc, true), // fstp qword [0x4fffc]
        (&[0x0f, 0x11, 0x05, 0xf8, 0xff, 0x04, 0x00], 0x4fff8, true), // movups [0x4fff8], xmm0
        (&[0x0f, 0x10, 0x05, 0xf8, 0xff, 0x04, 0x00], 0x4fff8, false), // movups xmm0, [0x4fff8]
        (&[0x0f, 0xae, 0x05, 0x00, 0xff, 0x04, 0x00], 0x4ff00, true), // fxsave [0x4ff00]
    ];
    for (bytes, at, store) in cases {
        let mut cpu = paged_cpu();
        cpu.state.fpu.finit();
        cpu.state.fpu.regs[7] = crate::f80::F80::ONE;
        cpu.state.fpu.top = 7;
        cpu.state.fpu.valid = 0x80;
        cpu.state.fpu.xmm[0] = 0x1111_2222_3333_4444_5555_6666_7777_8888;
        cpu.mem.write_phys(PhysAddr(at), &[0xaa; 8]);
        let before = cpu.state.fpu.clone();
        let ins = iced_x86::Decoder::new(32, bytes, 0).decode();
        let e = cpu.execute(&ins).expect_err("the second page is missing");
        assert_eq!(e.vector, crate::exception::vector::PF, "{ins}");
        assert_eq!(e.address, 0x50000, "{ins}: CR2 names the missing page");
        assert_eq!(e.error.map(|c| c & 2 != 0), Some(store), "{ins}: W/R bit");
        let mut first = [0u8; 8];
        cpu.mem.read_phys(PhysAddr(at), &mut first);
        assert_eq!(first, [0xaa; 8], "{ins}: nothing was written to the first page");
        let f = &cpu.state.fpu;
        let values = |f: &crate::state::Fpu| (f.regs, f.sw, f.top, f.valid, f.xmm, f.mxcsr);
        assert_eq!(values(f), values(&before), "{ins}: the registers, stack and status are unchanged");
    }
}

#[test]
fn fop_is_recorded_always_before_the_pentium_4_and_on_exceptions_only_on_it() {
    use crate::cpuid::CpuModel;
    // fld1; hlt
    for (name, fop) in [("pentium3", 0x1e8), ("pentium4", 0)] {
        let model = CpuModel::by_name(name).unwrap();
        let mut cpu = cpu_on(&[0xd9, 0xe8, 0xf4], u64::MAX, CpuConfig { model, ..CpuConfig::default() });
        cpu.state.fpu.finit();
        assert_eq!(cpu.run(100), Exit::Halted);
        assert_eq!(cpu.state.fpu.fop, fop, "{name}");
        assert_eq!(cpu.state.fpu.fip, 0x1000, "{name}: the instruction pointer either way");
    }
}

// ---- PAE paging and execute-disable ----------------------------------------------------

/// Where `pae_cpu` puts its tables: the PDPT, the directory, the table
/// mapping the first 2 MiB in 4 KiB pages (the directory's second entry maps
/// 2-4 MiB as one 2 MiB page); all one to one.
const PDPT: u32 = 0x10000;
const PAE_DIR: u32 = 0x11000;
const PAE_TABLE: u32 = 0x12000;

/// A 32-bit flat CPU at CPL 0 under PAE paging with `code` at linear 0x1000,
/// the stack below 0x8000, and a #PF handler that halts (at 0x2000).
fn pae_cpu(code: &[u8], config: CpuConfig) -> Cpu {
    let mut mem = Memory::new(PhysMemory::new(4 << 20).unwrap());
    let put = |mem: &mut Memory, at: u32, v: u64| mem.write_phys(PhysAddr(at), &v.to_le_bytes());
    put(&mut mem, PDPT, u64::from(PAE_DIR | 1));
    put(&mut mem, PAE_DIR, u64::from(PAE_TABLE | 3));
    put(&mut mem, PAE_DIR + 8, 0x20_0083);
    for page in 0..512u32 {
        put(&mut mem, PAE_TABLE + 8 * page, u64::from(page << 12 | 3));
    }
    mem.write_phys(PhysAddr(0x1000), code);
    mem.write_phys(PhysAddr(0x2000), &[0xf4]);
    // GDT at 0x800: flat code 0x08, flat data 0x10; IDT at 0x3000: #PF -> 0x08:0x2000.
    put(&mut mem, 0x808, 0x00cf_9b00_0000_ffff);
    put(&mut mem, 0x810, 0x00cf_9300_0000_ffff);
    put(&mut mem, 0x3000 + 14 * 8, 0x0000_8e00_0008_2000);
    let bus = TimedIrq::new(u64::MAX);
    let mut cpu = Cpu::new(mem, Box::new(bus), config);
    let flat = |selector: u16, code: bool| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attr: if code { attr::CODE } else { 0 }
            | attr::WRITABLE_READABLE
            | attr::ACCESSED
            | attr::S
            | attr::PRESENT
            | attr::DB
            | attr::G,
    };
    let s = &mut cpu.state;
    for seg in Seg::ALL {
        s.segs[seg as usize] = flat(if seg == Seg::CS { 0x08 } else { 0x10 }, seg == Seg::CS);
    }
    s.gdtr = crate::state::TableReg { base: 0x800, limit: 0x17 };
    s.idtr = crate::state::TableReg { base: 0x3000, limit: 0x7ff };
    s.eip = 0x1000;
    s.regs[reg::ESP] = 0x8000;
    s.cr3 = PDPT;
    s.cr4 = crate::state::cr4::PAE;
    s.cr0 = cr0::PE | cr0::PG | cr0::ET | cr0::NE;
    s.pdptes = vemu_softmmu::load_pdptes(&cpu.mem, PDPT).unwrap();
    cpu
}

/// The model with execute-disable.
fn nx_model() -> crate::cpuid::CpuModel {
    crate::cpuid::CpuModel::parse("pentium4,+nx").unwrap().0
}

/// Executes the one instruction in `bytes` (32-bit code) outside the run loop.
fn exec(cpu: &mut Cpu, bytes: &[u8]) -> Result<(), crate::exception::Exception> {
    let ins = iced_x86::Decoder::new(32, bytes, 0).decode();
    cpu.execute(&ins)
}

const MOV_CR0_EAX: [u8; 3] = [0x0f, 0x22, 0xc0];
const MOV_CR3_EAX: [u8; 3] = [0x0f, 0x22, 0xd8];
const MOV_CR4_EAX: [u8; 3] = [0x0f, 0x22, 0xe0];

#[test]
fn pdptes_load_with_cr3_and_bad_ones_are_a_gp() {
    let mut cpu = pae_cpu(&[], CpuConfig::default());
    let gp = Some(crate::exception::vector::GP);
    // A second PDPT at 0x10020 (32-byte aligned) with a reserved bit (bit 1)
    // in a present entry: #GP(0), nothing changes.
    cpu.mem.write_phys(PhysAddr(0x10020), &u64::from(PAE_DIR | 1).to_le_bytes());
    cpu.mem.write_phys(PhysAddr(0x10028), &(0x13000u64 | 3).to_le_bytes());
    cpu.state.regs[reg::EAX] = 0x10020;
    let before = cpu.state.pdptes;
    assert_eq!(exec(&mut cpu, &MOV_CR3_EAX).err().map(|e| e.vector), gp);
    assert_eq!((cpu.state.cr3, cpu.state.pdptes), (PDPT, before));
    // Fixed, it loads: CR3 keeps bits 11:5.
    cpu.mem.write_phys(PhysAddr(0x10028), &(0x13000u64 | 1).to_le_bytes());
    exec(&mut cpu, &MOV_CR3_EAX).unwrap();
    assert_eq!(cpu.state.cr3, 0x10020);
    assert_eq!(cpu.state.pdptes, [u64::from(PAE_DIR | 1), 0x13001, 0, 0]);
    // Without PAE paging MOV CR3 reads no PDPTEs: a bad table is no fault
    // until paging with PAE is turned on, which then faults and stays off.
    cpu.mem.write_phys(PhysAddr(0x10028), &(0x13000u64 | 3).to_le_bytes());
    cpu.state.cr0 &= !cr0::PG;
    exec(&mut cpu, &MOV_CR3_EAX).unwrap();
    cpu.state.regs[reg::EAX] = cpu.state.cr0 | cr0::PG;
    assert_eq!(exec(&mut cpu, &MOV_CR0_EAX).err().map(|e| e.vector), gp);
    assert_eq!(cpu.state.cr0 & cr0::PG, 0);
    // Likewise setting CR4.PAE with paging on.
    cpu.state.cr0 |= cr0::PG;
    cpu.state.cr4 = 0;
    cpu.state.regs[reg::EAX] = crate::state::cr4::PAE;
    assert_eq!(exec(&mut cpu, &MOV_CR4_EAX).err().map(|e| e.vector), gp);
    assert_eq!(cpu.state.cr4, 0);
    cpu.mem.write_phys(PhysAddr(0x10028), &[0; 8]);
    exec(&mut cpu, &MOV_CR4_EAX).unwrap();
    assert_eq!(cpu.state.pdptes[1], 0, "loaded when PAE came on");
}

#[test]
fn pae_walks_use_the_loaded_pdptes_until_cr3_is_written_again() {
    let mut cpu = pae_cpu(&[], CpuConfig::default());
    cpu.mem.write_phys(PhysAddr(0x30_0000), &[0x5a]);
    // The guest clears its PDPTE 0 in memory: linear 0x300000 (2 MiB page)
    // still translates through the loaded copy, also after a TLB flush.
    cpu.mem.write_phys(PhysAddr(PDPT), &[0; 8]);
    cpu.mem.tlb.flush_all();
    assert_eq!(cpu.read_lin(0x30_0000, 1, false), Ok(0x5a));
    cpu.state.regs[reg::EAX] = PDPT;
    exec(&mut cpu, &MOV_CR3_EAX).unwrap();
    let e = cpu.read_lin(0x30_0000, 1, false).unwrap_err();
    assert_eq!((e.vector, e.error, e.address), (crate::exception::vector::PF, Some(0), 0x30_0000));
}

#[test]
fn efer_exists_only_with_execute_disable() {
    const RDMSR: [u8; 2] = [0x0f, 0x32];
    const WRMSR: [u8; 2] = [0x0f, 0x30];
    let gp = Some(crate::exception::vector::GP);
    let mut cpu = pae_cpu(&[], CpuConfig::default());
    cpu.state.regs[reg::ECX] = crate::state::msr::EFER;
    assert_eq!(exec(&mut cpu, &RDMSR).err().map(|e| e.vector), gp, "a Pentium 4 without NX");
    cpu.state.regs[reg::EAX] = 1 << 11;
    cpu.state.regs[reg::EDX] = 0;
    assert_eq!(exec(&mut cpu, &WRMSR).err().map(|e| e.vector), gp);
    let mut cpu = pae_cpu(&[], CpuConfig { model: nx_model(), ..CpuConfig::default() });
    cpu.state.regs[reg::ECX] = crate::state::msr::EFER;
    for (eax, edx) in [(1, 0), (1 << 8, 0), (1 << 10, 0), (1 << 11, 1)] {
        cpu.state.regs[reg::EAX] = eax;
        cpu.state.regs[reg::EDX] = edx;
        assert_eq!(exec(&mut cpu, &WRMSR).err().map(|e| e.vector), gp, "{edx:x}:{eax:x} is reserved");
    }
    cpu.state.regs[reg::EAX] = 1 << 11;
    cpu.state.regs[reg::EDX] = 0;
    exec(&mut cpu, &WRMSR).unwrap();
    cpu.state.regs[reg::EAX] = 0;
    exec(&mut cpu, &RDMSR).unwrap();
    assert_eq!((cpu.state.regs[reg::EAX], cpu.state.regs[reg::EDX]), (1 << 11, 0));
    assert!(cpu.paging_mode().nxe);
}

#[test]
fn misc_enable_and_microcode_revision_as_linux_reads_them() {
    const RDMSR: [u8; 2] = [0x0f, 0x32];
    const WRMSR: [u8; 2] = [0x0f, 0x30];
    const CPUID: [u8; 2] = [0x0f, 0xa2];
    use crate::state::{misc_enable, msr};
    let gp = Some(crate::exception::vector::GP);
    let mut cpu = pae_cpu(&[], CpuConfig { model: nx_model(), ..CpuConfig::default() });
    // Linux's verify_cpu clears XD_DISABLE (bit 34) on a family 15 Intel.
    cpu.state.regs[reg::ECX] = msr::MISC_ENABLE;
    exec(&mut cpu, &RDMSR).unwrap();
    assert_eq!(cpu.state.regs[reg::EAX] as u64, misc_enable::RESET);
    assert_eq!(cpu.state.regs[reg::EDX], 0);
    // XD_DISABLE hides NX from CPUID; the read-only bits stay.
    cpu.state.regs[reg::EAX] = 0;
    cpu.state.regs[reg::EDX] = 1 << 2;
    exec(&mut cpu, &WRMSR).unwrap();
    cpu.state.regs[reg::EAX] = 0x8000_0001;
    exec(&mut cpu, &CPUID).unwrap();
    assert_eq!(cpu.state.regs[reg::EDX] & 1 << 20, 0, "NX hidden");
    cpu.state.regs[reg::ECX] = msr::MISC_ENABLE;
    exec(&mut cpu, &RDMSR).unwrap();
    assert_eq!(cpu.state.regs[reg::EAX] as u64, misc_enable::READ_ONLY);
    cpu.state.regs[reg::EDX] = 0;
    exec(&mut cpu, &WRMSR).unwrap();
    cpu.state.regs[reg::EAX] = 0x8000_0001;
    exec(&mut cpu, &CPUID).unwrap();
    assert_eq!(cpu.state.regs[reg::EDX] & 1 << 20, 1 << 20, "NX back");
    // The microcode revision: a write, then the read gives it in EDX.
    cpu.state.regs[reg::ECX] = msr::BIOS_SIGN_ID;
    exec(&mut cpu, &WRMSR).unwrap();
    exec(&mut cpu, &RDMSR).unwrap();
    assert_eq!(cpu.state.regs[reg::EDX], 1);
    // A Pentium (family 5) has neither.
    let model = crate::CpuModel::parse("pentium").unwrap().0;
    let mut cpu = pae_cpu(&[], CpuConfig { model, ..CpuConfig::default() });
    for index in [msr::MISC_ENABLE, msr::BIOS_SIGN_ID] {
        cpu.state.regs[reg::ECX] = index;
        assert_eq!(exec(&mut cpu, &RDMSR).err().map(|e| e.vector), gp, "{index:#x}");
    }
}

#[test]
fn code_cached_from_a_page_does_not_run_once_the_page_is_execute_disable() {
    // again: call 0x5000 (inc ebx; ret); cmp ebx, 50; jne again; then set XD
    // in the PTE of 0x5000, invlpg [0x5000], call 0x5000 again: #PF, to the
    // handler's HLT at 0x2000. Under the JIT the call and the return go
    // through the jump cache between translations.
    let code = [
        0xe8, 0xfb, 0x3f, 0x00, 0x00, 0x83, 0xfb, 0x32, 0x75, 0xf6, 0x81, 0x0d, 0x2c, 0x20, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x80, 0x0f, 0x01, 0x3d, 0x00, 0x50, 0x00, 0x00, 0xe8, 0xe0, 0x3f, 0x00, 0x00, 0xf4,
    ];
    for engine in ENGINES {
        let mut cpu = pae_cpu(&code, CpuConfig { engine, model: nx_model(), ..CpuConfig::default() });
        cpu.mem.write_phys(PhysAddr(0x5000), &[0x43, 0xc3]);
        cpu.state.msr.efer = crate::state::efer::NXE;
        assert_eq!(cpu.run(10_000), Exit::Halted, "{engine:?}");
        assert_eq!(cpu.state.eip, 0x2001, "{engine:?}: the #PF handler ran");
        assert_eq!(cpu.state.regs[reg::EBX], 50, "{engine:?}: the NX page's code did not run again");
        assert_eq!(cpu.state.cr2, 0x5000, "{engine:?}");
        let esp = cpu.state.regs[reg::ESP];
        assert_eq!(cpu.read_lin(esp, 4, false), Ok(0x11), "{engine:?}: error code: present, fetch");
        assert_eq!(
            cpu.read_lin(esp + 4, 4, false),
            Ok(0x5000),
            "{engine:?}: the fault is at the call's target"
        );
        assert_eq!(cpu.read_lin(0x5000, 2, false), Ok(0xc343), "{engine:?}: the page is still readable");
    }
}

#[test]
fn a_task_switch_loads_the_new_tasks_pdptes() {
    // jmp 0x20:0 to a 32-bit TSS at 0x4000 whose CR3 names another PDPT in
    // the same page; the outgoing TSS is at 0x3800.
    let jmp = [0xea, 0, 0, 0, 0, 0x20, 0x00];
    for (new_cr3, pdpte1, ok) in [(0x10040u32, 0x13001u64, true), (0x10060, 0x13003, false)] {
        let mut cpu = pae_cpu(&[], CpuConfig::default());
        cpu.mem.write_phys(PhysAddr(0x818), &0x0000_8b00_3800_0067u64.to_le_bytes());
        cpu.mem.write_phys(PhysAddr(0x820), &0x0000_8900_4000_0067u64.to_le_bytes());
        cpu.state.gdtr.limit = 0x27;
        cpu.state.tr = Segment { selector: 0x18, base: 0x3800, limit: 0x67, attr: 0x8b | attr::PRESENT };
        let tss =
            |cpu: &mut Cpu, at: u32, v: u32| cpu.mem.write_phys(PhysAddr(0x4000 + at), &v.to_le_bytes());
        tss(&mut cpu, 0x1c, new_cr3);
        tss(&mut cpu, 0x20, 0x1000); // EIP
        tss(&mut cpu, 0x24, 2); // EFLAGS
        tss(&mut cpu, 0x38, 0x7000); // ESP
        for (at, sel) in [(0x48, 0x10), (0x4c, 0x08), (0x50, 0x10), (0x54, 0x10), (0x58, 0x10), (0x5c, 0x10)]
        {
            tss(&mut cpu, at, sel);
        }
        cpu.mem.write_phys(PhysAddr(new_cr3), &u64::from(PAE_DIR | 1).to_le_bytes());
        cpu.mem.write_phys(PhysAddr(new_cr3 + 8), &pdpte1.to_le_bytes());
        let before = cpu.state.pdptes;
        let r = exec(&mut cpu, &jmp);
        assert_eq!(cpu.state.cr3, new_cr3, "CR3 {new_cr3:#x} is the new task's either way");
        if ok {
            assert!(r.is_ok(), "{r:?}");
            assert_eq!(cpu.state.pdptes, [u64::from(PAE_DIR | 1), 0x13001, 0, 0]);
        } else {
            let e = r.expect_err("a reserved bit in the new task's PDPTE");
            assert_eq!((e.vector, e.error), (crate::exception::vector::GP, Some(0)));
            assert_eq!(cpu.state.pdptes, before, "the old PDPTEs stay");
            assert_eq!(cpu.state.tr.selector, 0x20, "raised in the new task");
        }
    }
}

#[test]
fn bt_and_rotates_keep_the_other_flags_in_both_tiers() {
    // A flag-setting instruction (the flags known in the block), then a
    // BT-family instruction or a rotate, then pushf; pop dx; hlt. BX = 0x00f8,
    // CX = 3. Only CF (and OF for rotates) may differ from the setter's.
    let setters: [(&str, &[u8]); 6] = [
        ("mov al,1; add al,0x7f", &[0xb0, 0x01, 0x04, 0x7f]),
        ("xor ax,ax; sub ax,1", &[0x31, 0xc0, 0x2d, 0x01, 0x00]),
        ("mov al,0x7f; inc al", &[0xb0, 0x7f, 0xfe, 0xc0]),
        ("mov ax,0x8000; dec ax", &[0xb8, 0x00, 0x80, 0x48]),
        ("mov al,0xc1; shl al,1", &[0xb0, 0xc1, 0xd0, 0xe0]),
        ("mov ax,0x0f0f; and ax,0x00f0", &[0xb8, 0x0f, 0x0f, 0x25, 0xf0, 0x00]),
    ];
    let users: [(&str, &[u8], u32); 6] = [
        ("bt bx,3", &[0x0f, 0xba, 0xe3, 0x03], fl::CF),
        ("bts bx,2", &[0x0f, 0xba, 0xeb, 0x02], fl::CF),
        ("btc bx,cx", &[0x0f, 0xbb, 0xcb], fl::CF),
        ("btr bx,cx", &[0x0f, 0xb3, 0xcb], fl::CF),
        ("rol bx,4", &[0xc1, 0xc3, 0x04], fl::CF | fl::OF),
        ("ror bl,3", &[0xc0, 0xcb, 0x03], fl::CF | fl::OF),
    ];
    let tail = [0x9c, 0x5a, 0xf4]; // pushf; pop dx; hlt
    let run = |engine: Engine, code: &[u8]| {
        let mut code = code.to_vec();
        code.extend(tail);
        let mut cpu = cpu_on(&code, u64::MAX, CpuConfig { engine, ..CpuConfig::default() });
        cpu.state.regs[reg::EBX] = 0x00f8;
        cpu.state.regs[reg::ECX] = 3;
        assert_eq!(cpu.run(100), Exit::Halted);
        (cpu.state.regs[reg::EDX] & 0xffff, cpu.state.regs[reg::EBX] & 0xffff)
    };
    for (setter, set_code) in setters {
        let (before, _) = run(Engine::Interp, set_code);
        for (user, use_code, changes) in users {
            let code = [set_code, use_code].concat();
            let (interp, interp_bx) = run(Engine::Interp, &code);
            assert_eq!(interp & fl::ARITH & !changes, before & fl::ARITH & !changes, "{setter}; {user}");
            let (jit, jit_bx) = run(Engine::Jit, &code);
            assert_eq!(jit, interp, "{setter}; {user}: flags {jit:#x} compiled, {interp:#x} interpreted");
            assert_eq!(jit_bx, interp_bx, "{setter}; {user}: bx");
        }
    }
}

#[test]
fn user_code_does_not_reach_a_supervisor_page_through_the_supervisors_tlb_entry_in_either_tier() {
    // The kernel has just read the page at 0x60000 (supervisor only), so the
    // supervisor TLB set maps it; CPL-3 code then reads it: a #PF, which with
    // an empty IDT ends in a triple fault. Generated code probes the set of
    // its own privilege level; the supervisor's entry must not serve it.
    // mov eax, [0x60000]; l: jmp l
    let code = [0xa1, 0x00, 0x00, 0x06, 0x00, 0xeb, 0xfe];
    for engine in [Engine::Interp, Engine::Jit] {
        let mut cpu = paged_cpu();
        cpu.config.engine = engine;
        cpu.mem.write_phys(PhysAddr(0x1000), &code);
        cpu.mem.write_phys(PhysAddr(0x60000), &0x1234_5678u32.to_le_bytes());
        let (dir, table) = (0x10000u32, 0x11000u32);
        cpu.mem.write_phys(PhysAddr(dir), &(table | 7).to_le_bytes());
        for page in 0..0x80u32 {
            let user = if page == 0x60 { 0 } else { 4 };
            cpu.mem.write_phys(PhysAddr(table + 4 * page), &(page << 12 | 3 | user).to_le_bytes());
        }
        cpu.mem.tlb.flush_all();
        assert_eq!(cpu.read_lin(0x60000, 4, false), Ok(0x1234_5678), "{engine:?}: the kernel reads it");
        for s in Seg::ALL {
            let seg = &mut cpu.state.segs[s as usize];
            seg.selector |= 3;
            seg.attr |= 3 << attr::DPL_SHIFT;
        }
        cpu.state.cpl = 3;
        cpu.state.eip = 0x1000;
        cpu.state.idtr.limit = 0;
        assert_eq!(cpu.run(10_000), Exit::TripleFault, "{engine:?}: the read faults");
        assert_eq!(cpu.state.regs[reg::EAX], 0, "{engine:?}: nothing was read");
    }
}
