//! Links for block chaining: a translated block that ends in a direct jump or
//! branch can jump straight into the translation of its target. Each exit of a
//! block has a slot holding the target's code address (0 while unlinked) that
//! the generated code reads ([`Links`]).
//!
//! The [`LinkTable`] keeps the bookkeeping of every slot of every live
//! translation: who owns it, what it is linked to, the links into each
//! translation (cut before the translation goes away, so that nothing jumps
//! into stale code), and the links by how far into the code segment their
//! target runs (cut when the CS limit shrinks below it, since chained code
//! does not check the limit again). It holds exactly the links that exist:
//! relinking a slot replaces its entry, and removing a translation removes
//! its slots and the links into it, so it never grows beyond the slots of
//! the translations alive.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};

/// The link slots of one translation.
#[derive(Debug, Default)]
pub struct Links {
    slots: Box<[Cell<usize>]>,
}

impl Links {
    /// Links for a translation with `exits` linkable exits.
    pub fn new(exits: usize) -> Rc<Links> {
        Rc::new(Links { slots: (0..exits).map(|_| Cell::new(0)).collect() })
    }

    pub fn exits(&self) -> usize {
        self.slots.len()
    }

    /// Host address of slot `exit`, which generated code loads its target from.
    pub fn slot_address(&self, exit: usize) -> usize {
        self.slots[exit].as_ptr() as usize
    }

    /// The code address slot `exit` holds (0: unlinked).
    pub fn target(&self, exit: usize) -> usize {
        self.slots[exit].get()
    }

    /// The identity of these links in a [`LinkTable`].
    fn id(&self) -> usize {
        self as *const Links as usize
    }
}

/// One slot the table knows.
#[derive(Debug)]
struct Slot {
    owner: Weak<Links>,
    exit: usize,
    /// What the owner's translator wants back with the slot (the EIP of the
    /// translation's first block, say).
    tag: u32,
    link: Option<Link>,
}

/// Where a linked slot leads.
#[derive(Copy, Clone, Debug)]
struct Link {
    /// The target's [`Links::id`].
    target: usize,
    /// The highest code-segment offset the target's translation runs.
    extent: u32,
}

/// The bookkeeping of every link slot of every live translation.
#[derive(Debug, Default)]
pub struct LinkTable {
    slots: HashMap<usize, Slot>,
    /// Linked slots by the target's id.
    incoming: HashMap<usize, Vec<usize>>,
    /// Linked slots by the target's extent.
    by_extent: BTreeMap<u32, Vec<usize>>,
}

fn remove_from<K: Ord + std::hash::Hash + Copy>(map: &mut impl MultiMap<K>, key: K, slot: usize) {
    map.remove_value(key, slot);
}

/// The two multimaps above, with one way to take a value out.
trait MultiMap<K> {
    fn remove_value(&mut self, key: K, value: usize);
}

impl MultiMap<usize> for HashMap<usize, Vec<usize>> {
    fn remove_value(&mut self, key: usize, value: usize) {
        if let Some(v) = self.get_mut(&key) {
            v.retain(|s| *s != value);
            if v.is_empty() {
                self.remove(&key);
            }
        }
    }
}

impl MultiMap<u32> for BTreeMap<u32, Vec<usize>> {
    fn remove_value(&mut self, key: u32, value: usize) {
        if let Some(v) = self.get_mut(&key) {
            v.retain(|s| *s != value);
            if v.is_empty() {
                self.remove(&key);
            }
        }
    }
}

impl LinkTable {
    pub fn new() -> LinkTable {
        LinkTable::default()
    }

    /// Registers the slots of a new translation, with a `tag` for its owner.
    pub fn add(&mut self, owner: &Rc<Links>, tag: u32) {
        for exit in 0..owner.exits() {
            let slot = owner.slot_address(exit);
            self.unlink_slot(slot);
            self.slots.insert(slot, Slot { owner: Rc::downgrade(owner), exit, tag, link: None });
        }
    }

    /// The translation owning the slot at `slot`, the exit it is, and its tag.
    pub fn owner(&self, slot: usize) -> Option<(Rc<Links>, usize, u32)> {
        let s = self.slots.get(&slot)?;
        Some((s.owner.upgrade()?, s.exit, s.tag))
    }

    /// Makes the slot at `slot` jump to `code`, the translation owning
    /// `target`, which runs up to CS offset `extent`. Unknown slots are left alone.
    pub fn link(&mut self, slot: usize, target: &Links, code: usize, extent: u32) {
        let Some(owner) = self.slots.get(&slot).and_then(|s| s.owner.upgrade()) else { return };
        let exit = self.slots[&slot].exit;
        if owner.target(exit) == code {
            return;
        }
        self.unlink_slot(slot);
        owner.slots[exit].set(code);
        let link = Link { target: target.id(), extent };
        if let Some(s) = self.slots.get_mut(&slot) {
            s.link = Some(link);
        }
        self.incoming.entry(link.target).or_default().push(slot);
        self.by_extent.entry(extent).or_default().push(slot);
    }

    /// Cuts the link in the slot at `slot`, if any.
    fn unlink_slot(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(&slot) else { return };
        let Some(link) = s.link.take() else { return };
        if let Some(owner) = s.owner.upgrade() {
            owner.slots[s.exit].set(0);
        }
        remove_from(&mut self.incoming, link.target, slot);
        remove_from(&mut self.by_extent, link.extent, slot);
    }

    /// Cuts the translation's own links (it is being compiled again).
    pub fn unlink_outgoing(&mut self, links: &Links) {
        for exit in 0..links.exits() {
            self.unlink_slot(links.slot_address(exit));
        }
    }

    /// The translation is going away: its slots are forgotten and every link
    /// into it is cut.
    pub fn remove(&mut self, links: &Links) {
        self.unlink_outgoing(links);
        for exit in 0..links.exits() {
            self.slots.remove(&links.slot_address(exit));
        }
        self.unlink_incoming(links);
    }

    /// Cuts every link into the translation (its code is being replaced:
    /// the slots that led to the old code lead back to the run loop).
    pub fn unlink_incoming(&mut self, links: &Links) {
        for slot in self.incoming.remove(&links.id()).unwrap_or_default() {
            self.unlink_slot(slot);
        }
    }

    /// Cuts every link whose target runs beyond CS offset `limit`; returns
    /// how many. Costs only the links cut.
    pub fn cut_beyond(&mut self, limit: u32) -> usize {
        let Some(first) = limit.checked_add(1) else { return 0 };
        let cut: Vec<usize> = self.by_extent.range(first..).flat_map(|(_, v)| v.iter().copied()).collect();
        for slot in &cut {
            self.unlink_slot(*slot);
        }
        cut.len()
    }

    /// Forgets everything (every translation is dropped).
    pub fn clear(&mut self) {
        for slot in self.slots.keys().copied().collect::<Vec<_>>() {
            self.unlink_slot(slot);
        }
        self.slots.clear();
    }

    /// Slots known, and links among them.
    pub fn len(&self) -> (usize, usize) {
        (self.slots.len(), self.slots.values().filter(|s| s.link.is_some()).count())
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_relink_and_unlink() {
        let mut t = LinkTable::new();
        let a = Links::new(2);
        let b = Links::new(1);
        let c = Links::new(1);
        t.add(&a, 0xa);
        t.add(&b, 0xb);
        t.add(&c, 0xc);
        let slot = a.slot_address(1);
        assert_eq!(t.owner(slot).map(|(_, e, tag)| (e, tag)), Some((1, 0xa)));
        t.link(slot, &b, 0x1234, 0x100);
        assert_eq!(a.target(1), 0x1234);
        t.link(slot, &b, 0x1234, 0x100); // idempotent
                                         // Relinking elsewhere replaces the link: b no longer counts it.
        t.link(slot, &c, 0x5678, 0x200);
        assert_eq!(t.incoming.get(&b.id()), None);
        assert_eq!(t.len(), (4, 1));
        t.remove(&b);
        assert_eq!(a.target(1), 0x5678, "removing b leaves a's link to c");
        t.remove(&c);
        assert_eq!(a.target(1), 0, "removing c cuts the link into it");
        assert_eq!(t.len(), (2, 0));
    }

    #[test]
    fn relinking_over_and_over_stays_bounded() {
        let mut t = LinkTable::new();
        let a = Links::new(1);
        let targets: Vec<_> = (0..100).map(|_| Links::new(1)).collect();
        t.add(&a, 0);
        for (i, b) in targets.iter().enumerate() {
            t.add(b, i as u32);
            t.link(a.slot_address(0), b, 0x1000 + i, i as u32);
        }
        assert_eq!(t.incoming.len(), 1);
        assert_eq!(t.by_extent.len(), 1);
        assert_eq!(t.len(), (101, 1));
    }

    #[test]
    fn a_smaller_cs_limit_cuts_only_the_links_beyond_it() {
        let mut t = LinkTable::new();
        let a = Links::new(2);
        let near = Links::new(1);
        let far = Links::new(1);
        for l in [&a, &near, &far] {
            t.add(l, 0);
        }
        t.link(a.slot_address(0), &near, 0x10, 0xfff0);
        t.link(a.slot_address(1), &far, 0x20, 0x12_0000);
        assert_eq!(t.cut_beyond(0xffff_ffff), 0);
        assert_eq!(t.cut_beyond(0xffff), 1);
        assert_eq!((a.target(0), a.target(1)), (0x10, 0));
    }

    #[test]
    fn replaced_code_loses_its_incoming_links_and_keeps_its_own() {
        let mut t = LinkTable::new();
        let (a, b, c) = (Links::new(1), Links::new(1), Links::new(1));
        for l in [&a, &b, &c] {
            t.add(l, 0);
        }
        t.link(a.slot_address(0), &b, 0x10, 1);
        t.link(b.slot_address(0), &c, 0x20, 1);
        t.unlink_incoming(&b);
        assert_eq!((a.target(0), b.target(0)), (0, 0x20));
        assert_eq!(t.len(), (3, 1));
        // The slot links again, to the new code.
        t.link(a.slot_address(0), &b, 0x30, 1);
        assert_eq!(a.target(0), 0x30);
        t.remove(&b);
        assert_eq!(a.target(0), 0);
    }

    #[test]
    fn a_dropped_owner_is_skipped() {
        let mut t = LinkTable::new();
        let a = Links::new(1);
        let b = Links::new(1);
        t.add(&a, 0);
        t.add(&b, 0);
        t.link(a.slot_address(0), &b, 0x99, 1);
        let slot = a.slot_address(0);
        drop(a);
        assert!(t.owner(slot).is_none());
        t.remove(&b);
        t.clear();
        assert!(t.is_empty());
    }
}
