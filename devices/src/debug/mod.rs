//! QEMU's debugging devices: isa-debug-exit (0xf4), the debug console (0xe9)
//! and POST codes (0x80).

pub mod debug_exit;
pub mod debugcon;
pub mod post;
