//! Snapshot mode (QEMU's `-snapshot`, `snapshot=on`): the guest writes, but
//! nothing reaches the image. [`SnapshotOverlay`] sits on any backend opened
//! read-only and keeps every cluster the guest writes in a temporary file,
//! unlinked as soon as it is created (so it vanishes with vemu, however vemu
//! ends); reads take written clusters from there and the rest from the
//! image. QEMU keeps the same data in a temporary qcow2 file of 64 KiB
//! clusters; the overlay here is a plain file with the map in memory.
//!
//! Which backend lies beneath, and opening it read-only with only a
//! reader's locks, is [`super::open_image`]'s business.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{check_range, BlockBackend};

/// The unit of copy-on-write: a guest write into a cluster not yet in the
/// overlay first copies the whole cluster from the image.
pub const CLUSTER_SIZE: u64 = 64 * 1024;

/// A backend whose writes go to a throw-away file.
pub struct SnapshotOverlay {
    base: Box<dyn BlockBackend>,
    /// The temporary file, already unlinked.
    overlay: File,
    /// Cluster number → where that cluster's bytes are in the overlay file.
    clusters: HashMap<u64, u64>,
    /// The overlay file's end, where the next cluster goes.
    overlay_end: u64,
}

impl SnapshotOverlay {
    /// Puts an overlay on `base`, its file in the system's temporary
    /// directory (`$TMPDIR`). On failure, says which directory and why.
    pub fn new(base: Box<dyn BlockBackend>) -> Result<SnapshotOverlay, (PathBuf, io::Error)> {
        let dir = std::env::temp_dir();
        let overlay = create_unlinked(&dir).map_err(|e| (dir, e))?;
        Ok(SnapshotOverlay { base, overlay, clusters: HashMap::new(), overlay_end: 0 })
    }

    /// The clusters that `len` bytes at `offset` touch, as (cluster number,
    /// offset within the cluster, offset within the access, length).
    fn pieces(offset: u64, len: usize) -> impl Iterator<Item = (u64, u64, usize, usize)> {
        let mut done = 0usize;
        std::iter::from_fn(move || {
            if done == len {
                return None;
            }
            let pos = offset + done as u64;
            let within = pos % CLUSTER_SIZE;
            let n = (CLUSTER_SIZE - within).min((len - done) as u64) as usize;
            let piece = (pos / CLUSTER_SIZE, within, done, n);
            done += n;
            Some(piece)
        })
    }

    /// Copies cluster `cluster` from the image into the overlay file and
    /// returns where it went.
    fn copy_up(&mut self, cluster: u64) -> io::Result<u64> {
        let start = cluster * CLUSTER_SIZE;
        let len = CLUSTER_SIZE.min(self.base.len() - start) as usize;
        let mut bytes = vec![0; len];
        self.base.read_at(start, &mut bytes)?;
        let at = self.overlay_end;
        self.overlay.write_all_at(&bytes, at)?;
        self.overlay_end += CLUSTER_SIZE;
        self.clusters.insert(cluster, at);
        Ok(at)
    }
}

/// Creates a file of our own in `dir` that nobody else can open, and removes
/// its name at once.
fn create_unlinked(dir: &std::path::Path) -> io::Result<File> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("vemu-snapshot-{}-{n}", std::process::id()));
        match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

impl BlockBackend for SnapshotOverlay {
    fn len(&self) -> u64 {
        self.base.len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        for (cluster, within, at, n) in SnapshotOverlay::pieces(offset, buf.len()) {
            let piece = &mut buf[at..at + n];
            match self.clusters.get(&cluster) {
                Some(&stored) => self.overlay.read_exact_at(piece, stored + within)?,
                None => self.base.read_at(offset + at as u64, piece)?,
            }
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        check_range(offset, data.len(), self.len())?;
        for (cluster, within, at, n) in SnapshotOverlay::pieces(offset, data.len()) {
            let stored = match self.clusters.get(&cluster) {
                Some(&stored) => stored,
                None => self.copy_up(cluster)?,
            };
            self.overlay.write_all_at(&data[at..at + n], stored + within)?;
        }
        Ok(())
    }

    /// The guest's writes are to be thrown away: nothing to make durable.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn read_only(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::image::MemBackend;
    use std::os::unix::fs::MetadataExt;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn writes_stay_in_the_overlay_and_reads_merge_them_with_the_image() {
        let len = 3 * CLUSTER_SIZE as usize + 1000;
        let image = pattern(len);
        let base = MemBackend { read_only: true, ..MemBackend::new(image.clone()) };
        let mut disk = SnapshotOverlay::new(Box::new(base)).unwrap();
        assert_eq!(disk.len(), len as u64);
        assert!(!disk.read_only());
        assert_eq!(disk.overlay.metadata().unwrap().nlink(), 0, "the temporary file has no name");

        let mut expected = image.clone();
        let boundary = CLUSTER_SIZE as usize;
        // Across a cluster boundary, into the middle of clusters, and into
        // the short last cluster.
        for (at, fill) in [(boundary - 3, 0xaa), (100, 0xbb), (len - 10, 0xcc), (boundary + 50, 0xdd)] {
            let data = vec![fill; 10];
            disk.write_at(at as u64, &data).unwrap();
            expected[at..at + 10].copy_from_slice(&data);
        }
        disk.flush().unwrap();
        let mut all = vec![0; len];
        disk.read_at(0, &mut all).unwrap();
        assert!(all == expected, "reads see the writes and the image around them");
        let mut piece = [0; 4];
        disk.read_at(boundary as u64 - 2, &mut piece).unwrap();
        assert_eq!(piece, [0xaa; 4]);
        assert!(disk.write_at(len as u64 - 1, &[0; 2]).is_err(), "writes stop at the end");
        assert!(disk.read_at(u64::MAX, &mut piece).is_err());
    }
}
