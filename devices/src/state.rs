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

/// Decodes a state struct; bytes left over mean the state was some other
/// device's, or another version's.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StateError> {
    match postcard::take_from_bytes(bytes) {
        Ok((state, [])) => Ok(state),
        Ok((_, rest)) => Err(StateError(format!("{} bytes left over at the end", rest.len()))),
        Err(e) => Err(StateError(e.to_string())),
    }
}

/// Serde for byte arrays longer than serde's own implementations go (32
/// bytes), such as a RAM: `#[serde(with = "crate::state::byte_array")]`.
pub mod byte_array {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        bytes.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        let len = bytes.len();
        bytes.try_into().map_err(|_| D::Error::custom(format!("{len} bytes where {N} belong")))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ram {
        #[serde(with = "byte_array")]
        bytes: [u8; 40],
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct SmallRam {
        #[serde(with = "byte_array")]
        bytes: [u8; 39],
    }

    #[test]
    fn long_arrays_round_trip_and_keep_their_length() {
        let mut ram = Ram { bytes: [0; 40] };
        ram.bytes[39] = 0xaa;
        let bytes = encode(&ram);
        assert_eq!(decode::<Ram>(&bytes).unwrap(), ram);
        assert!(decode::<SmallRam>(&bytes).is_err());
    }

    #[test]
    fn leftover_bytes_are_an_error() {
        let mut bytes = encode(&7u8);
        assert_eq!(decode::<u8>(&bytes).unwrap(), 7);
        bytes.push(0);
        assert!(decode::<u8>(&bytes).unwrap_err().to_string().contains("left over"));
        assert!(decode::<()>(&bytes).is_err());
    }
}
