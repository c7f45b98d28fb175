//! The block cache: translations of guest basic blocks, bounded, invalidated by page.
//!
//! A block is found by [`BlockKey`]: the physical address of its first byte, the
//! EIP it was decoded at (relative branch targets depend on it) and the mode bits
//! its translation depends on (chosen by the translator). The cache holds at most
//! `capacity` blocks and evicts the least recently used one. It indexes blocks by
//! every physical page they were decoded from, so that a guest write to a page that
//! holds code removes every block on it ([`BlockCache::invalidate_page`]) before
//! the next instruction runs (invariant 5).
//!
//! What a block holds (decoded instructions, compiled code, counters) is the
//! translator's business: the cache stores any `T` behind an `Rc`, so a block that
//! is running keeps its translation alive even if the cache drops it meanwhile.
//! [`Links`] are the chaining links between translations and [`LinkTable`] their
//! bookkeeping; the translator cuts the links into every block the cache gives
//! back as removed.

#![forbid(unsafe_code)]

mod links;

pub use links::{LinkTable, Links};

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::rc::Rc;

use lru::LruCache;
use vemu_softmmu::PhysAddr;

/// Identifies a translation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockKey {
    /// Physical address of the first byte.
    pub phys: PhysAddr,
    /// EIP of the first instruction.
    pub eip: u32,
    /// Translator-defined mode bits (operand size, stack size, CPL, paging, ...).
    pub mode: u32,
}

struct Entry<T> {
    value: Rc<T>,
    /// Page-aligned physical pages the block was decoded from (one or two).
    pages: [Option<PhysAddr>; 2],
}

/// Bounded, page-indexed cache of translated blocks.
pub struct BlockCache<T> {
    blocks: LruCache<BlockKey, Entry<T>>,
    by_page: HashMap<PhysAddr, Vec<BlockKey>>,
    stats: CacheStats,
}

/// Counters for `--trace`-style reports and tests.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub invalidations: u64,
}

impl<T> BlockCache<T> {
    /// A cache holding at most `capacity` blocks (at least one).
    pub fn new(capacity: usize) -> Self {
        let cap = NonZeroUsize::new(capacity.max(1)).expect("capacity is at least 1");
        BlockCache { blocks: LruCache::new(cap), by_page: HashMap::new(), stats: CacheStats::default() }
    }

    /// Most blocks held at once.
    pub fn capacity(&self) -> usize {
        self.blocks.cap().get()
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The block for `key`, marked most recently used.
    pub fn get(&mut self, key: &BlockKey) -> Option<Rc<T>> {
        match self.blocks.get(key) {
            Some(e) => {
                self.stats.hits += 1;
                Some(e.value.clone())
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// The block for `key`, without counting it as used.
    pub fn peek(&self, key: &BlockKey) -> Option<Rc<T>> {
        self.blocks.peek(key).map(|e| e.value.clone())
    }

    /// Adds a block decoded from `pages` (page-aligned); replaces any block with
    /// the same key. Returns the block evicted to make room, if any.
    pub fn insert(&mut self, key: BlockKey, pages: &[PhysAddr], value: Rc<T>) -> Option<Rc<T>> {
        self.remove(&key);
        let mut entry_pages = [None; 2];
        for (slot, page) in entry_pages.iter_mut().zip(pages) {
            *slot = Some(*page);
            self.by_page.entry(*page).or_default().push(key);
        }
        let evicted = self.blocks.push(key, Entry { value, pages: entry_pages });
        let (old_key, old) = evicted?;
        self.stats.evictions += 1;
        self.unindex(&old_key, &old.pages);
        Some(old.value)
    }

    /// Removes the block for `key`, if present.
    pub fn remove(&mut self, key: &BlockKey) -> Option<Rc<T>> {
        let entry = self.blocks.pop(key)?;
        self.unindex(key, &entry.pages);
        Some(entry.value)
    }

    /// Removes every block decoded (in part) from physical page `page`; returns them.
    pub fn invalidate_page(&mut self, page: PhysAddr) -> Vec<Rc<T>> {
        self.invalidate_where(page, |_| true)
    }

    /// Removes the blocks decoded (in part) from physical page `page` for
    /// which `stale` holds (those whose bytes were written); returns them.
    pub fn invalidate_where(&mut self, page: PhysAddr, mut stale: impl FnMut(&T) -> bool) -> Vec<Rc<T>> {
        let page = PhysAddr(page.0 & !0xfff);
        let keys = self.by_page.get(&page).cloned().unwrap_or_default();
        let mut removed = Vec::new();
        for key in keys {
            if !self.blocks.peek(&key).is_some_and(|e| stale(&e.value)) {
                continue;
            }
            if let Some(entry) = self.blocks.pop(&key) {
                self.stats.invalidations += 1;
                self.unindex(&key, &entry.pages);
                removed.push(entry.value);
            }
        }
        removed
    }

    /// The blocks decoded (in part) from physical page `page`.
    pub fn on_page(&self, page: PhysAddr) -> Vec<Rc<T>> {
        let page = PhysAddr(page.0 & !0xfff);
        let keys = self.by_page.get(&page).map_or(&[][..], |k| &k[..]);
        keys.iter().filter_map(|k| self.blocks.peek(k).map(|e| e.value.clone())).collect()
    }

    /// Whether any block was decoded from `page`.
    pub fn has_page(&self, page: PhysAddr) -> bool {
        self.by_page.contains_key(&PhysAddr(page.0 & !0xfff))
    }

    /// Drops everything (a reset, a change of translation options).
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.by_page.clear();
    }

    fn unindex(&mut self, key: &BlockKey, pages: &[Option<PhysAddr>; 2]) {
        for page in pages.iter().flatten() {
            if let Some(keys) = self.by_page.get_mut(page) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_page.remove(page);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(phys: u32) -> BlockKey {
        BlockKey { phys: PhysAddr(phys), eip: phys, mode: 0 }
    }

    #[test]
    fn insert_get_and_mode_separates() {
        let mut c = BlockCache::new(8);
        c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new("a"));
        assert_eq!(c.get(&key(0x1000)).as_deref(), Some(&"a"));
        let other_mode = BlockKey { mode: 1, ..key(0x1000) };
        assert!(c.get(&other_mode).is_none());
        assert_eq!(c.stats().hits, 1);
        assert_eq!(c.stats().misses, 1);
    }

    #[test]
    fn invalidation_drops_every_block_on_the_page_including_straddlers() {
        let mut c = BlockCache::new(8);
        c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new(1));
        c.insert(key(0x1ff0), &[PhysAddr(0x1000), PhysAddr(0x2000)], Rc::new(2));
        c.insert(key(0x2010), &[PhysAddr(0x2000)], Rc::new(3));
        c.insert(key(0x3000), &[PhysAddr(0x3000)], Rc::new(4));
        let mut gone: Vec<i32> = c.invalidate_page(PhysAddr(0x2abc)).iter().map(|v| **v).collect();
        gone.sort();
        assert_eq!(gone, vec![2, 3]);
        assert!(c.get(&key(0x1000)).is_some());
        assert!(c.get(&key(0x1ff0)).is_none());
        assert!(c.has_page(PhysAddr(0x1000)));
        assert!(!c.has_page(PhysAddr(0x2000)));
        // The straddler is no longer listed under its first page either.
        assert_eq!(c.invalidate_page(PhysAddr(0x1000)).len(), 1);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn selective_invalidation_keeps_the_others() {
        let mut c = BlockCache::new(8);
        c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new(1));
        c.insert(key(0x1100), &[PhysAddr(0x1000)], Rc::new(2));
        let gone = c.invalidate_where(PhysAddr(0x1234), |v| *v == 2);
        assert_eq!(gone.len(), 1);
        assert_eq!(c.on_page(PhysAddr(0x1000)).iter().map(|v| **v).collect::<Vec<_>>(), vec![1]);
        assert_eq!(c.stats().invalidations, 1);
    }

    #[test]
    fn least_recently_used_is_evicted_and_unindexed() {
        let mut c = BlockCache::new(2);
        c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new(1));
        c.insert(key(0x2000), &[PhysAddr(0x2000)], Rc::new(2));
        c.get(&key(0x1000));
        let evicted = c.insert(key(0x3000), &[PhysAddr(0x3000)], Rc::new(3));
        assert_eq!(evicted.as_deref(), Some(&2));
        assert!(!c.has_page(PhysAddr(0x2000)));
        assert_eq!(c.stats().evictions, 1);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn replacing_a_key_does_not_count_as_eviction() {
        let mut c = BlockCache::new(2);
        c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new(1));
        assert!(c.insert(key(0x1000), &[PhysAddr(0x1000)], Rc::new(5)).is_none());
        assert_eq!(c.get(&key(0x1000)).as_deref(), Some(&5));
        assert_eq!(c.invalidate_page(PhysAddr(0x1000)).len(), 1);
    }
}
