//! The keyboard controller and the PS/2 devices behind it: the keyboard
//! ([`ps2kbd`]) with its key names and scancode tables ([`keycode`]), and
//! the mouse ([`ps2mouse`]).

pub mod keycode;
pub mod ps2kbd;
pub mod ps2mouse;
