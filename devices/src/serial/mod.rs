//! Serial ports.

pub mod uart;
