//! The keyboard controller and the PS/2 devices behind it. So far the key
//! names and scancode tables ([`keycode`]).

pub mod keycode;
