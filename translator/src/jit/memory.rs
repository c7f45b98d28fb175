//! Where generated code lives: translations packed one after another into
//! chunks of a mebibyte.
//!
//! Cranelift's own provider maps every function on pages of its own, which
//! costs a mapping and half a page on average for each translation: a Linux
//! boot compiled block by block (`Engine::Jit`) needs over 100 000 of them.
//!
//! A chunk is mapped readable, writable and executable at once, as QEMU maps
//! its code buffer. Switching it between writable and executable around each
//! install cost two `mprotect` calls, and each one that takes a right away
//! makes the kernel flush the TLBs of every core the process runs on (the
//! compile thread's too, by an inter-processor interrupt): a Linux boot made
//! 6 700 of them. Nothing executes in a chunk while a translation is copied
//! into it: the run loop installs code only between translations, and x86
//! keeps instruction fetches coherent with the writes before.

use std::io;

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::ModuleResult;
use memmap2::MmapMut;
use nix::sys::mman::{mprotect, ProtFlags};

/// Bytes of one chunk (a translation larger than that gets a chunk of its size).
const CHUNK: usize = 1 << 20;

struct Chunk {
    map: MmapMut,
    used: usize,
}

impl Chunk {
    /// A fresh chunk of `len` bytes (a multiple of the page size), readable,
    /// writable and executable.
    fn new(len: usize) -> io::Result<Chunk> {
        let mut map = MmapMut::map_anon(len)?;
        let start = std::ptr::NonNull::new(map.as_mut_ptr().cast())
            .ok_or_else(|| io::Error::other("null mapping"))?;
        let rwx = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE | ProtFlags::PROT_EXEC;
        // SAFETY: the range is exactly the mapping just made, which nothing
        // else refers to yet; adding execute rights invalidates no reference.
        unsafe { mprotect(start, len, rwx) }.map_err(io::Error::from)?;
        Ok(Chunk { map, used: 0 })
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// A [`JITMemoryProvider`] that packs code (see the module documentation).
/// Data objects (the JIT defines none of its own) get mappings of their own.
#[derive(Default)]
pub(crate) struct PackedCode {
    chunks: Vec<Chunk>,
    data: Vec<MmapMut>,
}

impl PackedCode {
    fn allocate_code(&mut self, size: usize, align: usize) -> io::Result<*mut u8> {
        let fits = self.chunks.last().is_some_and(|c| c.used.next_multiple_of(align) + size <= c.len());
        if !fits {
            self.chunks.push(Chunk::new(size.next_multiple_of(4096).max(CHUNK))?);
        }
        let chunk = self.chunks.last_mut().expect("a chunk was just made if there was none");
        let start = chunk.used.next_multiple_of(align);
        chunk.used = start + size;
        Ok(chunk.map[start..start + size].as_mut_ptr())
    }
}

impl JITMemoryProvider for PackedCode {
    fn allocate(&mut self, size: usize, align: u64, kind: JITMemoryKind) -> io::Result<*mut u8> {
        let align = usize::try_from(align).ok().filter(|a| a.is_power_of_two() && *a <= 4096);
        let align = align.ok_or_else(|| io::Error::other("unsupported code alignment"))?;
        match kind {
            JITMemoryKind::Executable => self.allocate_code(size, align),
            JITMemoryKind::Writable | JITMemoryKind::ReadOnly => {
                let mut m = MmapMut::map_anon(size.max(1))?;
                let p = m.as_mut_ptr();
                self.data.push(m);
                Ok(p)
            }
        }
    }

    unsafe fn free_memory(&mut self) {
        self.chunks.clear();
        self.data.clear();
    }

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        // Chunks are executable from the start (see the module documentation).
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations_share_chunks_and_run_where_they_were_written() {
        let mut m = PackedCode::default();
        // mov eax, 42; ret
        let code = [0xb8, 42, 0, 0, 0, 0xc3];
        let a = m.allocate(100, 16, JITMemoryKind::Executable).unwrap();
        // SAFETY: 100 writable bytes were just allocated at `a`.
        unsafe { a.copy_from(code.as_ptr(), code.len()) };
        m.finalize(BranchProtection::None).unwrap();
        // SAFETY: `a` holds a complete function of the C ABI, in executable memory.
        let f = unsafe { std::mem::transmute::<*mut u8, extern "C" fn() -> u32>(a) };
        assert_eq!(f(), 42);
        let b = m.allocate(50, 32, JITMemoryKind::Executable).unwrap();
        assert_eq!(b as usize % 32, 0);
        assert_eq!(b as usize - a as usize, 128, "packed after the first, aligned");
        // SAFETY: as above: writable while the first translation stays runnable.
        unsafe { b.copy_from(code.as_ptr(), code.len()) };
        unsafe { b.add(1).write(7) };
        // SAFETY: as above.
        let g = unsafe { std::mem::transmute::<*mut u8, extern "C" fn() -> u32>(b) };
        assert_eq!((f(), g()), (42, 7));
        assert_eq!(m.chunks.len(), 1);
        let big = m.allocate(CHUNK + 1, 16, JITMemoryKind::Executable).unwrap();
        assert_eq!(m.chunks.len(), 2);
        assert_eq!(m.chunks[1].len(), CHUNK + 4096);
        assert!(!big.is_null());
        // SAFETY: nothing uses the memory any more.
        unsafe { m.free_memory() };
        assert!(m.chunks.is_empty());
    }
}
