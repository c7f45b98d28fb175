//! Raw images: a host file (or block device) whose bytes are the guest's
//! disk, read and written in place with `pread`/`pwrite`; a guest's cache
//! flush is `fdatasync`. Opening writes nothing. Formats with metadata are
//! [`super::qcow2`]'s business; choosing the format is [`super::open_image`]'s.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::lock::{Access, ImageLock};
use super::{check_range, open_file, qcow2, read_only_medium, BlockBackend, ImageError, ImageErrorKind};

/// A raw image file.
#[derive(Debug)]
pub struct RawImage {
    file: File,
    len: u64,
    read_only: bool,
    /// The format was probed, not given: refuse writes that would make the
    /// image start with qcow2's magic, so that the next probe cannot take
    /// the guest's bytes for a qcow2 header naming a host file as backing
    /// (QEMU restricts writes to block 0 of a probed raw image likewise).
    guard_probed_header: bool,
    _lock: ImageLock,
}

impl RawImage {
    /// Opens `path` as a raw image, read-only or read-write.
    pub fn open(path: &Path, read_only: bool) -> Result<RawImage, ImageError> {
        RawImage::from_file(path, open_file(path, read_only)?, read_only, false)
    }

    /// Takes `file`, opened from `path` as `read_only` says; `probed` when
    /// nobody said the image is raw.
    pub(super) fn from_file(
        path: &Path,
        mut file: File,
        read_only: bool,
        probed: bool,
    ) -> Result<RawImage, ImageError> {
        let error = |kind| ImageError { path: path.to_path_buf(), kind };
        let lock = ImageLock::acquire(&file, if read_only { Access::READER } else { Access::RAW_WRITER })
            .map_err(|e| error(ImageErrorKind::Locked(e)))?;
        // The end, not the metadata's length: host block devices have one too.
        let len = file.seek(SeekFrom::End(0)).map_err(|e| error(ImageErrorKind::Open(e)))?;
        if len == 0 {
            return Err(error(ImageErrorKind::Empty));
        }
        Ok(RawImage { file, len, read_only, guard_probed_header: probed, _lock: lock })
    }

    /// Whether writing `data` at `offset` would start the image with qcow2's magic.
    fn would_look_like_qcow2(&self, offset: u64, data: &[u8]) -> io::Result<bool> {
        let magic_len = qcow2::MAGIC.len() as u64;
        if offset >= magic_len || self.len < magic_len {
            return Ok(false);
        }
        let mut head = [0; 4];
        self.file.read_exact_at(&mut head, 0)?;
        for (pos, byte) in head.iter_mut().enumerate().skip(offset as usize) {
            if let Some(&new) = data.get(pos - offset as usize) {
                *byte = new;
            }
        }
        Ok(head == qcow2::MAGIC)
    }
}

impl BlockBackend for RawImage {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.file.read_exact_at(buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(read_only_medium());
        }
        check_range(offset, data.len(), self.len)?;
        if self.guard_probed_header && self.would_look_like_qcow2(offset, data)? {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "refusing to write a qcow2 signature at the start of a raw image whose format \
                 was probed (give format=raw to allow it)",
            ));
        }
        self.file.write_all_at(data, offset)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data()
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::image::test_files::TempDir;

    #[test]
    fn reads_writes_and_flushes_at_byte_offsets() {
        let dir = TempDir::new("raw-rw");
        let path = dir.file("disk.raw", &vec![0x11; 8192]);
        let mut disk = RawImage::open(&path, false).unwrap();
        assert_eq!(disk.len(), 8192);
        assert!(!disk.read_only());
        disk.write_at(513, b"vemu").unwrap();
        disk.flush().unwrap();
        let mut buf = [0; 6];
        disk.read_at(512, &mut buf).unwrap();
        assert_eq!(&buf, b"\x11vemu\x11");
        assert!(disk.read_at(8190, &mut buf).is_err(), "reads stop at the end");
        assert!(disk.write_at(u64::MAX, b"x").is_err(), "no overflow past the end");
        drop(disk);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[513..517], b"vemu");
        assert_eq!(on_disk.len(), 8192, "the file keeps its size");
    }

    #[test]
    fn read_only_refuses_writes_and_leaves_the_file_alone() {
        let dir = TempDir::new("raw-ro");
        let path = dir.file("cd.iso", &[7; 2048]);
        let mut disk = RawImage::open(&path, true).unwrap();
        assert!(disk.read_only());
        let err = disk.write_at(0, &[0]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        disk.flush().unwrap();
        let mut b = [0; 1];
        disk.read_at(2047, &mut b).unwrap();
        assert_eq!(b, [7]);
        assert_eq!(std::fs::read(&path).unwrap(), vec![7; 2048]);
    }

    #[test]
    fn empty_missing_and_directory_files_are_errors_naming_the_path() {
        let dir = TempDir::new("raw-bad");
        let empty = dir.file("empty.raw", &[]);
        let err = RawImage::open(&empty, false).unwrap_err();
        assert!(matches!(err.kind, ImageErrorKind::Empty));
        assert_eq!(
            err.to_string(),
            format!("cannot open disk image {}: the image is empty (0 bytes)", empty.display())
        );
        let missing = dir.path().join("missing.raw");
        let err = RawImage::open(&missing, true).unwrap_err();
        assert!(err.to_string().starts_with(&format!("cannot open disk image {}: ", missing.display())));
        assert!(matches!(&err.kind, ImageErrorKind::Open(e) if e.kind() == io::ErrorKind::NotFound));
        let err = RawImage::open(dir.path(), true).unwrap_err();
        assert!(matches!(&err.kind, ImageErrorKind::Open(e) if e.kind() == io::ErrorKind::IsADirectory));
        let err = RawImage::open(dir.path(), false).unwrap_err();
        assert!(matches!(&err.kind, ImageErrorKind::Open(_)), "{err}");
    }

    #[test]
    fn a_probed_raw_image_cannot_be_turned_into_qcow2_by_the_guest() {
        let dir = TempDir::new("raw-probed");
        let path = dir.file("disk.img", &[0; 1024]);
        let mut probed = RawImage::from_file(&path, open_file(&path, false).unwrap(), false, true).unwrap();
        probed.write_at(0, b"QFI").unwrap();
        let err = probed.write_at(3, &[0xfb, 0, 0]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(probed.write_at(0, &qcow2::MAGIC).is_err());
        probed.write_at(0, b"MZ\x90\x00").unwrap();
        drop(probed);
        let mut explicit = RawImage::open(&path, false).unwrap();
        explicit.write_at(0, &qcow2::MAGIC).unwrap();
        let mut head = [0; 4];
        explicit.read_at(0, &mut head).unwrap();
        assert_eq!(head, qcow2::MAGIC);
    }
}
