//! Port 0x80, where firmware writes power-on self-test (POST) codes. The codes
//! are kept and, when the run is traced, reported to a sink.

use std::io::Write;

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
