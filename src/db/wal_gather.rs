//! A SQLite VFS for the group-commit writer's own connection that gathers a commit's WAL frames
//! into a few large writes instead of two system calls per frame.
//!
//! Why: SQLite appends each frame to the WAL as two `pwrite`s, its 24-byte header and then its
//! page. Under the webhook benchmark the writer thread made 8.6 of them per webhook, about
//! 150,000 a second, and a quarter of its time was in them: every call takes the inode's lock,
//! updates its times and marks each page it touches dirty again (a 4,120-byte frame straddles two
//! pages). Gathered, the same bytes go in calls of up to 124 KiB (the most the default VFS writes
//! at once), about thirty frames each, and each page is written once.
//!
//! How: it is the platform's default VFS with a different `xOpen`. A WAL file opened through it
//! keeps the bytes written at the end of what is pending in memory, and writes them out before
//! anything could need them on disk:
//! - right after the page of a commit frame (a frame header whose "database size after commit"
//!   field is not zero), which is the last thing SQLite writes before it publishes the commit in
//!   the WAL index, where readers (the pool's connections, the checkpointer) find frames. So no
//!   commit is ever visible before its frames are in the file, and a failed write is reported by
//!   that `xWrite`, so the commit fails as it would have;
//! - before a write that does not continue them, past [`MAX_PENDING`] bytes, and before any read,
//!   sync, truncate, size query, file control or close of the WAL.
//!
//! Nothing else changes: the same bytes reach the same offsets, other files (the database, its
//! shared memory) are the default VFS's own, untouched, and a crash before a commit's frames are
//! written loses only that commit, which nobody was told about (SQLite's recovery reads the WAL
//! up to its last complete commit, as always).
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::ffi;

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub const NAME: &CStr = c"switchboard-wal-gather";

/// Where a WAL file's [`Extra`] starts in the memory SQLite gives it (set by [`register`]).
static EXTRA_AT: AtomicUsize = AtomicUsize::new(0);

/// Pending bytes past which they are written out even mid-commit.
const MAX_PENDING: usize = 1 << 20;

/// The most one call of the default VFS writes: it takes writes of at most 128 KiB - 1 (a page
/// and its frame header at most), so pending bytes go out in pieces of this size, 31 pages each.
const MAX_WRITE: usize = 31 * 4096;

/// A WAL frame header's size; bytes 4..8 are the database size after a commit frame, else 0.
const FRAME_HEADER: usize = 24;

/// Registers the VFS once per process (not as the default). Answers SQLite's error code if the
/// platform has no default VFS to build on.
pub fn register() -> Result<(), c_int> {
    static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS, which lives for the process;
        // the copy made of it is leaked, so it too lives for the process, as SQLite requires of a
        // registered VFS, and is registered once.
        unsafe {
            let inner = ffi::sqlite3_vfs_find(std::ptr::null());
            if inner.is_null() {
                return Err(ffi::SQLITE_ERROR);
            }
            let mut vfs: ffi::sqlite3_vfs = *inner;
            vfs.zName = NAME.as_ptr();
            vfs.pNext = std::ptr::null_mut();
            vfs.pAppData = inner.cast::<c_void>();
            let at = extra_offset((*inner).szOsFile);
            EXTRA_AT.store(at as usize, Ordering::Relaxed);
            vfs.szOsFile = at + std::mem::size_of::<Extra>() as c_int;
            vfs.xOpen = Some(open);
            let vfs = Box::leak(Box::new(vfs));
            match ffi::sqlite3_vfs_register(vfs, 0) {
                ffi::SQLITE_OK => Ok(()),
                rc => Err(rc),
            }
        }
    })
}

/// Where a file's [`Extra`] starts: after the default VFS's own file object, aligned.
fn extra_offset(inner_size: c_int) -> c_int {
    let align = std::mem::align_of::<Extra>() as c_int;
    (inner_size + align - 1) / align * align
}

/// What a gathering WAL file keeps beside the default VFS's file object (in the same allocation).
struct Extra {
    /// The methods SQLite calls on this file: the default VFS's, with the ones below replaced.
    methods: ffi::sqlite3_io_methods,
    /// The default VFS's methods, which do the work.
    inner: *const ffi::sqlite3_io_methods,
    /// Bytes written but not yet in the file, which belong at `at`.
    pending: Vec<u8>,
    at: i64,
    /// The last write was a commit frame's header: write everything out after its page.
    commit_next: bool,
}

/// The [`Extra`] of a file opened by [`open`] as a WAL.
///
/// # Safety
/// `file` must be a WAL file opened by [`open`] and not yet closed.
unsafe fn extra<'f>(file: *mut ffi::sqlite3_file) -> &'f mut Extra {
    // SAFETY: the caller's promise: `file` has an `Extra` at `EXTRA_AT`, written by `open`.
    unsafe {
        &mut *file
            .cast::<u8>()
            .add(EXTRA_AT.load(Ordering::Relaxed))
            .cast::<Extra>()
    }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite calls this with this VFS and `szOsFile` bytes for `file`; the default VFS
    // fills in the start of them and `Extra` goes at `EXTRA_AT`, past it.
    unsafe {
        let inner = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
        let Some(inner_open) = (*inner).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        let rc = inner_open(inner, name, file, flags, out_flags);
        if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 || (*file).pMethods.is_null() {
            return rc;
        }
        let inner_methods = (*file).pMethods;
        let mut methods = *inner_methods;
        methods.xClose = Some(close);
        methods.xRead = Some(read);
        methods.xWrite = Some(write);
        methods.xTruncate = Some(truncate);
        methods.xSync = Some(sync);
        methods.xFileSize = Some(file_size);
        methods.xFileControl = Some(file_control);
        let extra = file
            .cast::<u8>()
            .add(EXTRA_AT.load(Ordering::Relaxed))
            .cast::<Extra>();
        extra.write(Extra {
            methods,
            inner: inner_methods,
            pending: Vec::new(),
            at: 0,
            commit_next: false,
        });
        (*file).pMethods = &(*extra).methods;
        rc
    }
}

/// Writes out what is pending, in pieces of at most [`MAX_WRITE`] bytes. Leaves `commit_next`
/// alone: a commit frame's header that happens to fill the buffer must still have its page
/// written out at once after it.
///
/// # Safety
/// As [`extra`].
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: the caller's promise (a WAL file opened by `open`, not closed).
    unsafe {
        let e = extra(file);
        if e.pending.is_empty() {
            return ffi::SQLITE_OK;
        }
        let Some(inner_write) = (*e.inner).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut rc = ffi::SQLITE_OK;
        let mut at = e.at;
        for chunk in e.pending.chunks(MAX_WRITE) {
            // `chunks` never gives more than `MAX_WRITE` bytes, which fits a `c_int`.
            rc = inner_write(file, chunk.as_ptr().cast(), chunk.len() as c_int, at);
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += chunk.len() as i64;
        }
        e.pending.clear();
        rc
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite calls this only on a WAL file `open` gave these methods, until `close`.
    unsafe {
        let Ok(len) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len);
        let e = extra(file);
        if !e.pending.is_empty() && e.at + e.pending.len() as i64 != offset {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let e = extra(file);
        if e.pending.is_empty() {
            e.at = offset;
        }
        e.pending.extend_from_slice(bytes);
        let commit_page = e.commit_next;
        e.commit_next = len == FRAME_HEADER && bytes[4..8] != [0, 0, 0, 0];
        if commit_page || e.pending.len() >= MAX_PENDING {
            return flush(file);
        }
        ffi::SQLITE_OK
    }
}

/// Writes out what is pending, then runs the default VFS's method.
macro_rules! flush_then {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite calls this with a WAL file this VFS opened.
            unsafe {
                let rc = flush(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match (*extra(file).inner).$method {
                    Some(m) => m(file $(, $arg)*),
                    None => ffi::SQLITE_ERROR,
                }
            }
        }
    };
}

flush_then!(read, xRead, (buf: *mut c_void, amount: c_int, offset: i64));
flush_then!(truncate, xTruncate, (size: i64));
flush_then!(sync, xSync, (flags: c_int));
flush_then!(file_size, xFileSize, (size: *mut i64));
flush_then!(file_control, xFileControl, (op: c_int, arg: *mut c_void));

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls this only on a WAL file `open` gave these methods, until `close`.
    unsafe {
        let flushed = flush(file);
        let extra_ptr: *mut Extra = extra(file);
        let inner_close = (*(*extra_ptr).inner).xClose;
        // The default VFS's own methods from here on; ours live in `Extra`, which goes now.
        (*file).pMethods = (*extra_ptr).inner;
        std::ptr::drop_in_place(extra_ptr);
        let closed = match inner_close {
            Some(m) => m(file),
            None => ffi::SQLITE_OK,
        };
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    /// A connection through the gathering VFS writes while a plain one reads and checkpoints:
    /// every commit must be readable at once, with all its rows, and copy into the database intact.
    #[test]
    fn every_commit_is_in_the_file_before_anyone_can_see_it() {
        register().expect("registered");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gather.db");
        let writer =
            Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), NAME).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB); \
                 CREATE INDEX t_k ON t (k);",
            )
            .unwrap();
        let reader = Connection::open(&path).unwrap();
        let mut expected = 0i64;
        for round in 0..60i64 {
            let tx = writer.unchecked_transaction().unwrap();
            // Rounds of a few rows and rounds of many (past `MAX_PENDING` in one commit).
            let rows = if round % 10 == 9 {
                1_500
            } else {
                1 + round % 7
            };
            for i in 0..rows {
                tx.execute(
                    "INSERT INTO t (k, v) VALUES (?1, zeroblob(3000))",
                    [format!("{:08x}", (round * 7919 + i * 104_729) % 1_000_003)],
                )
                .unwrap();
            }
            tx.commit().unwrap();
            expected += rows;
            let (count, via_index): (i64, i64) = reader
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM t), (SELECT COUNT(*) FROM t INDEXED BY t_k WHERE k >= '')",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!((count, via_index), (expected, expected), "round {round}");
            if round % 5 == 4 {
                // The plain connection copies the WAL into the database (and restarts it at times).
                reader
                    .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
                    .unwrap();
            }
        }
        drop(writer);
        let check: String = reader
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(reader);
        // And a new connection, after both closed, finds everything.
        let again = Connection::open(&path).unwrap();
        let count: i64 = again
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, expected);
    }

    /// What the fake WAL below was asked to write: (offset, length) of each call.
    static WRITTEN: std::sync::Mutex<Vec<(i64, usize)>> = std::sync::Mutex::new(Vec::new());

    unsafe extern "C" fn record_write(
        _file: *mut ffi::sqlite3_file,
        _buf: *const c_void,
        amount: c_int,
        offset: i64,
    ) -> c_int {
        WRITTEN.lock().unwrap().push((offset, amount as usize));
        ffi::SQLITE_OK
    }

    /// A commit frame's header that is itself the write crossing [`MAX_PENDING`] still has its
    /// page written out right after it (SQLite publishes the commit next), and a plain frame's
    /// page does not.
    #[test]
    fn a_commit_page_is_written_out_even_when_its_header_filled_the_buffer() {
        register().expect("registered");
        // A file object as `open` leaves one, over a fake default-VFS file that records writes.
        // SAFETY: `sqlite3_io_methods` is plain data (numbers and optional function pointers), so
        // all zeroes is a valid value: every method absent.
        let mut inner: ffi::sqlite3_io_methods = unsafe { std::mem::zeroed() };
        inner.iVersion = 1;
        inner.xWrite = Some(record_write);
        let at = EXTRA_AT.load(Ordering::Relaxed);
        let words = (at + std::mem::size_of::<Extra>()).div_ceil(8);
        let mut memory = vec![0u64; words];
        let file = memory.as_mut_ptr().cast::<ffi::sqlite3_file>();
        // SAFETY: `memory` is 8-aligned, large enough for `Extra` at `EXTRA_AT`, and outlives
        // every call below; the calls are the ones SQLite makes on a WAL file.
        unsafe {
            file.cast::<u8>().add(at).cast::<Extra>().write(Extra {
                methods: inner,
                inner: &inner,
                pending: Vec::new(),
                at: 0,
                commit_next: false,
            });
            let page = vec![7u8; 4096];
            let plain_header = [0u8; FRAME_HEADER];
            let mut commit_header = [0u8; FRAME_HEADER];
            commit_header[7] = 1; // database size after commit: 1 page
            // Frames until the buffer is one header short of MAX_PENDING.
            let mut offset = 32i64;
            let mut put = |bytes: &[u8]| {
                let rc = write(file, bytes.as_ptr().cast(), bytes.len() as c_int, offset);
                offset += bytes.len() as i64;
                assert_eq!(rc, ffi::SQLITE_OK);
            };
            let filler = vec![0u8; MAX_PENDING - FRAME_HEADER];
            put(&filler[..32]);
            for chunk in filler[32..].chunks(4096) {
                put(chunk);
            }
            assert!(WRITTEN.lock().unwrap().is_empty(), "nothing written yet");
            // The commit header crosses the limit: everything so far goes out.
            put(&commit_header);
            let written_at_header = WRITTEN.lock().unwrap().len();
            assert!(written_at_header > 0);
            // Its page must go out at once, though the buffer was just emptied.
            put(&page);
            assert!(
                extra(file).pending.is_empty(),
                "the commit page is still pending"
            );
            // A plain frame after it stays pending (that is the gathering).
            put(&plain_header);
            put(&page);
            assert_eq!(extra(file).pending.len(), FRAME_HEADER + 4096);
            std::ptr::drop_in_place(file.cast::<u8>().add(at).cast::<Extra>());
        }
    }
}
