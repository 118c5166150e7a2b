//! Checks `switchboard_twilio::signature` against vectors produced by Twilio's own Python SDK
//! (`tests/vectors/gen_signature_vectors.py`, twilio 9.13.0), then against tampering.

use serde::Deserialize;
use switchboard_twilio::signature::{
    SignatureError, body_sha256_hex, compute_signature, sign_form, validate, validate_with_body,
};

#[derive(Deserialize)]
struct Vectors {
    generator: String,
    signatures: Vec<SignatureVector>,
    validations: Vec<ValidationVector>,
    bodies: Vec<BodyVector>,
}

#[derive(Deserialize)]
struct SignatureVector {
    name: String,
    auth_token: String,
    url: String,
    params: Vec<(String, String)>,
    signature: String,
}

#[derive(Deserialize)]
struct ValidationVector {
    name: String,
    auth_token: String,
    signed_url: String,
    server_url: String,
    params: Vec<(String, String)>,
    signature: String,
    python_valid: bool,
}

#[derive(Deserialize)]
struct BodyVector {
    name: String,
    auth_token: String,
    url: String,
    body: String,
    body_sha256: String,
    signature: String,
}

fn vectors() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/signature_vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read signature_vectors.json");
    let v: Vectors = serde_json::from_str(&text).expect("parse signature_vectors.json");
    assert!(
        v.generator.contains("twilio-python 9.13.0"),
        "{}",
        v.generator
    );
    assert!(v.signatures.len() >= 10 && v.validations.len() >= 8 && !v.bodies.is_empty());
    v
}

/// Where Switchboard deliberately answers differently from twilio-python, and why.
fn switchboard_deviation(name: &str) -> Option<bool> {
    match name {
        // twilio-python strips any port; Switchboard only adds/removes the default one.
        "signed_portless_seen_8443" => Some(false),
        // twilio-python has no re-encoded query variant; twilio-node's legacy querystring
        // variant accepts `'` delivered as %27, and so does Switchboard.
        "signed_raw_apostrophe_seen_encoded" => Some(true),
        _ => None,
    }
}

fn flip_one_char(sig: &str) -> String {
    let mut bytes = sig.as_bytes().to_vec();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn compute_signature_reproduces_twilio_python() {
    for v in vectors().signatures {
        assert_eq!(
            compute_signature(&v.auth_token, &v.url, &v.params),
            v.signature,
            "vector {}",
            v.name
        );
        assert_eq!(
            sign_form(&v.auth_token, &v.url, &v.params),
            v.signature,
            "sign_form for vector {}",
            v.name
        );
    }
}

#[test]
fn validate_accepts_every_signature_vector() {
    for v in vectors().signatures {
        assert_eq!(
            validate(&v.auth_token, &v.url, &v.params, Some(&v.signature)),
            Ok(()),
            "vector {}",
            v.name
        );
    }
}

#[test]
fn parameter_order_does_not_matter() {
    for v in vectors().signatures {
        let mut reversed = v.params.clone();
        reversed.reverse();
        assert_eq!(
            validate(&v.auth_token, &v.url, &reversed, Some(&v.signature)),
            Ok(()),
            "vector {}",
            v.name
        );
    }
}

#[test]
fn url_variants_agree_with_twilio_python_except_documented_deviations() {
    let vs = vectors();
    for name in [
        "signed_portless_seen_8443",
        "signed_raw_apostrophe_seen_encoded",
    ] {
        assert!(
            vs.validations.iter().any(|v| v.name == name),
            "deviation {name} must have a vector"
        );
    }
    for v in vs.validations {
        assert_eq!(
            compute_signature(&v.auth_token, &v.signed_url, &v.params),
            v.signature,
            "signature of {}",
            v.name
        );
        let expected = switchboard_deviation(&v.name).unwrap_or(v.python_valid);
        let got = validate(&v.auth_token, &v.server_url, &v.params, Some(&v.signature));
        if expected {
            assert_eq!(got, Ok(()), "{} should be accepted", v.name);
        } else {
            assert_eq!(
                got,
                Err(SignatureError::Mismatch),
                "{} should be rejected",
                v.name
            );
        }
    }
}

#[test]
fn default_port_added_and_removed_both_ways() {
    // The same guarantee as the vectors above, spelled out for the case that matters in
    // production: Twilio signs one spelling, the server reconstructs the other.
    let vs = vectors();
    let by_name = |n: &str| vs.validations.iter().find(|v| v.name == n).unwrap();
    for n in [
        "signed_portless_seen_with_443",
        "signed_443_seen_portless",
        "signed_portless_seen_with_80",
        "signed_80_seen_portless",
    ] {
        let v = by_name(n);
        assert!(v.python_valid, "twilio-python accepts {n}");
        assert_eq!(
            validate(&v.auth_token, &v.server_url, &v.params, Some(&v.signature)),
            Ok(()),
            "{n}"
        );
    }
}

#[test]
fn tampering_is_rejected() {
    for v in vectors().signatures {
        let sig = Some(v.signature.as_str());
        let name = &v.name;
        let mismatch = Err(SignatureError::Mismatch);

        if let Some(i) = v.params.iter().position(|(_, val)| !val.is_empty()) {
            let mut tampered = v.params.clone();
            tampered[i].1.push('9');
            assert_eq!(
                validate(&v.auth_token, &v.url, &tampered, sig),
                mismatch,
                "tampered value, {name}"
            );
        }

        let mut extra = v.params.clone();
        extra.push(("Injected".into(), "1".into()));
        assert_eq!(
            validate(&v.auth_token, &v.url, &extra, sig),
            mismatch,
            "extra param, {name}"
        );

        if !v.params.is_empty() {
            let fewer = v.params[1..].to_vec();
            assert_eq!(
                validate(&v.auth_token, &v.url, &fewer, sig),
                mismatch,
                "dropped param, {name}"
            );
        }

        let authority_end = v.url[8..].find('/').expect("vector URLs have a path") + 8;
        let other_path = format!(
            "{}/evil{}",
            &v.url[..authority_end],
            &v.url[authority_end..]
        );
        assert_eq!(
            validate(&v.auth_token, &other_path, &v.params, sig),
            mismatch,
            "changed path, {name}"
        );

        let wrong_token = format!("{}0", v.auth_token);
        assert_eq!(
            validate(&wrong_token, &v.url, &v.params, sig),
            mismatch,
            "wrong token, {name}"
        );

        assert_eq!(
            validate(
                &v.auth_token,
                &v.url,
                &v.params,
                Some(&flip_one_char(&v.signature))
            ),
            mismatch,
            "flipped signature, {name}"
        );

        assert_eq!(
            validate(&v.auth_token, &v.url, &v.params, None),
            Err(SignatureError::Missing),
            "missing header, {name}"
        );
    }
}

#[test]
fn garbage_signatures_are_mismatches() {
    let v = &vectors().signatures[0];
    for sig in [
        "",
        "not base64!",
        "AAAA",
        &v.signature[..v.signature.len() - 1],
    ] {
        assert_eq!(
            validate(&v.auth_token, &v.url, &v.params, Some(sig)),
            Err(SignatureError::Mismatch),
            "{sig:?}"
        );
    }
}

#[test]
fn dropping_one_value_of_a_repeated_key_is_rejected() {
    let vs = vectors();
    let v = vs
        .signatures
        .iter()
        .find(|v| v.name == "multi_valued_status_callback_event")
        .unwrap();
    let without_answered: Vec<_> = v
        .params
        .iter()
        .filter(|(_, val)| val != "answered")
        .cloned()
        .collect();
    assert_eq!(
        validate(&v.auth_token, &v.url, &without_answered, Some(&v.signature)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn malformed_url_is_reported_not_panicked() {
    let v = &vectors().signatures[0];
    assert!(matches!(
        validate(
            &v.auth_token,
            "mycompany.com/myapp.php",
            &v.params,
            Some(&v.signature)
        ),
        Err(SignatureError::MalformedUrl(_))
    ));
}

#[test]
fn json_body_vectors_validate() {
    for v in vectors().bodies {
        assert_eq!(
            body_sha256_hex(v.body.as_bytes()),
            v.body_sha256,
            "{}",
            v.name
        );
        assert_eq!(
            compute_signature(&v.auth_token, &v.url, &[]),
            v.signature,
            "{}",
            v.name
        );
        assert_eq!(
            validate_with_body(&v.auth_token, &v.url, v.body.as_bytes(), Some(&v.signature)),
            Ok(()),
            "{}",
            v.name
        );
    }
}

#[test]
fn json_body_tampering_is_rejected() {
    for v in vectors().bodies {
        let name = &v.name;
        let sig = Some(v.signature.as_str());
        let changed_body = format!("{} ", v.body);
        assert_eq!(
            validate_with_body(&v.auth_token, &v.url, changed_body.as_bytes(), sig),
            Err(SignatureError::BodyHashMismatch),
            "changed body, {name}"
        );
        // An attacker who also rewrites bodySHA256 to match their body breaks the URL signature.
        let forged_url = v
            .url
            .replace(&v.body_sha256, &body_sha256_hex(changed_body.as_bytes()));
        assert_eq!(
            validate_with_body(&v.auth_token, &forged_url, changed_body.as_bytes(), sig),
            Err(SignatureError::Mismatch),
            "rewritten bodySHA256, {name}"
        );
        let no_hash = v
            .url
            .replace(&format!("bodySHA256={}", v.body_sha256), "x=1");
        assert_eq!(
            validate_with_body(&v.auth_token, &no_hash, v.body.as_bytes(), sig),
            Err(SignatureError::MissingBodyHash),
            "no bodySHA256, {name}"
        );
        assert_eq!(
            validate_with_body(&v.auth_token, &v.url, v.body.as_bytes(), None),
            Err(SignatureError::Missing),
            "missing header, {name}"
        );
        assert_eq!(
            validate_with_body(
                &v.auth_token,
                &v.url,
                v.body.as_bytes(),
                Some(&flip_one_char(&v.signature))
            ),
            Err(SignatureError::Mismatch),
            "flipped signature, {name}"
        );
    }
}

#[test]
fn json_body_accepts_default_port_twin() {
    let vs = vectors();
    let v = vs
        .bodies
        .iter()
        .find(|v| v.url.contains(":443/"))
        .expect("a vector signed with :443");
    let portless = v.url.replace(":443/", "/");
    assert_eq!(
        validate_with_body(
            &v.auth_token,
            &portless,
            v.body.as_bytes(),
            Some(&v.signature)
        ),
        Ok(())
    );
}

#[test]
fn error_messages_are_loggable() {
    assert_eq!(
        SignatureError::Missing.to_string(),
        "X-Twilio-Signature header is missing"
    );
    assert!(
        SignatureError::MalformedUrl("no scheme".into())
            .to_string()
            .contains("no scheme")
    );
}
