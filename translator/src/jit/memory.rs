//! Where generated code lives: translations packed one after another into
//! chunks of a mebibyte.
//!
//! Cranelift's own provider maps every function on pages of its own, which
//! costs a mapping and half a page on average for each translation: a Linux
//! boot compiled block by block (`Engine::Jit`) needs over 100 000 of them.
//! Here a chunk is writable only while a translation is copied into it and
//! executable otherwise (never both); the run loop compiles only between
//! translations, so no code runs in a chunk while it is writable.

use std::io;

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::ModuleResult;
use memmap2::{Mmap, MmapMut};

/// Bytes of one chunk (a translation larger than that gets a chunk of its size).
const CHUNK: usize = 1 << 20;

enum Map {
    Writable(MmapMut),
    Executable(Mmap),
    /// Only while changing from one to the other.
    Changing,
}

struct Chunk {
    map: Map,
    len: usize,
    used: usize,
}

impl Chunk {
    /// Makes the chunk executable or writable (a no-op if it is). On an
    /// error it has lost its mapping (memmap2 drops it) and every later use
    /// fails: `Jit` throws the whole module away before any code runs again.
    fn protect(&mut self, executable: bool) -> io::Result<()> {
        self.map = match (std::mem::replace(&mut self.map, Map::Changing), executable) {
            (Map::Executable(m), false) => Map::Writable(m.make_mut()?),
            (Map::Writable(m), true) => Map::Executable(m.make_exec()?),
            (Map::Changing, _) => return Err(io::Error::other("a code chunk lost its mapping")),
            (unchanged, _) => unchanged,
        };
        Ok(())
    }
}

/// A [`JITMemoryProvider`] that packs code (see the module documentation).
/// Data objects (the JIT defines none of its own) get mappings of their own.
#[derive(Default)]
pub(crate) struct PackedCode {
    chunks: Vec<Chunk>,
    /// Indices of the chunks written since the last `finalize`.
    open: Vec<usize>,
    data: Vec<MmapMut>,
}

impl PackedCode {
    fn allocate_code(&mut self, size: usize, align: usize) -> io::Result<*mut u8> {
        let fits = self.chunks.last().is_some_and(|c| c.used.next_multiple_of(align) + size <= c.len);
        if !fits {
            let len = size.next_multiple_of(4096).max(CHUNK);
            self.chunks.push(Chunk { map: Map::Writable(MmapMut::map_anon(len)?), len, used: 0 });
        }
        let i = self.chunks.len() - 1;
        let chunk = &mut self.chunks[i];
        chunk.protect(false)?;
        if !self.open.contains(&i) {
            self.open.push(i);
        }
        let start = chunk.used.next_multiple_of(align);
        chunk.used = start + size;
        let Map::Writable(m) = &mut chunk.map else { unreachable!("made writable just above") };
        Ok(m[start..start + size].as_mut_ptr())
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
        self.open.clear();
        self.data.clear();
    }

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        // (x86 keeps instruction fetches coherent with the writes before.)
        for i in std::mem::take(&mut self.open) {
            self.chunks[i].protect(true).map_err(|e| cranelift_module::ModuleError::Backend(e.into()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations_share_chunks_and_each_is_executable_after_finalize() {
        let mut m = PackedCode::default();
        let a = m.allocate(100, 16, JITMemoryKind::Executable).unwrap();
        // SAFETY: 100 writable bytes were just allocated at `a`.
        unsafe { a.write_bytes(0xc3, 100) };
        m.finalize(BranchProtection::None).unwrap();
        let b = m.allocate(50, 32, JITMemoryKind::Executable).unwrap();
        assert_eq!(b as usize % 32, 0);
        assert_eq!(b as usize - a as usize, 128, "packed after the first, aligned");
        // SAFETY: as above; the chunk is writable again until `finalize`.
        unsafe { b.write_bytes(0xc3, 50) };
        m.finalize(BranchProtection::None).unwrap();
        assert!(matches!(m.chunks[0].map, Map::Executable(_)));
        assert_eq!(m.chunks.len(), 1);
        // SAFETY: the bytes written before are still there, now readable.
        assert_eq!(unsafe { a.read() }, 0xc3);
        let big = m.allocate(CHUNK + 1, 16, JITMemoryKind::Executable).unwrap();
        assert_eq!(m.chunks.len(), 2);
        assert_eq!(m.chunks[1].len, CHUNK + 4096);
        assert!(!big.is_null());
        assert!(matches!(m.chunks[1].map, Map::Writable(_)));
        m.finalize(BranchProtection::None).unwrap();
        assert!(matches!(m.chunks[1].map, Map::Executable(_)));
        // SAFETY: nothing uses the memory any more.
        unsafe { m.free_memory() };
        assert!(m.chunks.is_empty());
    }
}
