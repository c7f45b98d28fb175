//! An output sink that keeps what is written to it, for code that runs a guest
//! and reads back what it printed on a console (tests, benchmarks, embedders).

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// A `Write` that appends to a buffer shared by all its clones: hand one clone
/// to a device, keep another to read the output.
#[derive(Clone, Default)]
pub struct Captured(Rc<RefCell<Vec<u8>>>);

impl Captured {
    /// The bytes written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }

    /// The bytes written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_buffer() {
        let keep = Captured::default();
        let mut give = keep.clone();
        give.write_all(b"ab").unwrap();
        give.write_all(&[0xff, b'c']).unwrap();
        assert_eq!(keep.bytes(), b"ab\xffc");
        assert_eq!(keep.text(), "ab\u{fffd}c");
    }
}
