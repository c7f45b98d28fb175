//! Disk images as devices see them: a [`BlockBackend`] is an array of bytes
//! that can be read, written (unless read-only) and flushed to stable
//! storage. Formats and files live behind it; controllers never see them.
//!
//! [`open_image`] is how the machine gets one from a file, as QEMU's
//! `-drive file=…,format=…,readonly=…,snapshot=…` does: it probes the format
//! when none is given (qcow2 by its magic, anything else raw), opens
//! [`raw`] files itself and [`qcow2`] images (with their backing files)
//! through imago, takes QEMU-compatible [`lock`]s so that QEMU and vemu
//! never write one image at once, and in snapshot mode puts an [`overlay`]
//! on top that keeps the guest's writes in a temporary file. Nothing is
//! written to an image but what the guest writes (and, for qcow2, the
//! metadata that describes it). The devices that use a backend (IDE disks,
//! CD-ROMs, floppies) live elsewhere.

pub mod lock;
pub mod overlay;
pub mod qcow2;
pub mod raw;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use lock::LockError;
pub use overlay::SnapshotOverlay;
pub use qcow2::Qcow2Image;
pub use raw::RawImage;

/// The medium behind a drive.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// Whether the medium holds no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `buf.len()` bytes at `offset` (the caller keeps within `len`).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `data` at `offset` (the caller keeps within `len`).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every write so far durable (the guest's cache flush).
    fn flush(&mut self) -> io::Result<()>;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
}

/// An image in host memory, for tests and throw-away media.
#[derive(Clone, Debug, Default)]
pub struct MemBackend {
    pub data: Vec<u8>,
    pub read_only: bool,
    /// Flushes so far (tests check that a guest's flush reaches the medium).
    pub flushes: u64,
}

impl MemBackend {
    pub fn new(data: Vec<u8>) -> MemBackend {
        MemBackend { data, read_only: false, flushes: 0 }
    }
}

impl BlockBackend for MemBackend {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        let start = offset as usize;
        buf.copy_from_slice(&self.data[start..start + buf.len()]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(read_only_medium());
        }
        check_range(offset, data.len(), self.len())?;
        let start = offset as usize;
        self.data[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "access beyond the end of the image")
}

/// Refuses an access of `len` bytes at `offset` that does not lie within
/// `size` bytes.
fn check_range(offset: u64, len: usize, size: u64) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(out_of_range()),
    }
}

fn read_only_medium() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "read-only medium")
}

/// How an image file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The guest's bytes, as they are.
    Raw,
    /// QEMU's copy-on-write format (versions 2 and 3), maybe over a backing file.
    Qcow2,
}

impl Format {
    /// What QEMU would take a file for when no format is given: qcow2 if it
    /// starts with qcow2's magic, raw otherwise (also when it is shorter).
    pub fn probe(file: &File) -> io::Result<Format> {
        let mut magic = [0; 4];
        match file.read_exact_at(&mut magic, 0) {
            Ok(()) if magic == qcow2::MAGIC => Ok(Format::Qcow2),
            Ok(()) => Ok(Format::Raw),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Format::Raw),
            Err(e) => Err(e),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
        })
    }
}

impl FromStr for Format {
    type Err = String;

    /// The names QEMU's `format=` takes.
    fn from_str(name: &str) -> Result<Format, String> {
        match name {
            "raw" => Ok(Format::Raw),
            "qcow2" => Ok(Format::Qcow2),
            _ => Err(format!("unknown disk image format '{name}' (vemu knows raw and qcow2)")),
        }
    }
}

/// How the machine wants an image opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// The format; `None` probes it.
    pub format: Option<Format>,
    /// The drive never writes (a CD-ROM, `readonly=on`): the file is opened
    /// read-only and writes are refused.
    pub read_only: bool,
    /// `-snapshot` / `snapshot=on`: the guest may write, but its writes go to
    /// a temporary overlay and are gone when vemu exits; the image itself is
    /// opened read-only. Has no effect on a read-only drive.
    pub snapshot: bool,
}

/// Why a disk image could not be opened.
#[derive(Debug)]
pub struct ImageError {
    /// The image file (for a backing file's trouble: the image that needs it).
    pub path: PathBuf,
    pub kind: ImageErrorKind,
}

/// What went wrong opening an image.
#[derive(Debug)]
pub enum ImageErrorKind {
    /// The file could not be opened or read: missing, unreadable, a directory.
    Open(io::Error),
    /// The drive would write, but the file cannot be opened for writing.
    NotWritable(io::Error),
    /// The image holds no bytes.
    Empty,
    /// Another opener (QEMU, another vemu) holds a conflicting lock, or the
    /// file system refused to lock.
    Locked(LockError),
    /// A qcow2 image whose header or tables make no sense.
    Corrupt(String),
    /// A qcow2 image that needs something vemu does not do.
    Unsupported(String),
    /// The image's backing file could not be opened.
    Backing(Box<ImageError>),
    /// The temporary file of snapshot mode could not be made in `dir`.
    Overlay { dir: PathBuf, source: io::Error },
}

impl ImageError {
    fn new(path: &Path, kind: ImageErrorKind) -> ImageError {
        ImageError { path: path.to_path_buf(), kind }
    }

    /// What went wrong, without the leading "cannot open disk image".
    fn reason(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ImageErrorKind::Open(e) => write!(f, "{e}"),
            ImageErrorKind::NotWritable(e) => write!(
                f,
                "{e}: the file cannot be opened for writing (open it read-only with readonly=on, \
                 or keep the guest's writes apart with -snapshot)"
            ),
            ImageErrorKind::Empty => write!(f, "the image is empty (0 bytes)"),
            ImageErrorKind::Locked(e) => write!(f, "{e}"),
            ImageErrorKind::Corrupt(why) => {
                write!(f, "not a usable qcow2 image: {why} (`qemu-img check` tells more)")
            }
            ImageErrorKind::Unsupported(what) => write!(f, "{what}"),
            ImageErrorKind::Backing(inner) => {
                write!(f, "its backing file {}: ", inner.path.display())?;
                inner.reason(f)
            }
            ImageErrorKind::Overlay { dir, source } => write!(
                f,
                "cannot create the temporary file for snapshot mode in {}: {source} \
                 (set TMPDIR to a writable directory)",
                dir.display()
            ),
        }
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot open disk image {}: ", self.path.display())?;
        self.reason(f)
    }
}

impl std::error::Error for ImageError {}

/// Opens a disk image for a drive. The size is the backend's `len()`.
pub fn open_image(path: &Path, options: ImageOptions) -> Result<Box<dyn BlockBackend>, ImageError> {
    let read_only = options.read_only || options.snapshot;
    let file = open_file(path, read_only)?;
    let (format, probed) = match options.format {
        Some(format) => (format, false),
        None => (Format::probe(&file).map_err(|e| ImageError::new(path, ImageErrorKind::Open(e)))?, true),
    };
    let image: Box<dyn BlockBackend> = match format {
        Format::Raw => Box::new(RawImage::from_file(path, file, read_only, probed)?),
        Format::Qcow2 => Box::new(Qcow2Image::from_file(path, file, read_only)?),
    };
    if options.snapshot && !options.read_only {
        return Ok(Box::new(
            SnapshotOverlay::new(image)
                .map_err(|(dir, source)| ImageError::new(path, ImageErrorKind::Overlay { dir, source }))?,
        ));
    }
    Ok(image)
}

/// Opens an image file for reading, and for writing unless `read_only`.
fn open_file(path: &Path, read_only: bool) -> Result<File, ImageError> {
    let file = OpenOptions::new()
        .read(true)
        .write(!read_only)
        .open(path)
        .map_err(|e| open_error(path, e, read_only))?;
    let meta = file.metadata().map_err(|e| ImageError::new(path, ImageErrorKind::Open(e)))?;
    if meta.is_dir() {
        return Err(ImageError::new(path, ImageErrorKind::Open(io::ErrorKind::IsADirectory.into())));
    }
    Ok(file)
}

/// A file that could not be opened; when it was to be written and the
/// system refused (permissions, a read-only file system), say how to do
/// without writing.
fn open_error(path: &Path, e: io::Error, read_only: bool) -> ImageError {
    let refused = e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(nix::libc::EROFS);
    ImageError::new(
        path,
        if refused && !read_only { ImageErrorKind::NotWritable(e) } else { ImageErrorKind::Open(e) },
    )
}

#[cfg(test)]
pub(crate) mod test_files;

#[cfg(test)]
mod tests {
    use super::*;

    use test_files::{qemu_system_fails, qemu_tool, qemu_tool_fails, RunningQemu, TempDir};

    const MIB: usize = 1024 * 1024;

    fn open(path: &Path, options: ImageOptions) -> Result<Box<dyn BlockBackend>, ImageError> {
        open_image(path, options)
    }

    fn writable() -> ImageOptions {
        ImageOptions::default()
    }

    fn refused(result: Result<Box<dyn BlockBackend>, ImageError>) -> ImageError {
        match result {
            Ok(_) => panic!("the image opened"),
            Err(e) => e,
        }
    }

    fn locked(result: Result<Box<dyn BlockBackend>, ImageError>) -> String {
        let e = refused(result);
        assert!(matches!(e.kind, ImageErrorKind::Locked(LockError::Conflict { .. })), "{e}");
        e.to_string()
    }

    fn qcow2_image(dir: &TempDir, name: &str) -> PathBuf {
        qemu_tool("qemu-img", &["create", "-q", "-f", "qcow2", name, "4M"], dir.path());
        dir.path().join(name)
    }

    #[test]
    fn the_format_is_probed_like_qemu_and_an_explicit_raw_wins() {
        let dir = TempDir::new("probe");
        let qcow2 = qcow2_image(&dir, "disk.qcow2");
        let file_len = std::fs::metadata(&qcow2).unwrap().len();
        let probed = open(&qcow2, ImageOptions { read_only: true, ..writable() }).unwrap();
        assert_eq!(probed.len(), 4 * MIB as u64, "the guest sees the virtual size");
        drop(probed);
        let mut raw =
            open(&qcow2, ImageOptions { format: Some(Format::Raw), read_only: true, ..writable() }).unwrap();
        assert_eq!(raw.len(), file_len, "format=raw shows the file as it is");
        let mut magic = [0; 4];
        raw.read_at(0, &mut magic).unwrap();
        assert_eq!(magic, qcow2::MAGIC);

        let tiny = dir.file("tiny.img", b"QF");
        assert_eq!(open(&tiny, writable()).unwrap().len(), 2, "too short for a magic: raw");
        let mbr = dir.file("mbr.img", &[0x55; 512]);
        assert_eq!(Format::probe(&File::open(&mbr).unwrap()).unwrap(), Format::Raw);
        let err = refused(open(&dir.file("empty.img", &[]), writable()));
        assert!(matches!(err.kind, ImageErrorKind::Empty), "{err}");
        let err = refused(open(&dir.file("header.img", &qcow2::MAGIC), writable()));
        assert!(matches!(err.kind, ImageErrorKind::Corrupt(_)), "a qcow2 magic makes a qcow2: {err}");

        assert_eq!("qcow2".parse::<Format>(), Ok(Format::Qcow2));
        assert_eq!("raw".parse::<Format>(), Ok(Format::Raw));
        assert!("vmdk".parse::<Format>().unwrap_err().contains("raw and qcow2"));
    }

    #[test]
    fn a_file_that_cannot_be_written_says_how_to_use_it_anyway() {
        let path = Path::new("/images/cd.iso");
        let err = open_error(path, io::ErrorKind::PermissionDenied.into(), false);
        assert!(matches!(err.kind, ImageErrorKind::NotWritable(_)));
        let message = err.to_string();
        assert!(message.starts_with("cannot open disk image /images/cd.iso: "), "{message}");
        assert!(message.contains("readonly=on") && message.contains("-snapshot"), "{message}");
        let err = open_error(path, io::Error::from_raw_os_error(nix::libc::EROFS), false);
        assert!(matches!(err.kind, ImageErrorKind::NotWritable(_)));
        let err = open_error(path, io::ErrorKind::PermissionDenied.into(), true);
        assert!(matches!(err.kind, ImageErrorKind::Open(_)), "a reader has no better way");
    }

    #[test]
    fn snapshot_mode_never_changes_the_image() {
        let dir = TempDir::new("snapshot");
        let content: Vec<u8> = (0..MIB).map(|i| (i % 241) as u8).collect();
        let raw = dir.file("disk.raw", &content);
        let qcow2 = qcow2_image(&dir, "disk.qcow2");
        let qcow2_before = std::fs::read(&qcow2).unwrap();
        for (path, before) in [(&raw, content.clone()), (&qcow2, qcow2_before)] {
            let mut disk = open(path, ImageOptions { snapshot: true, ..writable() }).unwrap();
            assert!(!disk.read_only());
            disk.write_at(1000, b"written").unwrap();
            disk.write_at(0, &qcow2::MAGIC).unwrap();
            disk.flush().unwrap();
            let mut back = [0; 7];
            disk.read_at(1000, &mut back).unwrap();
            assert_eq!(&back, b"written");
            // Snapshot mode reads the image like any reader: others may read it too.
            let mut other = open(path, ImageOptions { read_only: true, ..writable() }).unwrap();
            other.read_at(1000, &mut back).unwrap();
            assert_ne!(&back, b"written");
            locked(open(path, writable()));
            drop((disk, other));
            assert!(std::fs::read(path).unwrap() == before, "{} is unchanged", path.display());
        }
        let mut cd = open(&raw, ImageOptions { snapshot: true, read_only: true, ..writable() }).unwrap();
        assert!(
            cd.read_only() && cd.write_at(0, &[0]).is_err(),
            "snapshot leaves a read-only drive read-only"
        );
    }

    #[test]
    fn two_vemus_do_not_write_one_image() {
        let dir = TempDir::new("vemu-vemu");
        let raw = dir.file("disk.raw", &[0; 65536]);
        let first = open(&raw, writable()).unwrap();
        let message = locked(open(&raw, writable()));
        assert!(message.contains("failed to get \"write\" lock"), "{message}");
        assert!(message.contains("locked by another process"), "{message}");
        locked(open(&raw, ImageOptions { read_only: true, ..writable() }));
        drop(first);
        let _reader = open(&raw, ImageOptions { read_only: true, ..writable() }).unwrap();
        let _another = open(&raw, ImageOptions { read_only: true, ..writable() }).unwrap();
        locked(open(&raw, writable()));
    }

    #[test]
    fn a_running_qemu_keeps_vemu_off_its_images() {
        let dir = TempDir::new("qemu-first");
        let raw = dir.file("disk.raw", &[0; MIB]);
        let qcow2 = qcow2_image(&dir, "disk.qcow2");
        for (path, name) in [(&raw, "disk.raw"), (&qcow2, "disk.qcow2")] {
            let qemu = RunningQemu::start(dir.path(), &["-hda", name], path, &[101, 201]);
            let message = locked(open(path, writable()));
            assert!(message.contains("failed to get \"write\" lock"), "{message}");
            let message = locked(open(path, ImageOptions { snapshot: true, ..writable() }));
            assert!(message.contains("failed to get shared \"write\" lock"), "{message}");
            drop(qemu);
            open(path, writable()).unwrap();
        }
        let cdrom = RunningQemu::start(dir.path(), &["-cdrom", "disk.raw"], &raw, &[100, 201]);
        open(&raw, ImageOptions { read_only: true, ..writable() }).unwrap();
        locked(open(&raw, writable()));
        drop(cdrom);
    }

    #[test]
    fn vemu_keeps_a_qemu_off_its_images() {
        let dir = TempDir::new("vemu-first");
        let raw = dir.file("disk.raw", &[0; MIB]);
        let qcow2 = qcow2_image(&dir, "disk.qcow2");
        for (path, name) in [(&raw, "disk.raw"), (&qcow2, "disk.qcow2")] {
            let disk = open(path, writable()).unwrap();
            let err = qemu_system_fails(dir.path(), &["-hda", name]);
            assert!(err.contains("Failed to get \"write\" lock"), "{err}");
            let err = qemu_tool_fails("qemu-io", &["-c", "write 0 512", name], dir.path());
            assert!(err.contains("Failed to get \"write\" lock"), "{err}");
            let info = qemu_tool("qemu-img", &["info", "-U", name], dir.path());
            assert!(info.contains("virtual size: 1 MiB") || info.contains("virtual size: 4 MiB"), "{info}");
            drop(disk);
        }
        // As with a QEMU holding them: qemu-img reads a raw image's size
        // beside a writer, but not a qcow2 image's metadata.
        let _disk = open(&qcow2, writable()).unwrap();
        let err = qemu_tool_fails("qemu-img", &["info", "disk.qcow2"], dir.path());
        assert!(err.contains("Failed to get shared \"write\" lock"), "{err}");
        let _cd = open(&raw, ImageOptions { read_only: true, ..writable() }).unwrap();
        let err = qemu_system_fails(dir.path(), &["-hda", "disk.raw"]);
        assert!(err.contains("Failed to get \"write\" lock"), "a reader refuses a writer: {err}");
        let _qemu_cd = RunningQemu::start(dir.path(), &["-cdrom", "disk.raw"], &raw, &[100, 201]);
    }

    #[test]
    fn mem_backend_reads_writes_and_refuses() {
        let mut m = MemBackend::new(vec![0; 1024]);
        m.write_at(512, &[1, 2, 3]).unwrap();
        let mut b = [0; 3];
        m.read_at(512, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3]);
        assert!(m.read_at(1023, &mut [0; 2]).is_err());
        assert!(m.read_at(u64::MAX, &mut [0; 2]).is_err());
        m.read_only = true;
        assert!(m.write_at(0, &[1]).is_err());
    }
}
