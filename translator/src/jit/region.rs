//! Regions: which blocks one translation covers.
//!
//! A translation starts at a block found by the run loop and takes in the
//! blocks it reaches by direct jumps, branches, calls and fall-through and that
//! lead back to it the same way (the loops through its first block), as long
//! as they start on the same linear page as the first and lie wholly on it.
//! Code the loops only leave for is translated on its own and reached through
//! links: keeping it out keeps the loops' register pressure low, and the
//! compile thread's work down. (The dead ends the loops branch to, a block
//! ending in RET say, were taken in as well, to save a jump out and back: in
//! a Linux boot that cost the compile thread a fifth of its time, and the
//! guest more than it saved, in compiles that came later.)
//! The same linear page means the same physical page, so invalidating that page
//! (self-modifying code) drops the whole region with its first block, and the
//! page's translation cannot change under a running region without an exit.
//! Branches between the region's blocks become jumps inside one host function,
//! so a loop keeps its guest registers in host registers.

use std::collections::{HashSet, VecDeque};

use iced_x86::{Mnemonic, OpKind};
use vemu_decoder::{ends_block, Block};

/// Most blocks in one region.
pub(crate) const MAX_BLOCKS: usize = 16;
/// Most instructions in one region (a compile-time bound).
pub(crate) const MAX_INSNS: usize = 512;

/// Where `b` can go on to without an indirect transfer: the targets of its
/// final direct jump, branch or call, and the next instruction if it falls
/// through. (The emitter turns exactly these into jumps when they are in the
/// region.)
pub(crate) fn successors(b: &Block) -> Vec<u32> {
    let Some(last) = b.insns.last() else { return Vec::new() };
    let mask = if b.bitness == 16 { 0xffff } else { u32::MAX };
    let next = (last.next_ip() as u32) & mask;
    if !ends_block(last) {
        // Stopped by the instruction cap or the page end.
        return vec![next];
    }
    let target = match last.op0_kind() {
        OpKind::NearBranch16 => last.near_branch16() as u32,
        OpKind::NearBranch32 => last.near_branch32(),
        _ => return Vec::new(),
    };
    match last.mnemonic() {
        Mnemonic::Jmp | Mnemonic::Call => vec![target],
        Mnemonic::Loop | Mnemonic::Loope | Mnemonic::Loopne => vec![target, next],
        _ if last.is_jcc_short_or_near() => vec![target, next],
        _ => Vec::new(),
    }
}

/// The blocks of the region that starts with `root` (not `root` itself), in
/// breadth-first order. `decode(eip)` decodes the block at `eip` in the root's
/// mode, or gives None if it cannot (a fault, the CS limit).
pub(crate) fn grow(root: &Block, cs_base: u32, decode: impl FnMut(u32) -> Option<Block>) -> Vec<Block> {
    let reached = reachable(root, cs_base, decode);
    // Keep the blocks from which the root can be reached again.
    let mut back: HashSet<u32> = HashSet::from([root.eip]);
    loop {
        let before = back.len();
        for b in &reached {
            if !back.contains(&b.eip) && successors(b).iter().any(|t| back.contains(t)) {
                back.insert(b.eip);
            }
        }
        if back.len() == before {
            break;
        }
    }
    reached.into_iter().filter(|b| back.contains(&b.eip)).collect()
}

/// The blocks on the root's page reachable from it (bounded), breadth first.
fn reachable(root: &Block, cs_base: u32, mut decode: impl FnMut(u32) -> Option<Block>) -> Vec<Block> {
    let page = cs_base.wrapping_add(root.eip) & !0xfff;
    let mut seen: HashSet<u32> = HashSet::from([root.eip]);
    let mut queue: VecDeque<u32> = successors(root).into();
    let mut members = Vec::new();
    let mut insns = root.insns.len();
    while let Some(eip) = queue.pop_front() {
        if members.len() + 1 >= MAX_BLOCKS || insns >= MAX_INSNS {
            break;
        }
        if !seen.insert(eip) || cs_base.wrapping_add(eip) & !0xfff != page {
            continue;
        }
        let Some(b) = decode(eip) else { continue };
        if b.second_page.is_some() || insns + b.insns.len() > MAX_INSNS {
            continue;
        }
        insns += b.insns.len();
        queue.extend(successors(&b));
        members.push(b);
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;
    use vemu_decoder::{decode_block, CodeSource, DecodeRequest};
    use vemu_softmmu::PhysAddr;

    /// Code at linear = physical 0x1000.., identity-mapped, 32-bit.
    struct Flat(Vec<u8>);
    impl CodeSource for Flat {
        type Fault = ();
        fn translate_code(&mut self, linear: u32) -> Result<PhysAddr, ()> {
            Ok(PhysAddr(linear))
        }
        fn read_code(&mut self, phys: PhysAddr, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = *self.0.get((phys.0 as usize + i).wrapping_sub(0x1000)).unwrap_or(&0x90);
            }
        }
    }

    fn decode(code: &[u8], eip: u32) -> Option<Block> {
        let req = DecodeRequest { cs_base: 0, eip, cs_limit: u32::MAX, bitness: 32, max_insns: 128 };
        decode_block(&mut Flat(code.to_vec()), &req).ok()
    }

    #[test]
    fn a_loop_takes_in_its_blocks_but_not_its_dead_ends() {
        // 1000: dec ecx / jz 1006 / inc eax / jmp 1000 / 1006: inc ebx / ret
        let code = [0x49, 0x74, 0x03, 0x40, 0xeb, 0xfa, 0x43, 0xc3];
        let root = decode(&code, 0x1000).unwrap();
        assert_eq!(successors(&root), vec![0x1006, 0x1003]);
        let members = grow(&root, 0, |eip| decode(&code, eip));
        let starts: Vec<u32> = members.iter().map(|b| b.eip).collect();
        assert_eq!(starts, vec![0x1003], "the loop's second block joins, its dead end does not");
        let exit = decode(&code, 0x1006).unwrap();
        assert!(successors(&exit).is_empty(), "RET is indirect");
    }

    #[test]
    fn code_after_a_loop_stays_out() {
        // 1000: dec ecx / jz 1005 / jmp 1000 / 1005: inc ebx / jmp 1008 / 1008: ret
        let code = [0x49, 0x74, 0x02, 0xeb, 0xfb, 0x43, 0xeb, 0x00, 0xc3];
        let root = decode(&code, 0x1000).unwrap();
        assert_eq!(successors(&root), vec![0x1005, 0x1003]);
        let members = grow(&root, 0, |eip| decode(&code, eip));
        let starts: Vec<u32> = members.iter().map(|b| b.eip).collect();
        assert_eq!(starts, vec![0x1003], "the block after the loop goes on elsewhere: not a dead end");
    }

    #[test]
    fn blocks_on_another_page_stay_out() {
        // 1000: jmp 0x2000 (e9 rel32)
        let code = [0xe9, 0xfb, 0x0f, 0x00, 0x00];
        let root = decode(&code, 0x1000).unwrap();
        assert_eq!(successors(&root), vec![0x2000]);
        assert!(grow(&root, 0, |eip| decode(&code, eip)).is_empty());
    }

    #[test]
    fn the_region_is_bounded() {
        // A chain of 40 blocks, each `inc eax / jmp next` (3 bytes), and a jump
        // back to the first.
        let mut code = Vec::new();
        for _ in 0..40 {
            code.extend_from_slice(&[0x40, 0xeb, 0x00]);
        }
        code.extend_from_slice(&[0xe9, 0x83, 0xff, 0xff, 0xff]); // jmp 0x1000
        let root = decode(&code, 0x1000).unwrap();
        assert_eq!(reachable(&root, 0, |eip| decode(&code, eip)).len(), MAX_BLOCKS - 1);
        // Cut short after four blocks, the loop closes: all of it joins.
        code.truncate(3 * 4);
        code.extend_from_slice(&[0xe9, 0xef, 0xff, 0xff, 0xff]); // jmp 0x1000
        let members = grow(&root, 0, |eip| decode(&code, eip));
        assert_eq!(members.len(), 4, "a loop of five blocks");
    }
}
