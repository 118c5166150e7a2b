//! Where recording media is kept: behind [`MediaStore`], so a bucket or another back-end can replace
//! the local directory later without touching the job or the API. Keys are
//! `{tenant_id}/{RecordingSid}.wav`; the local store maps them under `RECORDINGS_DIR`.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use futures::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::config::Config;

/// A stream of media bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there. A reader never sees a half-written object.
    async fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    /// The object's length, `None` when there is no such object.
    async fn len(&self, key: &str) -> io::Result<Option<u64>>;
    /// Bytes `start..=end` of the object, streamed.
    async fn read(&self, key: &str, start: u64, end: u64) -> io::Result<ByteStream>;
    /// The whole object in memory (for uploads to a transcription API).
    async fn read_all(&self, key: &str) -> io::Result<Vec<u8>>;
}

/// The configured store (today always the local directory `RECORDINGS_DIR`).
pub fn from_config(config: &Config) -> Arc<dyn MediaStore> {
    Arc::new(LocalDir::new(config.recordings.dir.clone()))
}

/// The key of a recording's WAV media.
pub fn wav_key(tenant_id: &str, recording_sid: &str) -> String {
    format!("{tenant_id}/{recording_sid}.wav")
}

/// Keys are built from ids and SIDs, but a key is turned into a path only when every segment is
/// plain letters, digits, `-`, `_` and one dot: nothing can climb out of the directory.
fn safe_key(key: &str) -> io::Result<&str> {
    let ok = !key.is_empty()
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg.matches('.').count() <= 1
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(key)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe storage key {key:?}"),
        ))
    }
}

/// Media in a local directory.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        Ok(self.root.join(safe_key(key)?))
    }
}

const CHUNK: usize = 64 * 1024;

#[async_trait::async_trait]
impl MediaStore for LocalDir {
    async fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // Write beside, then rename: a download that dies half-way leaves no truncated recording.
        let tmp = tmp_path(&path);
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }

    async fn len(&self, key: &str) -> io::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, key: &str, start: u64, end: u64) -> io::Result<ByteStream> {
        let mut file = tokio::fs::File::open(self.path(key)?).await?;
        file.seek(io::SeekFrom::Start(start)).await?;
        let remaining = end.saturating_sub(start) + 1;
        let stream =
            futures::stream::try_unfold((file, remaining), |(mut file, left)| async move {
                if left == 0 {
                    return Ok(None);
                }
                let mut buf = vec![0u8; CHUNK.min(left as usize)];
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    // The file shrank under us: end the body rather than loop.
                    return Ok(None);
                }
                buf.truncate(n);
                Ok(Some((Bytes::from(buf), (file, left - n as u64))))
            });
        Ok(Box::pin(stream))
    }

    async fn read_all(&self, key: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.path(key)?).await
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.part", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[test]
    fn keys_cannot_leave_the_directory() {
        assert!(safe_key("t1/RE123.wav").is_ok());
        for bad in [
            "../x.wav",
            "t1/../../etc/passwd",
            "/abs.wav",
            "t1//x",
            "t1/.hidden",
            "a/b.c.d",
            "",
        ] {
            assert!(safe_key(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn local_dir_stores_and_reads_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDir::new(dir.path());
        let key = wav_key("tenant-1", "RE0001");
        assert_eq!(store.len(&key).await.unwrap(), None);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        store.put(&key, &data).await.unwrap();
        assert_eq!(store.len(&key).await.unwrap(), Some(200_000));
        let part: Vec<Bytes> = store
            .read(&key, 70_000, 140_000)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let part: Vec<u8> = part.concat();
        assert_eq!(part, data[70_000..=140_000]);
        assert_eq!(store.read_all(&key).await.unwrap(), data);
        // Nothing but the object is left behind (no temporary files).
        let names: Vec<_> = std::fs::read_dir(dir.path().join("tenant-1"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 1);
    }
}
