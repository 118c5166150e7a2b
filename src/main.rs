//! The `switchboard` binary: everything lives in the library; this only hands over to the CLI.

fn main() -> std::process::ExitCode {
    // reqwest is built without a default TLS provider; pick ring once for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    switchboard::cli::main()
}
