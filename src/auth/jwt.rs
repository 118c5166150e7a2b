//! Tenant JWTs: HS256 only (the algorithm is pinned, so `none` or RS/HS confusion tokens fail),
//! `exp` required, the tenant id in the `tenantId` claim as seed 000's auth middleware reads it.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(redacted)")
    }
}

/// Why a token was refused; the message is safe to show to the caller.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token expired")]
    Expired,
    #[error("token signed with an unsupported algorithm (HS256 required)")]
    WrongAlgorithm,
    #[error("invalid token")]
    Invalid,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Issues a token for `tenant_id` valid for `ttl_secs` from `now_secs`.
    pub fn issue(&self, tenant_id: &str, now_secs: i64, ttl_secs: i64) -> String {
        let claims = Claims {
            tenant_id: tenant_id.to_string(),
            sub: format!("tenant:{tenant_id}"),
            iat: now_secs,
            exp: now_secs + ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    /// Verifies signature, algorithm and expiry against `now_secs` (no leeway: an expired token is expired).
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, JwtError> {
        // Check the header ourselves first so a wrong algorithm gets its own message.
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(JwtError::WrongAlgorithm);
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_required_spec_claims(&["exp"]);
        // Expiry is checked below against our clock (tests use a manual clock).
        v.validate_exp = false;
        v.leeway = 0;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => JwtError::WrongAlgorithm,
                    _ => JwtError::Invalid,
                }
            })?;
        if data.claims.exp <= now_secs {
            return Err(JwtError::Expired);
        }
        if data.claims.tenant_id.is_empty() {
            return Err(JwtError::Invalid);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn round_trip_and_expiry() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.issue("t1", NOW, 60);
        assert_eq!(k.verify(&t, NOW + 59).unwrap().tenant_id, "t1");
        assert_eq!(k.verify(&t, NOW + 60).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn other_secret_and_tampering_fail() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = JwtKeys::new(b"fedcba9876543210fedcba9876543210");
        let t = other.issue("t1", NOW, 60);
        assert_eq!(k.verify(&t, NOW).unwrap_err(), JwtError::Invalid);
        let mut parts: Vec<String> = k
            .issue("t1", NOW, 60)
            .split('.')
            .map(String::from)
            .collect();
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"tenantId":"t2","sub":"x","iat":{NOW},"exp":{}}}"#,
            NOW + 60
        ));
        assert_eq!(
            k.verify(&parts.join("."), NOW).unwrap_err(),
            JwtError::Invalid
        );
    }

    #[test]
    fn algorithm_is_pinned() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let body = b64(&format!(
            r#"{{"tenantId":"t1","sub":"x","iat":{NOW},"exp":{}}}"#,
            NOW + 60
        ));
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), body);
        assert!(k.verify(&none, NOW).is_err());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &Claims {
                tenant_id: "t1".into(),
                sub: "x".into(),
                iat: NOW,
                exp: NOW + 60,
            },
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(k.verify(&hs512, NOW).unwrap_err(), JwtError::WrongAlgorithm);
    }

    #[test]
    fn exp_is_required() {
        #[derive(Serialize)]
        struct NoExp {
            #[serde(rename = "tenantId")]
            tenant_id: String,
        }
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp {
                tenant_id: "t1".into(),
            },
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(k.verify(&t, NOW).unwrap_err(), JwtError::Invalid);
    }
}
