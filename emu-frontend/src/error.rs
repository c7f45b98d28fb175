//! Errors building or running a machine, each a sentence a user can act on.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum MachineError {
    /// A file could not be read.
    Read { path: PathBuf, source: std::io::Error },
    /// A file could not be created (the trace).
    Create { path: PathBuf, source: std::io::Error },
    /// A BIOS image whose size QEMU's PC would refuse too.
    BiosSize { path: PathBuf, size: u64 },
    /// A kernel that is neither a Linux image nor has a valid Multiboot header.
    NotMultiboot { path: PathBuf, why: String },
    /// A kernel, initrd or command line that does not fit the machine.
    KernelLayout { path: PathBuf, why: String },
    /// Guest memory could not be set up.
    Memory(vemu_softmmu::MemoryError),
    /// A disk image could not be opened.
    Image(vemu_devices::ImageError),
    /// An image that does not suit its drive (a floppy of no known size).
    Drive { path: PathBuf, why: String },
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineError::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            MachineError::Create { path, source } => write!(f, "cannot create {}: {source}", path.display()),
            MachineError::BiosSize { path, size } => write!(
                f,
                "BIOS image {} is {size} bytes; it must be a non-zero multiple of 64 KiB, at most 16 MiB",
                path.display()
            ),
            MachineError::NotMultiboot { path, why } => {
                write!(
                    f,
                    "{} is neither a Linux kernel (bzImage) nor a Multiboot kernel: {why}",
                    path.display()
                )
            }
            MachineError::KernelLayout { path, why } => write!(f, "cannot load {}: {why}", path.display()),
            MachineError::Memory(e) => write!(f, "{e}"),
            MachineError::Image(e) => write!(f, "{e}"),
            MachineError::Drive { path, why } => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for MachineError {}

impl From<vemu_softmmu::MemoryError> for MachineError {
    fn from(e: vemu_softmmu::MemoryError) -> Self {
        MachineError::Memory(e)
    }
}
