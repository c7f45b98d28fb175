//! Port 0x80, where firmware writes power-on self-test (POST) codes. The codes
//! are kept and, when the run is traced, reported to a sink. The last code is
//! the state ([`Snapshot`]); the trace sink is the host's and stays attached
//! on restore.

use std::io::Write;

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

#[derive(Default)]
pub struct PostCodes {
    /// The last code written.
    pub last: Option<u8>,
    trace: Option<Box<dyn Write>>,
}

impl PostCodes {
    /// `trace`: where to report each code, if anywhere.
    pub fn new(trace: Option<Box<dyn Write>>) -> Self {
        PostCodes { last: None, trace }
    }
}

impl PortDevice for PostCodes {
    fn read(&mut self, _port: u16, size: u8) -> u32 {
        // A POST port is write-only: reads float high, as on QEMU's PC.
        crate::ones(size)
    }
    fn write(&mut self, _port: u16, _size: u8, value: u32) {
        self.last = Some(value as u8);
        if let Some(t) = self.trace.as_mut() {
            let _ = writeln!(t, "# POST {:02x}", value as u8);
        }
    }
}

impl Snapshot for PostCodes {
    fn save(&self) -> Vec<u8> {
        state::encode(&self.last)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        self.last = state::decode(bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Captured;

    #[test]
    fn state_round_trips_and_the_trace_stays() {
        let mut p = PostCodes::new(None);
        p.write(0x80, 1, 0x42);
        let trace = Captured::default();
        let mut copy = PostCodes::new(Some(Box::new(trace.clone())));
        copy.restore(&p.save()).unwrap();
        assert_eq!(copy.last, Some(0x42));
        assert_eq!(copy.read(0x80, 1), 0xff);
        copy.write(0x80, 1, 0x43);
        assert_eq!(trace.text(), "# POST 43\n");
    }
}
