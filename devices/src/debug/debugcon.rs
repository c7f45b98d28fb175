//! The debug console (QEMU's `-debugcon`, Bochs's port 0xe9 hack): every byte
//! written goes to a sink (stdout in `vemu run`); reads return 0xe9, the value
//! guests probe for. It takes byte accesses only, as QEMU's does: a word or
//! doubleword read gives 0 and such a write is dropped (QEMU refuses the
//! access as a whole, it does not split it). The sink is the host's and the
//! device keeps nothing else ([`Snapshot`] saves nothing; the sink stays
//! attached on restore).

use std::io::Write;

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

pub struct DebugCon {
    out: Box<dyn Write>,
}

impl DebugCon {
    pub fn new(out: Box<dyn Write>) -> Self {
        DebugCon { out }
    }
}

impl PortDevice for DebugCon {
    fn read(&mut self, _port: u16, size: u8) -> u32 {
        if size == 1 {
            0xe9
        } else {
            0
        }
    }
    fn write(&mut self, _port: u16, size: u8, value: u32) {
        if size != 1 {
            return;
        }
        // A console that cannot be written to is not the guest's problem.
        let _ = self.out.write_all(&[value as u8]);
        let _ = self.out.flush();
    }
    /// Wider accesses reach the device whole, to be refused.
    fn access_size(&self) -> u8 {
        4
    }
}

impl Snapshot for DebugCon {
    fn save(&self) -> Vec<u8> {
        state::encode(&())
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        state::decode::<()>(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Captured;

    #[test]
    fn bytes_reach_the_sink() {
        let sink = Captured::default();
        let mut d = DebugCon::new(Box::new(sink.clone()));
        for b in b"hi\n" {
            d.write(0xe9, 1, *b as u32);
        }
        assert_eq!(sink.bytes(), b"hi\n");
        assert_eq!(d.read(0xe9, 1), 0xe9);
    }

    #[test]
    fn wider_accesses_are_refused_whole() {
        let sink = Captured::default();
        let mut d = DebugCon::new(Box::new(sink.clone()));
        assert_eq!(d.read(0xe9, 2), 0);
        assert_eq!(d.read(0xe9, 4), 0);
        d.write(0xe9, 2, 0x4141);
        d.write(0xe9, 4, 0x4141_4141);
        assert_eq!(sink.bytes(), b"");
    }

    #[test]
    fn state_round_trips_and_the_sink_stays() {
        let d = DebugCon::new(Box::new(std::io::sink()));
        let sink = Captured::default();
        let mut copy = DebugCon::new(Box::new(sink.clone()));
        copy.restore(&d.save()).unwrap();
        copy.write(0xe9, 1, b'!' as u32);
        assert_eq!(sink.bytes(), b"!");
        assert_eq!(copy.read(0xe9, 1), 0xe9);
    }
}
