//! Tenant API keys: `sbk_<prefix>_<secret>`. The prefix (public, unique) finds the row; the SHA-256
//! of the whole key is what is stored and compared, in constant time. A random 32-byte secret needs
//! no slow hash: there is nothing to brute-force.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "sbk_";

/// A freshly generated key: `plaintext` is shown once, only `prefix` and `hash` are stored.
pub struct GeneratedKey {
    pub plaintext: String,
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> GeneratedKey {
    let mut rng = rand::rng();
    let mut prefix_bytes = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut prefix_bytes);
    rng.fill_bytes(&mut secret);
    let prefix = hex::encode(prefix_bytes);
    let plaintext = format!(
        "{KEY_PREFIX}{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let hash = hash(&plaintext);
    GeneratedKey {
        plaintext,
        prefix,
        hash,
    }
}

pub fn hash(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// The prefix of a well-formed key, or None for anything that is not one of ours.
pub fn prefix_of(plaintext: &str) -> Option<&str> {
    let rest = plaintext.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && prefix.chars().all(|c| c.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some(prefix)
}

pub fn matches(plaintext: &str, stored_hash: &str) -> bool {
    hash(plaintext)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(prefix_of(&a.plaintext), Some(a.prefix.as_str()));
        assert!(matches(&a.plaintext, &a.hash));
        assert!(!matches(&b.plaintext, &a.hash));
        assert!(!a.hash.contains(&a.plaintext));
    }

    #[test]
    fn foreign_strings_have_no_prefix() {
        assert_eq!(prefix_of("eyJhbGciOi.x.y"), None);
        assert_eq!(prefix_of("sbk_short_x"), None);
        assert_eq!(prefix_of("sbk_0123456789ab_"), None);
    }
}
