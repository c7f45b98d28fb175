//! The keyboard controller and the PS/2 devices behind it: the 8042
//! ([`i8042`]), the keyboard ([`ps2kbd`]) with its key names and scancode
//! tables ([`keycode`]), and the mouse ([`ps2mouse`]). The frontend feeds
//! keys and mouse motion to the controller, which owns both devices.

pub mod i8042;
pub mod keycode;
pub mod ps2kbd;
pub mod ps2mouse;
