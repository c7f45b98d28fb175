//! Links for block chaining: a translated block that ends in a direct jump or
//! branch can jump straight into the translation of its target. Each exit of a
//! block has a slot holding the target's code address (0 while unlinked) that
//! the generated code reads; the target remembers who links to it, so that its
//! removal (invalidation or eviction) unlinks them before anything could jump
//! into stale code.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

/// The link slots of one block and the links into it.
#[derive(Debug, Default)]
pub struct Links {
    slots: Box<[Cell<usize>]>,
    incoming: RefCell<Vec<(Weak<Links>, usize)>>,
}

impl Links {
    /// Links for a block with `exits` linkable exits.
    pub fn new(exits: usize) -> Rc<Links> {
        Rc::new(Links { slots: (0..exits).map(|_| Cell::new(0)).collect(), incoming: RefCell::default() })
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

    /// Which exit has the slot at `address`, if it is one of ours.
    pub fn exit_at(&self, address: usize) -> Option<usize> {
        (0..self.slots.len()).find(|&i| self.slot_address(i) == address)
    }

    /// Makes `source`'s exit `exit` jump to `code`, the translation owning `target`.
    pub fn link(source: &Rc<Links>, exit: usize, target: &Rc<Links>, code: usize) {
        let slot = &source.slots[exit];
        if slot.get() == code {
            return;
        }
        slot.set(code);
        target.incoming.borrow_mut().push((Rc::downgrade(source), exit));
    }

    /// The block is going away: every link into it is cut.
    pub fn unlink_incoming(&self) {
        for (source, exit) in self.incoming.borrow_mut().drain(..) {
            if let Some(s) = source.upgrade() {
                s.slots[exit].set(0);
            }
        }
    }

    /// Cuts the block's own links (its translation is being replaced).
    pub fn unlink_outgoing(&self) {
        for s in self.slots.iter() {
            s.set(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_unlink() {
        let a = Links::new(2);
        let b = Links::new(1);
        Links::link(&a, 1, &b, 0x1234);
        assert_eq!(a.target(1), 0x1234);
        assert_eq!(a.exit_at(a.slot_address(1)), Some(1));
        Links::link(&a, 1, &b, 0x1234); // idempotent
        assert_eq!(b.incoming.borrow().len(), 1);
        b.unlink_incoming();
        assert_eq!(a.target(1), 0);
        // A dead source is skipped.
        Links::link(&a, 0, &b, 0x99);
        drop(a);
        b.unlink_incoming();
    }
}
