//! The TLS set-up every HTTP client of the process shares.
//!
//! reqwest is built without a crypto provider (`rustls-no-provider`), and left to itself each
//! `reqwest::Client` reads and parses the platform's root certificates into a store of its own:
//! about 80 KB of heap per client, for the life of the process, and a directory of files read at
//! start-up each time. Switchboard's server holds seven (Twilio's REST API, the sandbox's webhooks,
//! two relays, lookups, AI, media) and the simulator one more, so every one of them starts from
//! [`client_builder`], whose TLS configuration (verifier, root store, session cache) is built once
//! and shared. Verification is the same as reqwest's own: the platform verifier with the
//! platform's roots.

use std::sync::OnceLock;

use rustls_platform_verifier::BuilderVerifierExt;

/// Installs rustls' ring provider as the process default when none is installed yet: reqwest
/// panics when it builds a client without one. The binary installs it at start; doing it here too
/// keeps tests and other embedders from having to know.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The process's one TLS client configuration, or why it could not be built (the message of the
/// first attempt; every later call returns the same).
fn shared_config() -> Result<&'static rustls::ClientConfig, &'static str> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            ensure_crypto_provider();
            let provider = rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .ok_or_else(|| "no rustls crypto provider is installed".to_string())?;
            Ok(rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS protocol versions: {e}"))?
                .with_platform_verifier()
                .map_err(|e| format!("the platform's certificate verifier: {e}"))?
                .with_no_client_auth())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// A `reqwest::ClientBuilder` whose clients use the shared TLS configuration. Fails only when the
/// platform's verifier cannot be built at all (then reqwest's own set-up would fail the same way).
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    let config = shared_config()?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::io::{Read, Write};
    use std::sync::Arc;

    /// A self-signed certificate for `localhost` (P-256, valid 2026–2126) and its key, made for
    /// this test with `openssl req -x509`. No platform trusts it.
    const SELF_SIGNED_CERT: &str = "MIIBljCCATugAwIBAgIUNUulGVx8XkdXFWlafr7pQJk7tiQwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNDE5MTMzOVoYDzIxMjYxMTEwMTkxMzM5WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARTqtxlaDLo9Jbyvg9992JQtzD6/Ww3Gw7Xe2EOM5falVVw3XCcz0xxoSu57CCKT5uK1frI+dxEZrS0DxF4oEK4o2kwZzAdBgNVHQ4EFgQUb3D3mLHOPwwggqk2HgXJxKKKw18wHwYDVR0jBBgwFoAUb3D3mLHOPwwggqk2HgXJxKKKw18wDwYDVR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwIDSQAwRgIhAOfKUtYl/s+mDbFIZs6l8a4CyWZ3mnaUVe256WBGiIthAiEAr+Ymd3td9HZJkGJ2wqG2EA72UDTWdRJcq7w0eqgoz6s=";
    const SELF_SIGNED_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLvUUrPx3pDIX/ba2TJ9R+Jux8L1GNFY0X+n2KVq6YZShRANCAARTqtxlaDLo9Jbyvg9992JQtzD6/Ww3Gw7Xe2EOM5falVVw3XCcz0xxoSu57CCKT5uK1frI+dxEZrS0DxF4oEK4";

    /// A TLS server on 127.0.0.1 presenting the self-signed certificate; it answers each request
    /// it can read with `200 ok`. Returns its port.
    fn self_signed_server() -> u16 {
        let b64 = base64::engine::general_purpose::STANDARD;
        let cert = rustls::pki_types::CertificateDer::from(b64.decode(SELF_SIGNED_CERT).unwrap());
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(b64.decode(SELF_SIGNED_KEY).unwrap().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 4096];
                // A client that refuses the certificate ends the handshake: the read fails.
                if matches!(tls.read(&mut buf), Ok(n) if n > 0) {
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                    let _ = tls.flush();
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn clients_on_the_shared_configuration_refuse_a_certificate_no_platform_trusts() {
        let port = self_signed_server();
        let url = format!("https://localhost:{port}/");
        // The server works: a client told to accept any certificate gets its answer.
        ensure_crypto_provider();
        let lax = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        assert_eq!(
            lax.get(&url).send().await.unwrap().text().await.unwrap(),
            "ok"
        );
        // Every client built on the shared configuration verifies the peer, each one alike.
        for _ in 0..2 {
            let client = client_builder().unwrap().build().unwrap();
            let err = client
                .get(&url)
                .send()
                .await
                .expect_err("an untrusted certificate is refused");
            let mut chain = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(e) = source {
                chain.push_str(&format!(" / {e}"));
                source = e.source();
            }
            assert!(
                chain.contains("certificate"),
                "refused for another reason: {chain}"
            );
        }
    }
}
