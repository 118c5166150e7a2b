//! The `switchboard` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the system allocator: a webhook allocates and frees many small strings on
/// several threads at once, where glibc's allocator spent about a sixth of the server's time
/// (locking and consolidating its arenas) under the webhook benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option number for its purge delay (`mi_option_purge_delay` in `mimalloc.h`, the same
/// in its v2 and v3), which the `-sys` crate does not name.
const MI_OPTION_PURGE_DELAY: i32 = 15;

fn main() -> std::process::ExitCode {
    // Return freed pages at once: an idle server holds about 24 MB of heap instead of 39, at no
    // cost measurable in the webhook benchmark. (Options read when mimalloc starts, such as eager
    // arena commit, can only be set by environment variables before the process starts.)
    // SAFETY: a plain setter of mimalloc's global options, called before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
    // reqwest is built without a default TLS provider; pick ring once for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    switchboard::cli::main()
}
