//! qcow2 images, read and written through imago's synchronous API (imago is
//! by the maintainer of QEMU's block layer), with their backing files.
//!
//! This file opens the chain itself rather than letting imago follow the
//! header's references, so that every file in it gets QEMU's locks (the
//! image as a writer or reader, each backing file as a reader) and every
//! failure names the file it is about. A backing file name is taken relative
//! to the directory of the image that names it, as `qemu-img create -b`
//! writes it; its format is the header's, or probed when the header has
//! none, as QEMU does. Beyond what imago checks, the header is refused when
//! the image is encrypted or when its L1 and refcount tables end past the end
//! of the file (a truncated image, which QEMU opens and fails on later).
//!
//! What reaches the file is imago's doing: guest data and the metadata that
//! maps it; opening read-write clears the autoclear feature bits, as QEMU
//! does, and nothing else. imago never sets the dirty bit (QEMU sets it only
//! with lazy refcounts), so an image closed in any state checks clean.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use imago::file::File as ImagoFile;
use imago::qcow2::Qcow2;
use imago::raw::Raw;
use imago::{FormatAccess, StorageOpenOptions};

use super::lock::{Access, ImageLock};
use super::{check_range, open_file, read_only_medium, BlockBackend, Format, ImageError, ImageErrorKind};

/// The first four bytes of every qcow2 image.
pub const MAGIC: [u8; 4] = *b"QFI\xfb";

/// Backing files one image may stand on, counting down (a chain that loops
/// back to itself would otherwise never end).
const MAX_CHAIN: usize = 32;

/// A qcow2 image and its backing chain.
#[derive(Debug)]
pub struct Qcow2Image {
    /// Declared before the locks so that it is dropped (and flushed) first.
    image: FormatAccess<ImagoFile>,
    len: u64,
    read_only: bool,
    /// This image's locks and each backing file's.
    _locks: Vec<ImageLock>,
}

impl Qcow2Image {
    /// Opens `path` as a qcow2 image, read-only or read-write.
    pub fn open(path: &Path, read_only: bool) -> Result<Qcow2Image, ImageError> {
        Qcow2Image::from_file(path, open_file(path, read_only)?, read_only)
    }

    /// Takes `file`, opened from `path` as `read_only` says.
    pub(super) fn from_file(path: &Path, file: File, read_only: bool) -> Result<Qcow2Image, ImageError> {
        let mut locks = Vec::new();
        let image = open_layer(path, file, Format::Qcow2, !read_only, MAX_CHAIN, &mut locks)?;
        let len = image.size();
        if len == 0 {
            return Err(ImageError::new(path, ImageErrorKind::Empty));
        }
        Ok(Qcow2Image { image, len, read_only, _locks: locks })
    }
}

/// Opens one image of a chain and, below it, its backing chain; pushes the
/// locks taken onto `locks`.
fn open_layer(
    path: &Path,
    file: File,
    format: Format,
    writable: bool,
    chain_left: usize,
    locks: &mut Vec<ImageLock>,
) -> Result<FormatAccess<ImagoFile>, ImageError> {
    let error = |kind| ImageError::new(path, kind);
    let access = match (writable, format) {
        (false, _) => Access::READER,
        (true, Format::Raw) => Access::RAW_WRITER,
        (true, Format::Qcow2) => Access::QCOW2_WRITER,
    };
    locks.push(ImageLock::acquire(&file, access).map_err(|e| error(ImageErrorKind::Locked(e)))?);
    let header = match format {
        Format::Qcow2 => Some(read_header(&file).map_err(error)?),
        Format::Raw => None,
    };
    let options = StorageOpenOptions::new().write(writable).filename(path);
    let storage = ImagoFile::from_open_file(file, options).map_err(|e| error(ImageErrorKind::Open(e)))?;
    if format == Format::Raw {
        let raw = Raw::open_image(storage, writable).map_err(|e| error(ImageErrorKind::Open(e)))?;
        return Ok(FormatAccess::new(raw));
    }
    let mut qcow2 = Qcow2::<ImagoFile>::open_image(storage, writable).map_err(|e| {
        error(if e.kind() == io::ErrorKind::InvalidData {
            ImageErrorKind::Corrupt(e.to_string())
        } else {
            ImageErrorKind::Open(e)
        })
    })?;
    if let Some((header, file_len)) = header {
        check_header(&header, file_len).map_err(error)?;
    }
    if qcow2.requires_external_data_file() {
        return Err(error(ImageErrorKind::Unsupported(
            "the image keeps its data in an external data file, which vemu does not support".into(),
        )));
    }
    qcow2.set_data_file(None);
    let backing = match qcow2.implicit_backing_file() {
        None => None,
        Some(name) => {
            if chain_left == 0 {
                return Err(error(ImageErrorKind::Unsupported(format!(
                    "its chain of backing files is longer than {MAX_CHAIN} (does it loop?)"
                ))));
            }
            let backing_path = backing_path(path, name);
            let backing_format = qcow2.implicit_backing_format().cloned();
            let below = open_backing(&backing_path, backing_format.as_deref(), chain_left - 1, locks)
                .map_err(|e| error(ImageErrorKind::Backing(Box::new(e))))?;
            Some(below)
        }
    };
    qcow2.set_backing(backing);
    Ok(FormatAccess::new(qcow2))
}

/// Opens a backing file read-only, in the format its image's header names
/// (probed when it names none).
fn open_backing(
    path: &Path,
    format: Option<&str>,
    chain_left: usize,
    locks: &mut Vec<ImageLock>,
) -> Result<FormatAccess<ImagoFile>, ImageError> {
    let file = open_file(path, true)?;
    let format = match format {
        None => Format::probe(&file).map_err(|e| ImageError::new(path, ImageErrorKind::Open(e)))?,
        // QEMU's protocol name for a raw file.
        Some("file") => Format::Raw,
        Some(name) => name.parse().map_err(|why| ImageError::new(path, ImageErrorKind::Unsupported(why)))?,
    };
    open_layer(path, file, format, false, chain_left, locks)
}

/// Where the backing file `name` of the image at `image` is: relative names
/// are relative to the image's directory.
fn backing_path(image: &Path, name: &str) -> PathBuf {
    match image.parent() {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// The first 72 bytes of a qcow2 image (version 2's header, the start of
/// version 3's) and the file's length.
type Header = [u8; 72];

fn read_header(mut file: &File) -> Result<(Header, u64), ImageErrorKind> {
    let mut header = [0; 72];
    file.read_exact_at(&mut header, 0).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ImageErrorKind::Corrupt("the file is shorter than a qcow2 header".into())
        } else {
            ImageErrorKind::Open(e)
        }
    })?;
    let file_len = file.seek(SeekFrom::End(0)).map_err(ImageErrorKind::Open)?;
    Ok((header, file_len))
}

fn be32(header: &Header, at: usize) -> u64 {
    u64::from(u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]))
}

fn be64(header: &Header, at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&header[at..at + 8]);
    u64::from_be_bytes(bytes)
}

/// What imago (which has checked the magic, version and cluster size) does
/// not refuse but vemu must: encryption, and tables that the file is too
/// short to hold.
fn check_header(header: &Header, file_len: u64) -> Result<(), ImageErrorKind> {
    if be32(header, 32) != 0 {
        return Err(ImageErrorKind::Unsupported(
            "the image is encrypted, which vemu does not support (qemu-img convert can decrypt it)".into(),
        ));
    }
    let cluster_bits = be32(header, 20);
    let l1_end = be64(header, 40).checked_add(be32(header, 36) * 8);
    let refcount_table_end = (cluster_bits < 32)
        .then(|| be32(header, 56) << cluster_bits)
        .and_then(|len| be64(header, 48).checked_add(len));
    for (table, end) in [("L1 table", l1_end), ("refcount table", refcount_table_end)] {
        match end {
            Some(end) if end <= file_len => {}
            Some(end) => {
                return Err(ImageErrorKind::Corrupt(format!(
                    "its {table} ends at byte {end} but the file has only {file_len} bytes (truncated?)"
                )))
            }
            None => return Err(ImageErrorKind::Corrupt(format!("its {table} lies beyond any file"))),
        }
    }
    Ok(())
}

impl BlockBackend for Qcow2Image {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.image.read(buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(read_only_medium());
        }
        check_range(offset, data.len(), self.len)?;
        self.image.write(data, offset)
    }

    /// Writes imago's cached metadata, then makes the file durable.
    fn flush(&mut self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.image.flush()?;
        self.image.sync()
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::image::test_files::{qemu_tool, qemu_tool_fails, TempDir};

    const MIB: u64 = 1024 * 1024;

    fn qemu_img(dir: &TempDir, args: &[&str]) -> String {
        qemu_tool("qemu-img", args, dir.path())
    }

    /// `qemu-img check` finds nothing wrong and the header's dirty bit is clear.
    fn assert_clean(dir: &TempDir, name: &str) {
        let report = qemu_img(dir, &["check", name]);
        assert!(report.contains("No errors were found on the image."), "{report}");
        let header = std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(header[79] & 1, 0, "the dirty bit is clear");
    }

    fn as_raw(dir: &TempDir, name: &str) -> Vec<u8> {
        qemu_img(dir, &["convert", "-O", "raw", name, "converted.raw"]);
        std::fs::read(dir.path().join("converted.raw")).unwrap()
    }

    #[test]
    fn writes_reach_qemu_and_leave_the_image_clean() {
        let dir = TempDir::new("qcow2-rw");
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "disk.qcow2", "4M"]);
        let path = dir.path().join("disk.qcow2");
        let mut disk = Qcow2Image::open(&path, false).unwrap();
        assert_eq!(disk.len(), 4 * MIB);
        assert!(!disk.read_only());
        let mut expected = vec![0u8; 4 * MIB as usize];
        let writes: [(u64, u8, usize); 4] =
            [(0, 0x55, 512), (65536 - 100, 0x66, 300), (3 * MIB + 7, 0x77, 5000), (4 * MIB - 512, 0x88, 512)];
        for (at, fill, len) in writes {
            disk.write_at(at, &vec![fill; len]).unwrap();
            expected[at as usize..at as usize + len].fill(fill);
        }
        disk.flush().unwrap();
        let mut back = vec![0; 6000];
        disk.read_at(3 * MIB, &mut back).unwrap();
        assert!(back == expected[3 * MIB as usize..3 * MIB as usize + 6000]);
        assert!(disk.write_at(4 * MIB - 1, &[0, 0]).is_err(), "writes stop at the end");
        drop(disk);

        assert_clean(&dir, "disk.qcow2");
        assert!(as_raw(&dir, "disk.qcow2") == expected, "qemu-img sees the guest's bytes");
        let io = qemu_tool("qemu-io", &["-c", "read -P 0x77 3145735 5000", "disk.qcow2"], dir.path());
        assert!(io.contains("read 5000/5000 bytes"), "{io}");

        let mut again = Qcow2Image::open(&path, true).unwrap();
        let mut b = [0; 2];
        again.read_at(65535, &mut b).unwrap();
        assert_eq!(b, [0x66, 0x66]);
        assert!(again.write_at(0, &[1]).is_err(), "read-only refuses writes");
    }

    #[test]
    fn opening_read_write_writes_nothing_until_the_guest_does() {
        let dir = TempDir::new("qcow2-untouched");
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "disk.qcow2", "4M"]);
        let path = dir.path().join("disk.qcow2");
        let before = std::fs::read(&path).unwrap();
        let mut disk = Qcow2Image::open(&path, false).unwrap();
        let mut buf = vec![0xff; 4096];
        disk.read_at(8192, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        disk.flush().unwrap();
        drop(disk);
        assert!(std::fs::read(&path).unwrap() == before, "the file is byte for byte as it was");
    }

    #[test]
    fn a_qcow2_over_a_raw_backing_file_copies_on_write_and_leaves_the_base_alone() {
        let dir = TempDir::new("qcow2-backing");
        let base: Vec<u8> = (0..2 * MIB as usize).map(|i| (i % 253) as u8).collect();
        dir.file("base.raw", &base);
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "over.qcow2"]);
        // The backing name is relative: it is found beside the image, not in
        // the test's working directory.
        let mut disk = Qcow2Image::open(&dir.path().join("over.qcow2"), false).unwrap();
        assert_eq!(disk.len(), 2 * MIB);
        let mut head = vec![0; 1024];
        disk.read_at(70000, &mut head).unwrap();
        assert!(head == base[70000..71024], "unwritten clusters come from the base");
        disk.write_at(70010, b"guest").unwrap();
        disk.flush().unwrap();
        disk.read_at(70000, &mut head).unwrap();
        assert_eq!(&head[10..15], b"guest");
        assert_eq!(head[9], base[70009], "the rest of the cluster was copied from the base");
        assert_eq!(head[15], base[70015]);
        drop(disk);

        assert!(std::fs::read(dir.path().join("base.raw")).unwrap() == base, "the base is unchanged");
        assert_clean(&dir, "over.qcow2");
        let mut expected = base.clone();
        expected[70010..70015].copy_from_slice(b"guest");
        assert!(as_raw(&dir, "over.qcow2") == expected);
    }

    #[test]
    fn a_chain_of_images_holds_reader_locks_on_each_backing_file() {
        let dir = TempDir::new("qcow2-chain");
        dir.file("base.raw", &vec![0x11; MIB as usize]);
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "mid.qcow2"]);
        qemu_tool("qemu-io", &["-c", "write -P 0x22 4096 4096", "mid.qcow2"], dir.path());
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2"]);
        let mut disk = Qcow2Image::open(&dir.path().join("top.qcow2"), false).unwrap();
        disk.write_at(8192, &[0x33; 512]).unwrap();
        let mut b = [0; 3];
        for (at, want) in [(0, 0x11), (4096, 0x22), (8192, 0x33)] {
            disk.read_at(at, &mut b).unwrap();
            assert_eq!(b, [want; 3], "at {at}");
        }
        for file in ["base.raw", "mid.qcow2"] {
            let err = qemu_tool_fails("qemu-io", &["-c", "write 0 512", file], dir.path());
            assert!(err.contains("Failed to get \"write\" lock"), "{file}: {err}");
        }
        let info = qemu_img(&dir, &["info", "mid.qcow2"]);
        assert!(info.contains("virtual size: 1 MiB"), "readers share a backing file: {info}");
        drop(disk);
        assert_clean(&dir, "top.qcow2");
        assert_clean(&dir, "mid.qcow2");
    }

    #[test]
    fn a_missing_backing_file_is_named_with_its_image() {
        let dir = TempDir::new("qcow2-nobacking");
        dir.file("base.raw", &[0; 65536]);
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "over.qcow2"]);
        std::fs::remove_file(dir.path().join("base.raw")).unwrap();
        let path = dir.path().join("over.qcow2");
        let err = Qcow2Image::open(&path, false).unwrap_err();
        assert!(
            matches!(&err.kind, ImageErrorKind::Backing(inner) if matches!(inner.kind, ImageErrorKind::Open(_)))
        );
        let message = err.to_string();
        let base = dir.path().join("base.raw");
        assert!(
            message.starts_with(&format!(
                "cannot open disk image {}: its backing file {}: ",
                path.display(),
                base.display()
            )),
            "{message}"
        );
    }

    fn open_err(path: &Path) -> ImageError {
        match Qcow2Image::open(path, false) {
            Ok(_) => panic!("{} opened", path.display()),
            Err(e) => e,
        }
    }

    #[test]
    fn corrupt_and_truncated_images_are_errors_not_panics() {
        let dir = TempDir::new("qcow2-bad");
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "good.qcow2", "4M"]);
        let good = std::fs::read(dir.path().join("good.qcow2")).unwrap();
        let corrupt = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            edit(&mut bytes);
            let err = open_err(&dir.file(name, &bytes));
            assert!(matches!(err.kind, ImageErrorKind::Corrupt(_)), "{name}: {err}");
            err.to_string()
        };
        let msg = corrupt("version.qcow2", &|b| b[4..8].copy_from_slice(&9u32.to_be_bytes()));
        assert!(msg.contains("not a usable qcow2 image") && msg.contains("v9"), "{msg}");
        corrupt("cluster.qcow2", &|b| b[20..24].copy_from_slice(&63u32.to_be_bytes()));
        corrupt("l1.qcow2", &|b| b[40..48].copy_from_slice(&u64::MAX.to_be_bytes()));
        corrupt("l1size.qcow2", &|b| b[36..40].copy_from_slice(&u32::MAX.to_be_bytes()));
        corrupt("short.qcow2", &|b| b.truncate(10));
        corrupt("header.qcow2", &|b| b.truncate(100));
        let msg = corrupt("cut.qcow2", &|b| b.truncate(65536));
        assert!(msg.contains("truncated"), "{msg}");
        let msg = corrupt("cutl1.qcow2", &|b| b.truncate(b.len() - 8));
        assert!(msg.contains("L1 table ends at byte"), "{msg}");
        let mut encrypted = good.clone();
        encrypted[32..36].copy_from_slice(&1u32.to_be_bytes());
        let err = open_err(&dir.file("encrypted.qcow2", &encrypted));
        assert!(matches!(err.kind, ImageErrorKind::Unsupported(_)), "{err}");
    }

    #[test]
    fn a_backing_chain_that_loops_ends_in_an_error() {
        let dir = TempDir::new("qcow2-loop");
        dir.file("base.raw", &[0; 65536]);
        qemu_img(&dir, &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "self.qcow2"]);
        qemu_img(&dir, &["rebase", "-u", "-b", "self.qcow2", "-F", "qcow2", "self.qcow2"]);
        let err = Qcow2Image::open(&dir.path().join("self.qcow2"), true).unwrap_err();
        assert!(err.to_string().contains("longer than 32"), "{err}");
    }
}
