#!/usr/bin/env python3
"""Generate signature_vectors.json with Twilio's official Python SDK.

The Rust tests in ../signature.rs check Switchboard's signature code against these vectors, so
the expected values come from Twilio's code, never from ours. Regenerate with:

    python3 -m venv /tmp/twvenv && /tmp/twvenv/bin/pip install twilio==9.13.0
    /tmp/twvenv/bin/python crates/twilio/tests/vectors/gen_signature_vectors.py

The script refuses any other twilio version so a regeneration cannot silently change the
reference implementation.
"""

import json
import os
import sys

import twilio
from twilio.request_validator import RequestValidator

REQUIRED_VERSION = "9.13.0"

TOKEN_A = "12345"  # the token of Twilio's documented example
TOKEN_B = "f1e2d3c4b5a69788796a5b4c3d2e1f00"
TOKEN_C = "0123456789abcdef0123456789abcdef"


class MultiDict:
    """Ordered (key, value) pairs with Flask's `getall`, which RequestValidator uses for repeated keys."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def __iter__(self):
        return iter(k for k, _ in self.pairs)

    def __len__(self):
        return len(self.pairs)

    def getall(self, key):
        return [v for k, v in self.pairs if k == key]


VOICE_PARAMS = [
    ("AccountSid", "AC" + "0" * 32),
    ("ApiVersion", "2010-04-01"),
    ("CallSid", "CA" + "a1" * 16),
    ("CallStatus", "ringing"),
    ("Called", "+15005550006"),
    ("Caller", "+14155550100"),
    ("Direction", "inbound"),
    ("From", "+14155550100"),
    ("FromCity", "SAN FRANCISCO"),
    ("To", "+15005550006"),
    ("ToCity", ""),
]

DOC_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675310"),
    ("Digits", "1234"),
    ("From", "+14158675310"),
    ("To", "+18005551212"),
]

# (name, token, url Twilio signed, params)
SIGNATURE_CASES = [
    ("twilio_docs_example", TOKEN_A, "https://mycompany.com/myapp.php?foo=1&bar=2", DOC_PARAMS),
    ("https_no_port_voice", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("https_default_port_voice", TOKEN_B, "https://switchboard.example.com:443/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("http_no_port", TOKEN_C, "http://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("http_default_port", TOKEN_C, "http://switchboard.example.com:80/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("https_nondefault_port", TOKEN_B, "https://switchboard.example.com:8443/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("get_no_params", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/voice?CallSid=CA123&From=%2B14155550100", []),
    ("query_apostrophe_space_percent", TOKEN_B,
     "https://switchboard.example.com/hook?tenant=O'Brien's Barbers&discount=100%&note=a%20b+c", VOICE_PARAMS),
    ("query_percent_encoded", TOKEN_C,
     "https://switchboard.example.com/hook?tenant=O%27Brien%27s%20Barbers&discount=100%25", DOC_PARAMS),
    ("multi_valued_status_callback_event", TOKEN_B, "https://switchboard.example.com/api/calls",
     [("To", "+14155550100"), ("StatusCallbackEvent", "ringing"), ("From", "+15005550006"),
      ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "completed"),
      ("StatusCallbackEvent", "answered"), ("StatusCallbackEvent", "ringing")]),
    ("unicode_values", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/sms",
     [("Body", "Café Zoë 💈 — ¿mañana a las 10? 予約"), ("From", "+447700900123"), ("To", "+15005550006"),
      ("FromCity", "Zürich"), ("NumMedia", "0")]),
    ("empty_values", TOKEN_C, "https://switchboard.example.com/api/webhooks/twilio/voice/gather",
     [("Digits", ""), ("SpeechResult", ""), ("CallSid", "CA" + "b2" * 16), ("Confidence", "")]),
    ("case_and_prefix_ordering", TOKEN_A, "https://switchboard.example.com/x",
     [("a", "lower"), ("B", "upper"), ("To", "1"), ("ToCity", "2"), ("Tó", "3"), ("_", "4")]),
    ("special_chars_in_values", TOKEN_C, "https://switchboard.example.com/x",
     [("Body", "<Say>&amp; \"quotes\" 'single' ]]> \n new line\ttab"), ("Empty", "")]),
    ("userinfo_in_url", TOKEN_B, "https://user:secret@switchboard.example.com/api/webhooks/twilio/voice", DOC_PARAMS),
    ("long_token", "x" * 100, "https://switchboard.example.com/x", DOC_PARAMS),
]

# (name, token, url Twilio signed, url the server reconstructs, params)
VALIDATION_CASES = [
    ("signed_portless_seen_with_443", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/voice",
     "https://switchboard.example.com:443/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("signed_443_seen_portless", TOKEN_B, "https://switchboard.example.com:443/api/webhooks/twilio/voice",
     "https://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("signed_portless_seen_with_80", TOKEN_C, "http://switchboard.example.com/api/webhooks/twilio/voice",
     "http://switchboard.example.com:80/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("signed_80_seen_portless", TOKEN_C, "http://switchboard.example.com:80/api/webhooks/twilio/voice?x=1",
     "http://switchboard.example.com/api/webhooks/twilio/voice?x=1", VOICE_PARAMS),
    ("signed_443_seen_with_443_query", TOKEN_A, "https://mycompany.com:443/myapp.php?foo=1&bar=2",
     "https://mycompany.com:443/myapp.php?foo=1&bar=2", DOC_PARAMS),
    ("signed_8443_seen_8443", TOKEN_B, "https://switchboard.example.com:8443/api/webhooks/twilio/voice",
     "https://switchboard.example.com:8443/api/webhooks/twilio/voice", VOICE_PARAMS),
    # twilio-python strips any port, so it accepts this; Switchboard deliberately does not.
    ("signed_portless_seen_8443", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/voice",
     "https://switchboard.example.com:8443/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("signed_8443_seen_portless", TOKEN_B, "https://switchboard.example.com:8443/api/webhooks/twilio/voice",
     "https://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
    # Twilio signs the raw configured URL; an HTTP stack may deliver `'` as %27. Python rejects,
    # twilio-node accepts through its legacy querystring variant.
    ("signed_raw_apostrophe_seen_encoded", TOKEN_B, "https://switchboard.example.com/hook?tenant=O'Brien&x=a%20b",
     "https://switchboard.example.com/hook?tenant=O%27Brien&x=a%20b", DOC_PARAMS),
    ("signed_http_seen_https", TOKEN_B, "http://switchboard.example.com/api/webhooks/twilio/voice",
     "https://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
    ("signed_other_path", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/sms",
     "https://switchboard.example.com/api/webhooks/twilio/voice", VOICE_PARAMS),
]

# (name, token, url without bodySHA256, JSON body Twilio sent)
BODY_CASES = [
    ("json_event_stream", TOKEN_B, "https://switchboard.example.com/api/webhooks/twilio/events",
     '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}'),
    ("json_unicode_default_port", TOKEN_C, "https://switchboard.example.com:443/api/webhooks/twilio/events?tenant=t1",
     '[{"data":{"body":"Café Zoë 💈"},"type":"com.twilio.messaging.inbound-message.received"}]'),
    ("json_empty_object", TOKEN_A, "http://switchboard.example.com/events", "{}"),
]


def pairs(params):
    return [[k, v] for k, v in params]


def main():
    if twilio.__version__ != REQUIRED_VERSION:
        sys.exit(f"need twilio=={REQUIRED_VERSION}, found {twilio.__version__}")
    print(f"twilio-python {twilio.__version__}")

    out = {"generator": f"twilio-python {twilio.__version__} RequestValidator",
           "signatures": [], "validations": [], "bodies": []}

    for name, token, url, params in SIGNATURE_CASES:
        sig = RequestValidator(token).compute_signature(url, MultiDict(params))
        out["signatures"].append({"name": name, "auth_token": token, "url": url,
                                  "params": pairs(params), "signature": sig})
    # Twilio's documentation publishes this value; if it ever differs, the SDK changed meaning.
    assert out["signatures"][0]["signature"] == "GvWf1cFY/Q7PnoempGyD5oXAezc="

    for name, token, signed, seen, params in VALIDATION_CASES:
        v = RequestValidator(token)
        sig = v.compute_signature(signed, MultiDict(params))
        out["validations"].append({"name": name, "auth_token": token, "signed_url": signed,
                                   "server_url": seen, "params": pairs(params), "signature": sig,
                                   "python_valid": bool(v.validate(seen, MultiDict(params), sig))})

    for name, token, base, body in BODY_CASES:
        v = RequestValidator(token)
        digest = v.compute_hash(body)
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}bodySHA256={digest}"
        sig = v.compute_signature(url, {})
        assert v.validate(url, body, sig)
        out["bodies"].append({"name": name, "auth_token": token, "url": url, "body": body,
                              "body_sha256": digest, "signature": sig})

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "signature_vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(f"wrote {path}: {len(out['signatures'])} signatures, "
          f"{len(out['validations'])} validations, {len(out['bodies'])} bodies")


if __name__ == "__main__":
    main()
