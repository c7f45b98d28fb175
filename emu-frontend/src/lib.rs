//! The vemu frontend: builds a PC [`Machine`] from options (firmware or a
//! Multiboot kernel, memory size, devices), runs it, and reports how it ended.
//! `main.rs` is only the command line on top of this.

#![forbid(unsafe_code)]

pub mod cli;
pub mod console;
pub mod display;
pub mod error;
pub mod firmware;
pub mod jitstats;
pub mod linuxboot;
pub mod machine;
pub mod monitor;
pub mod multiboot;
pub mod platform;
pub mod screendump;
pub mod trace;

pub use error::MachineError;
pub use machine::{Boot, Clock, DriveConfig, Interface, Machine, MachineConfig, Media, Outcome};
pub use vemu_devices::Captured;
