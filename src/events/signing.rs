//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
//! keyed with the endpoint secret `whsec_<base64 key>` (the key is the decoded bytes).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A new endpoint secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The HMAC key of a secret: the base64-decoded part after `whsec_` (or the raw bytes of a secret
/// that is not in that form, so operator-chosen secrets still work).
fn key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix("whsec_").map(|b| STANDARD.decode(b)) {
        Some(Ok(k)) => k,
        _ => secret.as_bytes().to_vec(),
    }
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key(secret))
        .expect("HMAC takes any key length");
    mac.update(format!("{msg_id}.{timestamp_secs}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_standard_shape() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(key(&s).len(), 24);
        assert_ne!(new_secret(), s);
    }

    #[test]
    fn signature_covers_id_timestamp_and_body() {
        let s = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let a = sign(
            s,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b"{\"test\": 2432232314}",
        );
        // The Standard Webhooks specification's own example vector.
        assert_eq!(a, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_ne!(a, sign(s, "msg_2", 1614265330, b"{\"test\": 2432232314}"));
        assert_ne!(
            a,
            sign(
                s,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265331,
                b"{\"test\": 2432232314}"
            )
        );
    }
}
