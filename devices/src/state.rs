//! Device state as data (DESIGN.md, "State is data"): every device keeps what
//! the guest can observe in plain fields that serde can serialize, and keeps
//! host-side things (open files, output sinks) apart, skipped by serde and
//! re-attached by the machine on restore. [`Snapshot`] is the common face:
//! a device's state as bytes (postcard, compact and versioned by the
//! device's own struct) and back.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why saved state could not be restored.
#[derive(Debug)]
pub struct StateError(pub String);

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad device state: {}", self.0)
    }
}

impl std::error::Error for StateError {}

/// A device whose state can be saved and restored.
pub trait Snapshot {
    /// The guest-visible state, encoded.
    fn save(&self) -> Vec<u8>;
    /// Takes the state `save` gave (host-side attachments stay as they are).
    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError>;
}

/// Encodes a state struct.
pub fn encode<T: Serialize>(state: &T) -> Vec<u8> {
    postcard::to_stdvec(state).expect("device state encodes (no maps with non-string keys, no I/O)")
}

/// Decodes a state struct.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StateError> {
    postcard::from_bytes(bytes).map_err(|e| StateError(e.to_string()))
}
