//! The `switchboard` binary: everything lives in the library; this only hands over to the CLI.

/// mimalloc instead of the system allocator: a webhook allocates and frees many small strings on
/// several threads at once, where glibc's allocator spent about a sixth of the server's time
/// (locking and consolidating its arenas) under the webhook benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // reqwest is built without a default TLS provider; pick ring once for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    switchboard::cli::main()
}
