#!/usr/bin/env python3
"""Twilio's official Python SDK (pinned: twilio==9.13.0) against the Switchboard sandbox.

An independent check that the sandbox speaks Twilio's dialect: if the SDK can send, fetch, list
(following next_page_uri), search numbers, buy/update/release one, place a call and read
Twilio-style errors, real clients will too.

Usage: sdk_against_sandbox.py <base_url> <account_sid> <auth_token>
Exits 0 when every check passes, 1 on any mismatch, 2 on bad usage or a missing SDK.

Pointing the SDK at the sandbox: every Api v2010 request URL is built by
`twilio.base.domain.Domain.absolute_url` from the domain's `base_url` attribute
("https://api.twilio.com" by default), so setting `client.api.base_url` redirects the Api
domain, list paging included (`Page.next_page_url` also goes through `absolute_url`).
"""

import datetime
import sys
import time

PINNED = "9.13.0"

failures = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        failures.append(what)


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    base_url, account_sid, auth_token = argv[1:4]
    try:
        import twilio
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client
    except ImportError as e:
        print(f"twilio SDK not importable ({e}); pip install twilio=={PINNED}")
        return 2
    if twilio.__version__ != PINNED:
        print(f"warning: twilio {twilio.__version__} installed, checks were written for {PINNED}")

    client = Client(account_sid, auth_token)
    client.api.base_url = base_url

    to = "+14155550123"
    sender = "+15005550006"

    # Send, then fetch.
    msg = client.messages.create(to=to, from_=sender, body="Hello from twilio-python")
    check(msg.sid.startswith("SM") and len(msg.sid) == 34, f"message sid {msg.sid}")
    check(msg.status == "queued", f"message status {msg.status}")
    check(msg.direction == "outbound-api", f"message direction {msg.direction}")
    check(msg.num_segments == "1", f"num_segments {msg.num_segments!r}")
    check(isinstance(msg.date_created, datetime.datetime), f"date_created parsed: {msg.date_created!r}")
    check(msg.account_sid == account_sid, "message account_sid")

    fetched = client.messages(msg.sid).fetch()
    check(fetched.sid == msg.sid and fetched.body == "Hello from twilio-python", "fetch message")
    check(fetched.to == to, "fetched to")

    # List with a small page size: the SDK must follow next_page_uri through the sandbox.
    for i in range(4):
        client.messages.create(to=to, from_=sender, body=f"page test {i}")
    listed = client.messages.list(to=to, page_size=2)
    sids = [m.sid for m in listed]
    check(len(listed) == 5, f"list across pages returned {len(listed)} of 5")
    check(msg.sid in sids, "listed messages include the first one")
    check(len(set(sids)) == len(sids), "no message listed twice")
    others = client.messages.list(to="+14155559999")
    check(others == [], "To filter excludes other recipients")

    # Twilio-style errors surface as TwilioRestException with Twilio's code.
    try:
        client.messages.create(to="+15005550001", from_=sender, body="x")
        check(False, "magic To +15005550001 must fail")
    except TwilioRestException as e:
        check(e.status == 400 and e.code == 21211, f"magic To error {e.status}/{e.code}")

    try:
        bad = Client(account_sid, "not-the-token")
        bad.api.base_url = base_url
        bad.messages(msg.sid).fetch()
        check(False, "wrong token must fail")
    except TwilioRestException as e:
        check(e.status == 401 and e.code == 20003, f"auth error {e.status}/{e.code}")

    # Search numbers.
    local = client.available_phone_numbers("US").local.list(area_code=415, limit=5)
    check(len(local) == 5, f"local search returned {len(local)}")
    check(all(n.phone_number.startswith("+1415") for n in local), "numbers are in area 415")
    check(
        all(n.friendly_name.startswith("(415) ") for n in local),
        f"friendly names like {local[0].friendly_name if local else None}",
    )
    check(all("sms" in (n.capabilities or {}) for n in local), "capabilities carry sms")
    toll_free = client.available_phone_numbers("US").toll_free.list(limit=2)
    check(len(toll_free) == 2 and toll_free[0].phone_number.startswith("+1800"), "toll-free search")

    # Buy, find, update, release.
    bought = client.incoming_phone_numbers.create(
        phone_number=local[0].phone_number, voice_url="https://example.com/voice"
    )
    check(bought.sid.startswith("PN"), f"bought {bought.sid}")
    check(bought.voice_url == "https://example.com/voice", "voice_url echoed")
    found = client.incoming_phone_numbers.list(phone_number=local[0].phone_number)
    check([n.sid for n in found] == [bought.sid], "find bought number by PhoneNumber")
    updated = client.incoming_phone_numbers(bought.sid).update(sms_url="https://example.com/sms")
    check(updated.sms_url == "https://example.com/sms", "update sms_url")
    check(client.incoming_phone_numbers(bought.sid).delete() is True, "release number")
    check(client.incoming_phone_numbers.list() == [], "no numbers after release")

    # Place a call with repeated status_callback_event values.
    call = client.calls.create(
        to=to,
        from_=sender,
        twiml="<Response><Say>hi</Say></Response>",
        status_callback_event=["initiated", "completed"],
    )
    check(call.sid.startswith("CA") and call.status == "queued", f"call {call.sid} {call.status}")
    check(client.calls(call.sid).fetch().sid == call.sid, "fetch call")

    # Hang up a call that is not answered yet: Status=canceled, as Twilio does.
    queued = client.calls.create(to=to, from_=sender, twiml="<Response><Say>hi</Say></Response>")
    canceled = client.calls(queued.sid).update(status="canceled")
    check(canceled.status == "canceled", f"cancel a queued call: {canceled.status}")

    # Redirect a call in progress, then hang it up: Twiml, then Status=completed.
    live = client.calls.create(to=to, from_=sender, twiml="<Response><Pause length=\"60\"/></Response>")
    deadline = time.monotonic() + 30
    while client.calls(live.sid).fetch().status != "in-progress" and time.monotonic() < deadline:
        time.sleep(0.02)
    moved = client.calls(live.sid).update(twiml="<Response><Say>moved</Say></Response>")
    check(moved.status == "in-progress", f"a redirected call stays in progress: {moved.status}")
    done = client.calls(live.sid).update(status="completed")
    check(done.status == "completed", f"hang up a call in progress: {done.status}")
    length = (done.end_time - done.start_time).total_seconds()
    check(int(done.duration) == int(length), f"duration {done.duration} agrees with {length} s")
    try:
        client.calls(live.sid).update(url="https://example.com/next")
        check(False, "a finished call cannot be redirected")
    except TwilioRestException as e:
        check(e.status == 400 and e.code == 21220, f"redirect of a finished call {e.status}/{e.code}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all SDK checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
