//! The display adapter: QEMU's standard VGA with the Bochs VBE extensions
//! ([`vga`]), and drawing its picture ([`render`]).

pub mod render;
pub mod vga;

pub use render::{Cell, Frame, ModeInfo, TextScreen};
pub use vga::{DirtyPages, Vga};
