//! Image locking that QEMU understands, so that two programs never write one
//! image at once (QEMU's `block/file-posix.c`, `locking=auto`).
//!
//! An opener holds some [`Permissions`] on an image and refuses to share some
//! with anyone else. Both are advertised as shared (read) byte-range locks on
//! the image file itself: byte 100+i for held permission i, byte 200+i for
//! permission i not shared. Open-file-description locks (`F_OFD_SETLK`) are
//! used, as QEMU does, so that two opens in one process conflict as two
//! processes would. After taking its own bytes, an opener tests (with an
//! exclusive lock, `F_OFD_GETLK`) that nobody refuses what it holds (bytes
//! 200+i) and that nobody holds what it refuses to share (bytes 100+i).
//!
//! This file owns the protocol and the locks' lifetime ([`ImageLock`]); which
//! permissions a raw or qcow2 opener needs is [`Access`]'s business, as QEMU
//! 7.2 asks for them. It does not open images.

use std::fmt;
use std::fs::File;
use std::io;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

/// The first byte of the held permissions' locks.
const HELD_BASE: i64 = 100;
/// The first byte of the locks of permissions not shared.
const UNSHARED_BASE: i64 = 200;

/// A set of QEMU block-layer permissions (`BLK_PERM_*`); bit i is permission i
/// and its lock bytes are 100+i and 200+i.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permissions(u8);

impl Permissions {
    /// Reading with a consistent view of the contents.
    pub const CONSISTENT_READ: Permissions = Permissions(1 << 0);
    /// Changing the contents.
    pub const WRITE: Permissions = Permissions(1 << 1);
    /// Writing without changing what a reader sees.
    pub const WRITE_UNCHANGED: Permissions = Permissions(1 << 2);
    /// Changing the file's size.
    pub const RESIZE: Permissions = Permissions(1 << 3);
    /// Every permission QEMU 6.2 and later knows (QEMU 6.1 and older also
    /// locked byte 104 and 204, "graph mod"; nobody tests them now).
    pub const ALL: Permissions = Permissions(0x0f);

    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The single permissions in this set, lowest bit first.
    fn each(self) -> impl Iterator<Item = (i64, Permissions)> {
        (0..4).map(|i| (i, Permissions(1 << i))).filter(move |&(_, p)| self.contains(p))
    }

    /// QEMU's name of a single permission (`bdrv_perm_names`).
    fn name(self) -> &'static str {
        match self {
            Permissions::CONSISTENT_READ => "consistent read",
            Permissions::WRITE => "write",
            Permissions::WRITE_UNCHANGED => "write unchanged",
            Permissions::RESIZE => "resize",
            _ => "several",
        }
    }
}

/// What an opener holds on an image and what it refuses others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub held: Permissions,
    pub unshared: Permissions,
}

impl Access {
    /// A read-only user: a CD-ROM, `readonly=on`, a backing file, the base
    /// of `-snapshot`. It reads and lets nobody change the image under it
    /// (QEMU 7.2 locks bytes 100, 201 and 203), so it cannot share an image
    /// with a writer.
    pub const READER: Access = Access {
        held: Permissions::CONSISTENT_READ,
        unshared: Permissions::WRITE.union(Permissions::RESIZE),
    };
    /// A writable raw disk: reads and writes, lets nobody else write
    /// (bytes 100, 101 and 201).
    pub const RAW_WRITER: Access =
        Access { held: Permissions::CONSISTENT_READ.union(Permissions::WRITE), unshared: Permissions::WRITE };
    /// A writable qcow2 image file: it also grows as clusters are allocated,
    /// and lets nobody else write or resize it (bytes 100, 101, 103, 201, 203).
    pub const QCOW2_WRITER: Access = Access {
        held: Permissions::CONSISTENT_READ.union(Permissions::WRITE).union(Permissions::RESIZE),
        unshared: Permissions::WRITE.union(Permissions::RESIZE),
    };
}

/// Why an image could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Someone refuses a permission we hold (QEMU: `Failed to get "write"
    /// lock`), or holds one we refuse to share (`Failed to get shared "write"
    /// lock`).
    Conflict { permission: &'static str, shared: bool },
    /// The file system refused the lock calls themselves.
    Io(io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Conflict { permission, shared } => write!(
                f,
                "failed to get {}\"{permission}\" lock: the image is locked by another process \
                 (is a QEMU or another vemu using it?)",
                if *shared { "shared " } else { "" }
            ),
            LockError::Io(e) => write!(f, "cannot lock the image: {e}"),
        }
    }
}

impl std::error::Error for LockError {}

/// The locks one opener holds on one image file; dropping it releases them.
#[derive(Debug)]
pub struct ImageLock {
    /// A duplicate of the opener's descriptor: the same open file
    /// description, which owns the locks.
    file: File,
}

impl ImageLock {
    /// Takes `access`'s locks on `file` (open for reading) and checks that no
    /// other opener conflicts, as QEMU does when it opens an image.
    pub fn acquire(file: &File, access: Access) -> Result<ImageLock, LockError> {
        let lock = ImageLock { file: file.try_clone().map_err(LockError::Io)? };
        for (i, _) in access.held.each() {
            lock.set(HELD_BASE + i, libc::F_RDLCK)?;
        }
        for (i, _) in access.unshared.each() {
            lock.set(UNSHARED_BASE + i, libc::F_RDLCK)?;
        }
        for (i, p) in access.held.each() {
            if lock.taken_by_others(UNSHARED_BASE + i)? {
                return Err(LockError::Conflict { permission: p.name(), shared: false });
            }
        }
        for (i, p) in access.unshared.each() {
            if lock.taken_by_others(HELD_BASE + i)? {
                return Err(LockError::Conflict { permission: p.name(), shared: true });
            }
        }
        Ok(lock)
    }

    fn set(&self, byte: i64, kind: libc::c_int) -> Result<(), LockError> {
        fcntl_lock(&self.file, LockCmd::Set(&lock_region(byte, kind))).map_err(LockError::Io)
    }

    /// Whether an exclusive lock on `byte` would conflict with someone else's.
    fn taken_by_others(&self, byte: i64) -> Result<bool, LockError> {
        let mut region = lock_region(byte, libc::F_WRLCK);
        fcntl_lock(&self.file, LockCmd::Get(&mut region)).map_err(LockError::Io)?;
        Ok(region.l_type != libc::F_UNLCK as libc::c_short)
    }
}

impl Drop for ImageLock {
    /// Unlocks every byte this opener may have locked: the descriptor is a
    /// duplicate, so closing it alone would not release them while the
    /// image stays open (and a failed `acquire` must give back what it took).
    fn drop(&mut self) {
        for (i, _) in Permissions::ALL.each() {
            let _ = self.set(HELD_BASE + i, libc::F_UNLCK);
            let _ = self.set(UNSHARED_BASE + i, libc::F_UNLCK);
        }
    }
}

/// One byte at `byte` from the start of the file; OFD locks want `l_pid` 0.
fn lock_region(byte: i64, kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: byte,
        l_len: 1,
        l_pid: 0,
    }
}

/// Which lock command to give: set `region`'s lock, or ask whether it would
/// conflict (the kernel then rewrites `region`).
enum LockCmd<'a> {
    Set(&'a libc::flock),
    Get(&'a mut libc::flock),
}

/// Open-file-description locks where the host has them (Linux), else POSIX
/// record locks (QEMU's fallback, which do not conflict within one process).
/// Retried when a signal interrupts the call.
fn fcntl_lock(file: &File, cmd: LockCmd) -> io::Result<()> {
    let ret = match cmd {
        #[cfg(target_os = "linux")]
        LockCmd::Set(r) => retry(|| fcntl(file, FcntlArg::F_OFD_SETLK(r))),
        #[cfg(target_os = "linux")]
        LockCmd::Get(r) => retry(|| fcntl(file, FcntlArg::F_OFD_GETLK(r))),
        #[cfg(not(target_os = "linux"))]
        LockCmd::Set(r) => retry(|| fcntl(file, FcntlArg::F_SETLK(r))),
        #[cfg(not(target_os = "linux"))]
        LockCmd::Get(r) => retry(|| fcntl(file, FcntlArg::F_GETLK(r))),
    };
    ret.map(drop).map_err(io::Error::from)
}

fn retry(mut call: impl FnMut() -> nix::Result<libc::c_int>) -> nix::Result<libc::c_int> {
    loop {
        match call() {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::path::PathBuf;

    fn temp_image(name: &str) -> (PathBuf, File) {
        let path = std::env::temp_dir().join(format!("vemu-lock-{}-{name}", std::process::id()));
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len(4096).unwrap();
        (path, file)
    }

    fn open(path: &PathBuf) -> File {
        File::open(path).unwrap()
    }

    #[test]
    fn two_writers_conflict_and_the_second_may_write_after_the_first_leaves() {
        let (path, file) = temp_image("writers");
        let first = ImageLock::acquire(&file, Access::RAW_WRITER).unwrap();
        let err = ImageLock::acquire(&open(&path), Access::RAW_WRITER).unwrap_err();
        assert!(matches!(err, LockError::Conflict { permission: "write", shared: false }), "{err}");
        assert!(err.to_string().contains("failed to get \"write\" lock"));
        drop(first);
        ImageLock::acquire(&open(&path), Access::QCOW2_WRITER).unwrap();
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn readers_share_but_a_reader_and_a_writer_do_not() {
        let (path, file) = temp_image("readers");
        let a = ImageLock::acquire(&file, Access::READER).unwrap();
        let b = ImageLock::acquire(&open(&path), Access::READER).unwrap();
        let err = ImageLock::acquire(&open(&path), Access::RAW_WRITER).unwrap_err();
        assert!(matches!(err, LockError::Conflict { permission: "write", shared: false }), "{err}");
        drop((a, b));
        let writer = ImageLock::acquire(&open(&path), Access::RAW_WRITER).unwrap();
        let err = ImageLock::acquire(&open(&path), Access::READER).unwrap_err();
        assert!(matches!(err, LockError::Conflict { permission: "write", shared: true }), "{err}");
        drop(writer);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_refused_opener_leaves_no_locks_behind() {
        let (path, file) = temp_image("refused");
        let reader = ImageLock::acquire(&file, Access::READER).unwrap();
        let second = open(&path);
        assert!(ImageLock::acquire(&second, Access::RAW_WRITER).is_err());
        drop(reader);
        // Had the failed writer kept byte 101, this reader would be refused.
        let third = open(&path);
        ImageLock::acquire(&third, Access::READER).unwrap();
        assert!(ImageLock::acquire(&second, Access::READER).is_ok());
        std::fs::remove_file(path).unwrap();
    }
}
