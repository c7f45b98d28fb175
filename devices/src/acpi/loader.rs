//! The firmware's linker/loader script (fw_cfg file `etc/table-loader`), as
//! QEMU's bios-linker-loader writes it and SeaBIOS's romfile_loader runs it:
//! a sequence of 128-byte commands that place fw_cfg files in guest memory,
//! patch pointers between them with the addresses they got, and compute
//! checksums after the pointers are in. This way the machine builds its
//! ACPI tables without knowing where they will live.
//!
//! Command layout (little-endian): a 32-bit command number, then
//! - ALLOCATE (1): file name (56 bytes, NUL-padded), alignment (u32, a
//!   power of two), zone (u8: 1 high memory, 2 the F segment);
//! - ADD_POINTER (2): destination file, source file (56 bytes each), offset
//!   in the destination (u32), pointer size (u8: 1, 2, 4 or 8). The loader
//!   adds the source file's address to the value already there, which is
//!   thus an offset into the source file;
//! - ADD_CHECKSUM (3): file, offset of the checksum byte (u32), start and
//!   length of the range summed (u32 each). The loader subtracts the range's
//!   byte sum from the checksum byte, so the range then sums to zero;
//!
//! and zeros up to 128 bytes. SeaBIOS skips commands it does not know.

/// Room for a file name, NUL included (QEMU's FW_CFG_MAX_FILE_PATH).
pub const FILE_NAME_BYTES: usize = 56;
/// The size of one command.
pub const ENTRY_BYTES: usize = 128;

/// Where ALLOCATE puts a file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// High memory, wherever the firmware keeps its tables.
    High = 1,
    /// The F segment (0xf0000-0xfffff), where the RSDP must be found.
    FSeg = 2,
}

/// One loader command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Allocate { file: String, align: u32, zone: Zone },
    AddPointer { dest: String, src: String, offset: u32, size: u8 },
    AddChecksum { file: String, offset: u32, start: u32, length: u32 },
}

/// Why a script could not be read back.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

fn put_name(out: &mut Vec<u8>, name: &str) {
    assert!(name.len() < FILE_NAME_BYTES && !name.contains('\0'), "fw_cfg file name {name:?}");
    let mut field = [0u8; FILE_NAME_BYTES];
    field[..name.len()].copy_from_slice(name.as_bytes());
    out.extend_from_slice(&field);
}

impl Command {
    /// The command's 128 bytes.
    pub fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = Vec::with_capacity(ENTRY_BYTES);
        match self {
            Command::Allocate { file, align, zone } => {
                assert!(align.is_power_of_two(), "alignment {align}");
                out.extend_from_slice(&1u32.to_le_bytes());
                put_name(&mut out, file);
                out.extend_from_slice(&align.to_le_bytes());
                out.push(*zone as u8);
            }
            Command::AddPointer { dest, src, offset, size } => {
                assert!(matches!(size, 1 | 2 | 4 | 8), "pointer size {size}");
                out.extend_from_slice(&2u32.to_le_bytes());
                put_name(&mut out, dest);
                put_name(&mut out, src);
                out.extend_from_slice(&offset.to_le_bytes());
                out.push(*size);
            }
            Command::AddChecksum { file, offset, start, length } => {
                out.extend_from_slice(&3u32.to_le_bytes());
                put_name(&mut out, file);
                for v in [offset, start, length] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        let mut entry = [0u8; ENTRY_BYTES];
        entry[..out.len()].copy_from_slice(&out);
        entry
    }
}

/// The script's bytes.
pub fn encode(commands: &[Command]) -> Vec<u8> {
    commands.iter().flat_map(|c| c.encode()).collect()
}

/// Reads a script back; commands of other kinds (SeaBIOS skips them) are
/// an error here, since vemu writes none.
pub fn parse(bytes: &[u8]) -> Result<Vec<Command>, ParseError> {
    if bytes.len() % ENTRY_BYTES != 0 {
        return Err(ParseError(format!("{} bytes is not a whole number of commands", bytes.len())));
    }
    let u32_at = |e: &[u8], at: usize| u32::from_le_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]);
    let name_at = |e: &[u8], at: usize| -> Result<String, ParseError> {
        let field = &e[at..at + FILE_NAME_BYTES];
        let len = field.iter().position(|&b| b == 0).ok_or(ParseError("unterminated file name".into()))?;
        String::from_utf8(field[..len].to_vec()).map_err(|_| ParseError("file name is not UTF-8".into()))
    };
    bytes
        .chunks(ENTRY_BYTES)
        .map(|e| match u32_at(e, 0) {
            1 => {
                let zone = match e[64] {
                    1 => Zone::High,
                    2 => Zone::FSeg,
                    z => return Err(ParseError(format!("allocation zone {z}"))),
                };
                Ok(Command::Allocate { file: name_at(e, 4)?, align: u32_at(e, 60), zone })
            }
            2 => Ok(Command::AddPointer {
                dest: name_at(e, 4)?,
                src: name_at(e, 60)?,
                offset: u32_at(e, 116),
                size: e[120],
            }),
            3 => Ok(Command::AddChecksum {
                file: name_at(e, 4)?,
                offset: u32_at(e, 60),
                start: u32_at(e, 64),
                length: u32_at(e, 68),
            }),
            other => Err(ParseError(format!("unknown command {other}"))),
        })
        .collect()
}

/// Collects the commands of a script while the tables are built.
#[derive(Default)]
pub struct Linker {
    commands: Vec<Command>,
}

impl Linker {
    pub fn new() -> Linker {
        Linker::default()
    }

    /// Places `file` in `zone`, aligned to `align` bytes.
    pub fn allocate(&mut self, file: &str, align: u32, zone: Zone) {
        self.commands.push(Command::Allocate { file: file.into(), align, zone });
    }

    /// Makes the `size`-byte field at `offset` of `dest` (which holds an
    /// offset into `src`) the address it points to.
    pub fn add_pointer(&mut self, dest: &str, offset: u32, size: u8, src: &str) {
        self.commands.push(Command::AddPointer { dest: dest.into(), src: src.into(), offset, size });
    }

    /// Fixes the checksum byte at `offset` of `file` so that `length`
    /// bytes from `start` sum to zero (after the pointers added before).
    pub fn add_checksum(&mut self, file: &str, start: u32, length: u32, offset: u32) {
        self.commands.push(Command::AddChecksum { file: file.into(), offset, start, length });
    }

    /// The commands so far.
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_seabios_reads_them() {
        let a = Command::Allocate { file: "etc/acpi/rsdp".into(), align: 16, zone: Zone::FSeg }.encode();
        assert_eq!(a[..4], [1, 0, 0, 0]);
        assert_eq!(&a[4..17], b"etc/acpi/rsdp");
        assert!(a[17..60].iter().all(|&b| b == 0));
        assert_eq!(a[60..64], [16, 0, 0, 0]);
        assert_eq!(a[64], 2);
        assert!(a[65..].iter().all(|&b| b == 0));

        let p = Command::AddPointer {
            dest: "etc/acpi/rsdp".into(),
            src: "etc/acpi/tables".into(),
            offset: 16,
            size: 4,
        }
        .encode();
        assert_eq!(p[..4], [2, 0, 0, 0]);
        assert_eq!(&p[60..75], b"etc/acpi/tables");
        assert_eq!(p[116..121], [16, 0, 0, 0, 4]);

        let c =
            Command::AddChecksum { file: "etc/acpi/tables".into(), offset: 0x49, start: 0x40, length: 0x74 }
                .encode();
        assert_eq!(c[..4], [3, 0, 0, 0]);
        assert_eq!(c[60..72], [0x49, 0, 0, 0, 0x40, 0, 0, 0, 0x74, 0, 0, 0]);
    }

    #[test]
    fn scripts_parse_back() {
        let mut l = Linker::new();
        l.allocate("etc/acpi/tables", 64, Zone::High);
        l.add_pointer("etc/acpi/tables", 0x24, 4, "etc/acpi/tables");
        l.add_checksum("etc/acpi/tables", 0, 0x74, 9);
        let bytes = encode(l.commands());
        assert_eq!(bytes.len(), 3 * ENTRY_BYTES);
        assert_eq!(parse(&bytes).unwrap(), l.commands());
    }

    #[test]
    fn bad_scripts_are_refused() {
        let mut bytes = encode(&[Command::Allocate { file: "f".into(), align: 4, zone: Zone::High }]);
        assert!(parse(&bytes[..100]).is_err());
        bytes[64] = 7;
        assert!(parse(&bytes).unwrap_err().0.contains("zone"));
        bytes[0] = 9;
        assert!(parse(&bytes).unwrap_err().0.contains("unknown command"));
        let mut bytes = encode(&[Command::Allocate { file: "f".into(), align: 4, zone: Zone::High }]);
        bytes[4..60].fill(b'x');
        assert!(parse(&bytes).is_err(), "a name without its NUL");
    }
}
