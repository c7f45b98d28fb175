use super::*;

/// Linear = physical, except pages listed as absent; memory is a flat vector.
struct Flat {
    mem: Vec<u8>,
    absent: Vec<u32>,
}

impl CodeSource for Flat {
    type Fault = u32;
    fn translate_code(&mut self, linear: u32) -> Result<PhysAddr, u32> {
        if self.absent.contains(&(linear & !0xfff)) {
            Err(linear)
        } else {
            Ok(PhysAddr(linear))
        }
    }
    fn read_code(&mut self, phys: PhysAddr, buf: &mut [u8]) {
        let a = phys.0 as usize;
        buf.copy_from_slice(&self.mem[a..a + buf.len()]);
    }
}

fn flat(at: usize, code: &[u8]) -> Flat {
    let mut mem = vec![0x90u8; 0x4000]; // NOPs
    mem[at..at + code.len()].copy_from_slice(code);
    Flat { mem, absent: Vec::new() }
}

fn req(eip: u32, bitness: u32) -> DecodeRequest {
    DecodeRequest { cs_base: 0, eip, cs_limit: 0xffff_ffff, bitness, max_insns: 64 }
}

#[test]
fn ends_at_a_jump() {
    // mov eax, 1; add eax, ebx; jmp short $
    let mut src = flat(0x1000, &[0xb8, 1, 0, 0, 0, 0x01, 0xd8, 0xeb, 0xfe]);
    let b = decode_block(&mut src, &req(0x1000, 32)).unwrap();
    assert_eq!(b.insns.len(), 3);
    assert_eq!(b.len, 9);
    assert_eq!(b.end, BlockEnd::Terminator);
    assert_eq!(b.insns[2].mnemonic(), Mnemonic::Jmp);
    assert_eq!(b.pages().collect::<Vec<_>>(), vec![PhysAddr(0x1000)]);
}

#[test]
fn ends_after_a_mode_change_and_at_string_port_io() {
    // mov cr0, eax; nop
    let mut src = flat(0x1000, &[0x0f, 0x22, 0xc0, 0x90]);
    let b = decode_block(&mut src, &req(0x1000, 32)).unwrap();
    assert_eq!((b.insns.len(), b.end), (1, BlockEnd::Terminator));
    // outsb; nop
    let mut src = flat(0x1000, &[0x6e, 0x90]);
    assert_eq!(decode_block(&mut src, &req(0x1000, 32)).unwrap().insns.len(), 1);
    // out dx, al; in al, 0x80; jmp $: IN and OUT end their block when they
    // run (unless the port is quiet), not when they are decoded.
    let mut src = flat(0x1000, &[0xee, 0xe4, 0x80, 0xeb, 0xfe]);
    assert_eq!(decode_block(&mut src, &req(0x1000, 32)).unwrap().insns.len(), 3);
}

#[test]
fn stops_at_the_page_boundary_and_at_the_cap() {
    let mut src = flat(0x1ffe, &[0x90, 0x90]);
    let b = decode_block(&mut src, &req(0x1ffe, 32)).unwrap();
    assert_eq!((b.insns.len(), b.end), (2, BlockEnd::PageBoundary));
    let mut r = req(0x1000, 32);
    r.max_insns = 5;
    let b = decode_block(&mut src, &r).unwrap();
    assert_eq!((b.insns.len(), b.end), (5, BlockEnd::LengthCap));
}

#[test]
fn an_instruction_straddling_two_pages() {
    // nop; mov eax, 0x44332211 with its last three bytes on the next page
    let mut src = flat(0x1ffd, &[0x90, 0xb8, 0x11, 0x22, 0x33, 0x44]);
    let b = decode_block(&mut src, &req(0x1ffd, 32)).unwrap();
    assert_eq!(b.insns.len(), 2);
    assert_eq!(b.insns[1].immediate32(), 0x4433_2211);
    assert_eq!(b.second_page, Some((0x2000, PhysAddr(0x2000))));
    assert_eq!(b.end, BlockEnd::PageBoundary);
    assert_eq!(b.pages().count(), 2);

    // Second page absent: the nop runs, the mov is left for later...
    src.absent.push(0x2000);
    let b = decode_block(&mut src, &req(0x1ffd, 32)).unwrap();
    assert_eq!((b.insns.len(), b.end, b.second_page), (1, BlockEnd::FetchStop, None));
    // ...and decoding at the mov itself reports the fault on the second page.
    assert_eq!(decode_block(&mut src, &req(0x1ffe, 32)).unwrap_err(), FetchError::Fault(0x2000));
}

#[test]
fn an_absent_first_page_faults() {
    let mut src = flat(0x1000, &[]);
    src.absent.push(0x3000);
    assert_eq!(decode_block(&mut src, &req(0x3004, 32)).unwrap_err(), FetchError::Fault(0x3004));
}

#[test]
fn cs_limit() {
    let mut src = flat(0x1000, &[0x90, 0xb8, 1, 0, 0, 0]);
    let mut r = req(0x1000, 32);
    r.cs_limit = 0x1003; // the mov ends at 0x1005
    let b = decode_block(&mut src, &r).unwrap();
    assert_eq!((b.insns.len(), b.end), (1, BlockEnd::FetchStop));
    r.eip = 0x1001;
    assert_eq!(decode_block(&mut src, &r).unwrap_err(), FetchError::CsLimit);
    r.eip = 0x1004;
    assert_eq!(decode_block(&mut src, &r).unwrap_err(), FetchError::CsLimit);
}

#[test]
fn sixteen_bit_code_and_invalid_opcodes() {
    // mov ax, 0x1234 (16-bit), then an invalid opcode ends the block
    let mut src = flat(0x1000, &[0xb8, 0x34, 0x12, 0xfe, 0x38, 0x90]);
    let b = decode_block(&mut src, &req(0x1000, 16)).unwrap();
    assert_eq!(b.insns[0].immediate16(), 0x1234);
    assert_eq!(b.insns.len(), 2);
    assert_eq!(b.insns[1].code(), Code::INVALID);
    assert_eq!(b.end, BlockEnd::Terminator);
}

#[test]
fn sixteen_bit_code_stops_at_64k() {
    let mut mem = vec![0x90u8; 0x20000];
    mem[0xffff] = 0x90;
    let mut src = Flat { mem, absent: Vec::new() };
    // IP 0xfffe with CS.base 0x100 is in the middle of a page: IP cannot wrap.
    let mut r = req(0xfffe, 16);
    r.cs_base = 0x100;
    let b = decode_block(&mut src, &r).unwrap();
    assert_eq!((b.insns.len(), b.end), (2, BlockEnd::FetchStop));
}
