//! The `switchboard` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the system allocator: a webhook allocates and frees many small strings on
/// several threads at once, where glibc's allocator spent about a sixth of the server's time
/// (locking and consolidating its arenas) under the webhook benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` (`mimalloc.h`, v2 and v3).
const MI_OPTION_ARENA_EAGER_COMMIT: i32 = 4;

/// mimalloc's option number for its purge delay (`mi_option_purge_delay` in `mimalloc.h`, the same
/// in its v2 and v3), which the `-sys` crate does not name.
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// `mi_option_allow_thp` (mimalloc v3's `mimalloc.h`; the `-sys` crate builds v3).
const MI_OPTION_ALLOW_THP: i32 = 43;

/// Sets mimalloc's options before its first allocation, which happens before `main` (the Rust
/// runtime allocates while it starts): mimalloc reads an option once, and an arena reserved with
/// the defaults keeps them. Run from the ELF constructor list at a priority ahead of every
/// unprioritised constructor, mimalloc's own included.
///
/// - Freed pages go back at once: an idle server holds about 24 MB of heap instead of 39. Under
///   the webhook load each return is an `madvise` with a TLB shoot-down on the other core (about
///   3 % of the HTTP threads' time), but a delay of 100 ms left about 2 MB more resident at idle
///   (pages freed after start-up's forced collection waited for allocator activity that an idle
///   server never has), which took an idle server past 30 MB.
/// - Arenas are committed as they are used, not all at once: on Linux mimalloc otherwise commits a
///   new arena eagerly, and about 2 MB of an idle server's heap stayed resident (idle RSS of the
///   webhook benchmark's server 31.5 → 29.5 MB; its throughput the same).
/// - No transparent huge pages: mimalloc asks for them on its heap, and where the kernel grants
///   them on request (`madvise` mode, common) each thread's first allocations pin a 2 MiB page.
///   Without them an idle server's heap is about 11 MB instead of 22. The kernel's per-process
///   switch also covers mappings made by anything else.
extern "C" fn set_allocator_options() {
    // SAFETY: plain setters of process-wide flags, called before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// The constructor entry for [`set_allocator_options`]; priority 101 is the first one that is not
/// reserved for the C runtime.
#[cfg(target_os = "linux")]
#[used]
#[allow(unsafe_code)]
#[unsafe(link_section = ".init_array.00101")]
static SET_ALLOCATOR_OPTIONS: extern "C" fn() = set_allocator_options;

fn main() -> std::process::ExitCode {
    // Elsewhere there is no constructor list to run from: set the options here, late but still
    // before any thread starts.
    #[cfg(not(target_os = "linux"))]
    set_allocator_options();
    // reqwest is built without a default TLS provider; pick ring once for the whole process.
    switchboard_twilio::tls::ensure_crypto_provider();
    switchboard::cli::main()
}
