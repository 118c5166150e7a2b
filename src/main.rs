//! The `switchboard` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the system allocator: a webhook allocates and frees many small strings on
/// several threads at once, where glibc's allocator spent about a sixth of the server's time
/// (locking and consolidating its arenas) under the webhook benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option number for its purge delay (`mi_option_purge_delay` in `mimalloc.h`, the same
/// in its v2 and v3), which the `-sys` crate does not name.
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// `mi_option_allow_thp` (mimalloc v3's `mimalloc.h`).
const MI_OPTION_ALLOW_THP: i32 = 43;

fn main() -> std::process::ExitCode {
    // Return freed pages at once: an idle server holds about 24 MB of heap instead of 39, at no
    // cost measurable in the webhook benchmark.
    // No transparent huge pages: mimalloc asks for them on its heap, and where the kernel grants
    // them on request (`madvise` mode, common) each thread's first allocations pin a 2 MiB page.
    // Without them an idle server's heap is about 11 MB instead of 22. mimalloc reads its own
    // option when it starts, before `main`, so the kernel's per-process switch (which also covers
    // mappings made already) is what turns them off; the option keeps later requests consistent.
    // SAFETY: plain setters of process-wide flags, called before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // reqwest is built without a default TLS provider; pick ring once for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    switchboard::cli::main()
}
