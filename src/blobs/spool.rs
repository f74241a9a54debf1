//! The spool: where an upload's bytes land first, hashed as they arrive, before anyone knows
//! whether they will be kept. Always on local disk, whatever the blob store is, so probing can
//! seek in the bytes and memory does not grow with the upload.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::id::random_alphanumeric;

/// Bytes gathered before one write: big writes keep the per-chunk overhead (thread hand-off,
/// syscalls) small next to the copying itself.
const WRITE_BLOCK: usize = 1024 * 1024;
/// How much is written between hints to the kernel to start writeback.
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

/// The file and hasher, moved to a blocking thread for each write.
struct Sink {
    file: File,
    hasher: blake3::Hasher,
    written: u64,
    writeback_from: u64,
}

impl Sink {
    fn absorb(&mut self, block: &[u8]) -> std::io::Result<()> {
        self.hasher.update(block);
        self.file.write_all(block)?;
        self.written += block.len() as u64;
        if self.written - self.writeback_from >= WRITEBACK_EVERY {
            start_writeback(
                &self.file,
                self.writeback_from,
                self.written - self.writeback_from,
            );
            self.writeback_from = self.written;
        }
        Ok(())
    }
}

/// Asks the kernel to start writing a range to disk now, without waiting. The final fsync then
/// finds most of the file already on its way, instead of a whole upload's worth of dirty pages:
/// the disk works while the network is still delivering.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor we own; it reads no memory of ours. A failure
    // only loses the hint, the fsync before commit still makes the bytes durable.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

type WriteTask = tokio::task::JoinHandle<std::io::Result<(Sink, Vec<u8>)>>;

/// A file being written in the spool directory. Deleted on drop.
///
/// Writes are pipelined: while one block is hashed and written on a blocking thread, the next
/// one is being received into a second buffer.
pub struct SpoolFile {
    path: PathBuf,
    sink: Option<Sink>,
    in_flight: Option<WriteTask>,
    buffer: Vec<u8>,
    len: u64,
    hash: Option<String>,
}

fn task_failed(e: tokio::task::JoinError) -> std::io::Error {
    std::io::Error::other(format!("spool writer task failed: {e}"))
}

impl SpoolFile {
    pub async fn create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(format!("upload-{}", random_alphanumeric(16)));
        let open_path = path.clone();
        let file = tokio::task::spawn_blocking(move || File::create_new(open_path))
            .await
            .map_err(task_failed)??;
        Ok(SpoolFile {
            path,
            sink: Some(Sink {
                file,
                hasher: blake3::Hasher::new(),
                written: 0,
                writeback_from: 0,
            }),
            in_flight: None,
            buffer: Vec::with_capacity(WRITE_BLOCK),
            len: 0,
            hash: None,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.hash.is_some() {
            return Err(std::io::Error::other("spool file already finished"));
        }
        self.len += chunk.len() as u64;
        self.buffer.extend_from_slice(chunk);
        if self.buffer.len() >= WRITE_BLOCK {
            self.flush_buffer().await?;
        }
        Ok(())
    }

    /// Waits for the block being written, getting the sink and its buffer back.
    async fn settle(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let Some(task) = self.in_flight.take() else {
            return Ok(None);
        };
        let (sink, mut spare) = task.await.map_err(task_failed)??;
        spare.clear();
        self.sink = Some(sink);
        Ok(Some(spare))
    }

    async fn flush_buffer(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let spare = self.settle().await?;
        let mut sink = self
            .sink
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier spool write failed"))?;
        let next = spare.unwrap_or_else(|| Vec::with_capacity(WRITE_BLOCK));
        let block = std::mem::replace(&mut self.buffer, next);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            sink.absorb(&block).map(|()| (sink, block))
        }));
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes what is buffered; returns the BLAKE3 hash of everything written. The file stays
    /// open for `make_durable`.
    pub async fn finish(&mut self) -> std::io::Result<String> {
        if let Some(hash) = &self.hash {
            return Ok(hash.clone());
        }
        self.flush_buffer().await?;
        self.settle().await?;
        let sink = self
            .sink
            .as_ref()
            .ok_or_else(|| std::io::Error::other("an earlier spool write failed"))?;
        let hash = sink.hasher.finalize().to_hex().to_string();
        self.buffer = Vec::new();
        self.hash = Some(hash.clone());
        Ok(hash)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        // Whatever happened, the spool copy is not needed any more: a kept upload was linked
        // (or copied) into the blob store, a failed one must leave nothing behind.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Empties the spool directory at startup: anything there belongs to an upload that died with
/// the previous process.
pub fn clear_spool(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_bytes_match_what_was_written_in_any_chunking() {
        let dir = std::env::temp_dir().join(format!("kura-spool-{}", random_alphanumeric(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..3 * WRITE_BLOCK + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        for chunk in [1, 4096, 65536, WRITE_BLOCK + 1] {
            let mut spool = SpoolFile::create(&dir).await.unwrap();
            for piece in data.chunks(chunk.min(data.len())) {
                spool.write(piece).await.unwrap();
            }
            let hash = spool.finish().await.unwrap();
            assert_eq!(hash, blake3::hash(&data).to_hex().to_string());
            assert_eq!(spool.len(), data.len() as u64);
            assert_eq!(std::fs::read(spool.path()).unwrap(), data);
            let path = spool.path().to_owned();
            drop(spool);
            assert!(!path.exists(), "spool file removed on drop");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
