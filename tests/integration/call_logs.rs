//! The call-log API (`/api/telephony/call-logs`) and the `calls list` / `tenant routing` commands:
//! ordering and paging, date ranges read in the tenant's time zone, filters, validation naming the
//! field, and tenant isolation. Fixture calls are written straight into the calls store.

use std::process::{Command, Output};

use serde_json::{Value, json};
use switchboard::db::calls::{Call, insert_if_new};

use crate::support::{ADMIN_TOKEN, JWT_SECRET, Resp, TestApp, app};

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A completed inbound call of `tenant_id` with CallSid `sid`, started at `start` (RFC 3339).
pub fn call(tenant_id: &str, sid: &str, start: &str) -> Call {
    let start = ms(start);
    Call {
        id: switchboard::domain::new_id(),
        tenant_id: tenant_id.into(),
        call_sid: sid.into(),
        direction: "inbound".into(),
        from_number: "+14155550123".into(),
        to_number: "+14155550100".into(),
        status: "completed".parse().unwrap(),
        strategy: "forward".parse().unwrap(),
        after_hours: false,
        route_targets: Default::default(),
        route_index: 0,
        gather_attempts: 0,
        forwarded_to: None,
        call_reason: None,
        notes: None,
        recording_url: None,
        voicemail: false,
        missed: false,
        start_time: start,
        answered_at: None,
        end_time: None,
        duration_seconds: None,
        created_at: start,
        updated_at: start,
    }
}

pub async fn insert(app: &TestApp, calls: &[Call]) {
    let mut tx = app.state.db.begin().await.unwrap();
    for c in calls {
        assert!(insert_if_new(&mut tx, c).await.unwrap(), "{}", c.call_sid);
    }
    tx.commit().await.unwrap();
}

/// A tenant in `time_zone` and a JWT for it.
async fn tenant(app: &TestApp, name: &str, time_zone: &str) -> (String, String) {
    let t = app
        .create_tenant(json!({"name": name, "timeZone": time_zone}))
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    let token = app.token_for(&id).await;
    (id, token)
}

async fn list(app: &TestApp, token: &str, query: &str) -> Resp {
    app.tenant_get(&format!("/api/telephony/call-logs{query}"), token)
        .await
}

/// The CallSids of a successful listing, in the order answered.
fn sids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["data"]["callLogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["callSid"].as_str().unwrap().to_string())
        .collect()
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    sids(&list(app, token, query).await)
}

fn assert_invalid(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "VALIDATION_ERROR", "{}", r.text);
    assert_eq!(r.field(), field, "{}", r.text);
}

#[tokio::test]
async fn lists_newest_first_and_pages_with_total() {
    let app = app().start().await;
    let (t, token) = tenant(&app, "Bella Salon", "UTC").await;
    // Inserted out of order: the answer's order must come from the start times.
    insert(
        &app,
        &[
            call(&t, "CA10", "2026-11-22T10:00:00Z"),
            call(&t, "CA11", "2026-11-22T11:00:00Z"),
            call(&t, "CA09", "2026-11-22T09:00:00Z"),
            call(&t, "CA12", "2026-11-22T12:00:00Z"),
            call(&t, "CA08", "2026-11-22T08:00:00Z"),
        ],
    )
    .await;

    let r = list(&app, &token, "").await;
    assert_eq!(sids(&r), ["CA12", "CA11", "CA10", "CA09", "CA08"]);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["data"]["total"], 5);
    assert_eq!(r.json["data"]["limit"], 50, "default page size");
    assert_eq!(r.json["data"]["offset"], 0);

    let r = list(&app, &token, "?limit=2&offset=2").await;
    assert_eq!(sids(&r), ["CA10", "CA09"]);
    assert_eq!(r.json["data"]["total"], 5, "total counts every page");
    assert_eq!(r.json["data"]["limit"], 2);
    assert_eq!(r.json["data"]["offset"], 2);

    let r = list(&app, &token, "?limit=2&offset=4").await;
    assert_eq!(sids(&r), ["CA08"]);
    let r = list(&app, &token, "?offset=10").await;
    assert!(sids(&r).is_empty());
    assert_eq!(r.json["data"]["total"], 5);
}

#[tokio::test]
async fn a_call_log_has_every_seed_000_field() {
    let app = app().start().await;
    let (t, token) = tenant(&app, "Bella Salon", "UTC").await;
    let mut full = call(&t, "CAfull", "2026-11-22T10:30:00Z");
    full.direction = "inbound".into();
    full.status = "completed".parse().unwrap();
    full.answered_at = Some(ms("2026-11-22T10:30:07Z"));
    full.end_time = Some(ms("2026-11-22T10:31:12.500Z"));
    full.duration_seconds = Some(65);
    full.call_reason = Some("GET_HOURS".into());
    full.notes = Some("asked about Sunday".into());
    full.recording_url = Some("https://api.twilio.com/rec/RE1".into());
    full.forwarded_to = Some("+14155550199".into());
    full.voicemail = true;
    full.missed = true;
    full.updated_at = ms("2026-11-22T10:31:13Z");
    let bare = call(&t, "CAbare", "2026-11-22T09:00:00Z");
    insert(&app, &[full.clone(), bare.clone()]).await;

    let r = app
        .tenant_get(&format!("/api/telephony/call-logs/{}", full.id), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"], true);
    assert_eq!(
        r.json["data"],
        json!({
            "id": full.id,
            "tenantId": t,
            "callSid": "CAfull",
            "direction": "inbound",
            "fromNumber": "+14155550123",
            "toNumber": "+14155550100",
            "status": "completed",
            "startTime": "2026-11-22T10:30:00.000Z",
            "endTime": "2026-11-22T10:31:12.500Z",
            "durationSeconds": 65,
            "callReason": "GET_HOURS",
            "notes": "asked about Sunday",
            "recordingUrl": "https://api.twilio.com/rec/RE1",
            "answeredAt": "2026-11-22T10:30:07.000Z",
            "forwardedTo": "+14155550199",
            "voicemail": true,
            "missed": true,
            "createdAt": "2026-11-22T10:30:00.000Z",
            "updatedAt": "2026-11-22T10:31:13.000Z",
        })
    );

    // Absent values are present as null, not left out.
    let r = app
        .tenant_get(&format!("/api/telephony/call-logs/{}", bare.id), &token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for key in [
        "endTime",
        "durationSeconds",
        "callReason",
        "notes",
        "recordingUrl",
        "answeredAt",
        "forwardedTo",
    ] {
        assert_eq!(r.json["data"].get(key), Some(&Value::Null), "{key}");
    }
    assert_eq!(r.json["data"]["voicemail"], false);

    // The listing carries the same objects.
    let l = list(&app, &token, "").await;
    assert_eq!(l.json["data"]["callLogs"][1], r.json["data"]);
}

#[tokio::test]
async fn date_only_bounds_cover_whole_days_in_the_tenant_zone() {
    let app = app().start().await;
    let (la, la_token) = tenant(&app, "Sunset Salon", "America/Los_Angeles").await;
    let (utc, utc_token) = tenant(&app, "Greenwich Barber", "UTC").await;
    // Los Angeles is UTC-8 in November: its 22nd runs from 08:00Z on the 22nd to 08:00Z on the 23rd.
    let times = [
        ("before", "2026-11-22T07:59:59.999Z"), // 21st, 23:59:59.999 local
        ("first", "2026-11-22T08:00:00Z"),      // 22nd, 00:00 local
        ("last", "2026-11-23T07:59:59.999Z"),   // 22nd, 23:59:59.999 local
        ("after", "2026-11-23T08:00:00Z"),      // 23rd, 00:00 local
    ];
    let mut calls = Vec::new();
    for (name, at) in times {
        calls.push(call(&la, &format!("CAla-{name}"), at));
        calls.push(call(&utc, &format!("CAutc-{name}"), at));
    }
    insert(&app, &calls).await;

    assert_eq!(
        listed(&app, &la_token, "?startDate=2026-11-22&endDate=2026-11-22").await,
        ["CAla-last", "CAla-first"],
        "the whole local day, nothing of its neighbours"
    );
    assert_eq!(
        listed(&app, &la_token, "?endDate=2026-11-22").await,
        ["CAla-last", "CAla-first", "CAla-before"]
    );
    assert_eq!(
        listed(&app, &la_token, "?startDate=2026-11-23").await,
        ["CAla-after"]
    );
    // The same query for a tenant in UTC means the UTC day.
    assert_eq!(
        listed(&app, &utc_token, "?startDate=2026-11-22&endDate=2026-11-22").await,
        ["CAutc-first", "CAutc-before"]
    );

    // 2026-11-01 is 25 hours long in Los Angeles (daylight saving time ends): all of it counts.
    let (dst, dst_token) = tenant(&app, "Fall Back Salon", "America/Los_Angeles").await;
    insert(
        &app,
        &[
            call(&dst, "CAdst-early", "2026-11-01T07:00:00Z"), // 00:00 PDT
            call(&dst, "CAdst-late", "2026-11-02T07:59:59Z"),  // 23:59:59 PST
            call(&dst, "CAdst-next", "2026-11-02T08:00:00Z"),  // 2nd, 00:00 PST
        ],
    )
    .await;
    assert_eq!(
        listed(&app, &dst_token, "?startDate=2026-11-01&endDate=2026-11-01").await,
        ["CAdst-late", "CAdst-early"]
    );
}

#[tokio::test]
async fn instant_bounds_keep_their_offset_and_include_the_end() {
    let app = app().start().await;
    // The tenant's zone must not matter for instants that carry an offset.
    let (t, token) = tenant(&app, "Sunset Salon", "America/Los_Angeles").await;
    insert(
        &app,
        &[
            call(&t, "CAa", "2026-11-22T10:29:59.999Z"),
            call(&t, "CAb", "2026-11-22T10:30:00Z"),
            call(&t, "CAc", "2026-11-22T11:00:00Z"),
            call(&t, "CAd", "2026-11-22T11:00:00.001Z"),
        ],
    )
    .await;

    let expected = ["CAc", "CAb"];
    assert_eq!(
        listed(
            &app,
            &token,
            "?startDate=2026-11-22T10:30:00Z&endDate=2026-11-22T11:00:00Z"
        )
        .await,
        expected,
        "both ends inclusive"
    );
    assert_eq!(
        listed(
            &app,
            &token,
            "?startDate=2026-11-22T12:30:00%2B02:00&endDate=2026-11-22T03:00:00.000-08:00"
        )
        .await,
        expected,
        "offsets are honoured"
    );
    // An unencoded `+` arrives as a space; it can only have been the offset's sign.
    assert_eq!(
        listed(
            &app,
            &token,
            "?startDate=2026-11-22T12:30:00+02:00&endDate=2026-11-22T13:00:00+02:00"
        )
        .await,
        expected
    );
    // Without an offset the time is wall-clock time in the tenant's zone (02:30 PST = 10:30Z).
    assert_eq!(
        listed(
            &app,
            &token,
            "?startDate=2026-11-22T02:30:00&endDate=2026-11-22T03:00:00"
        )
        .await,
        expected
    );
    // An instant and a date mix: from 10:30Z to the end of the local 22nd.
    assert_eq!(
        listed(
            &app,
            &token,
            "?startDate=2026-11-22T10:30:00Z&endDate=2026-11-22"
        )
        .await,
        ["CAd", "CAc", "CAb"]
    );
}

#[tokio::test]
async fn unreadable_or_reversed_dates_are_400s_naming_the_field() {
    let app = app().start().await;
    let (_, token) = tenant(&app, "Bella Salon", "UTC").await;
    for bad in [
        "yesterday",
        "2026-02-30",
        "22%2F11%2F2026",
        "2026-11-22T25:00:00Z",
    ] {
        let r = list(&app, &token, &format!("?startDate={bad}")).await;
        assert_invalid(&r, "startDate");
        assert_eq!(
            r.json["error"]["message"], "startDate must be a valid ISO 8601 date",
            "{bad}"
        );
        let r = list(&app, &token, &format!("?endDate={bad}")).await;
        assert_invalid(&r, "endDate");
        assert_eq!(
            r.json["error"]["message"], "endDate must be a valid ISO 8601 date",
            "{bad}"
        );
    }
    let r = list(&app, &token, "?startDate=2026-11-23&endDate=2026-11-22").await;
    assert_invalid(&r, "startDate");
    let r = list(
        &app,
        &token,
        "?startDate=2026-11-22T10:00:00.001Z&endDate=2026-11-22T10:00:00Z",
    )
    .await;
    assert_invalid(&r, "startDate");
    // The same day, or the same instant, is a valid range.
    assert_eq!(
        list(&app, &token, "?startDate=2026-11-22&endDate=2026-11-22")
            .await
            .status,
        200
    );
    assert_eq!(
        list(
            &app,
            &token,
            "?startDate=2026-11-22T10:00:00Z&endDate=2026-11-22T10:00:00Z"
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn limit_is_clamped_to_100_and_must_be_positive() {
    let app = app().start().await;
    let (t, token) = tenant(&app, "Busy Salon", "UTC").await;
    let base = ms("2026-11-22T08:00:00Z");
    let calls: Vec<Call> = (0..105)
        .map(|i| {
            let at = switchboard::clock::rfc3339(base + i * 60_000);
            call(&t, &format!("CA{i:03}"), &at)
        })
        .collect();
    insert(&app, &calls).await;

    let r = list(&app, &token, "?limit=500").await;
    assert_eq!(sids(&r).len(), 100);
    assert_eq!(r.json["data"]["limit"], 100);
    assert_eq!(r.json["data"]["total"], 105);
    assert_eq!(sids(&r)[0], "CA104");
    let r = list(&app, &token, "?limit=101&offset=100").await;
    assert_eq!(sids(&r), ["CA004", "CA003", "CA002", "CA001", "CA000"]);

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=-5", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=first", "offset"),
    ] {
        assert_invalid(&list(&app, &token, query).await, field);
    }
}

#[tokio::test]
async fn filters_by_status_direction_reason_and_phone_number() {
    let app = app().start().await;
    let (t, token) = tenant(&app, "Bella Salon", "UTC").await;
    let mut a = call(&t, "CAa", "2026-11-22T09:00:00Z");
    a.from_number = "+14155550111".into();
    a.call_reason = Some("GET_HOURS".into());
    let mut b = call(&t, "CAb", "2026-11-22T10:00:00Z");
    b.direction = "outbound".into();
    b.status = "busy".parse().unwrap();
    b.from_number = "+14155550100".into();
    b.to_number = "+14155550111".into();
    let mut c = call(&t, "CAc", "2026-11-22T11:00:00Z");
    c.status = "no-answer".parse().unwrap();
    c.from_number = "+14155550122".into();
    c.call_reason = Some("SETUP_APPOINTMENT".into());
    c.missed = true;
    let mut d = call(&t, "CAd", "2026-11-22T12:00:00Z");
    d.status = "in-progress".parse().unwrap();
    d.from_number = "+14155550133".into();
    d.call_reason = Some("GET_HOURS".into());
    insert(&app, &[a, b, c, d]).await;

    let cases: &[(&str, &[&str])] = &[
        ("?status=completed", &["CAa"]),
        ("?status=no-answer", &["CAc"]),
        ("?status=in-progress", &["CAd"]),
        ("?status=BUSY", &["CAb"]),
        ("?direction=outbound", &["CAb"]),
        ("?direction=inbound", &["CAd", "CAc", "CAa"]),
        ("?reason=get_hours", &["CAd", "CAa"]),
        ("?reason=SETUP_APPOINTMENT", &["CAc"]),
        ("?reason=OTHER", &[]),
        ("?phoneNumber=%2B14155550111", &["CAb", "CAa"]),
        ("?phoneNumber=+14155550111", &["CAb", "CAa"]),
        ("?phoneNumber=%2B1%20(415)%20555-0122", &["CAc"]),
        ("?status=completed&reason=GET_HOURS", &["CAa"]),
        ("?direction=inbound&phoneNumber=%2B14155550133", &["CAd"]),
        // Blank filters, as web forms send them, filter nothing.
        (
            "?status=&direction=&reason=&phoneNumber=",
            &["CAd", "CAc", "CAb", "CAa"],
        ),
    ];
    for &(query, expected) in cases {
        let r = list(&app, &token, query).await;
        assert_eq!(sids(&r), expected, "{query}");
        assert_eq!(r.json["data"]["total"], expected.len(), "{query}");
    }

    for (query, field) in [
        ("?status=teleporting", "status"),
        ("?direction=sideways", "direction"),
        ("?reason=CHAT", "reason"),
        ("?phoneNumber=12345", "phoneNumber"),
        ("?stauts=completed", "stauts"),
    ] {
        assert_invalid(&list(&app, &token, query).await, field);
    }
}

#[tokio::test]
async fn tenants_only_see_their_own_calls() {
    let app = app().start().await;
    let (a, a_token) = tenant(&app, "Salon A", "UTC").await;
    let (b, b_token) = tenant(&app, "Salon B", "UTC").await;
    let a_call = call(&a, "CAa", "2026-11-22T09:00:00Z");
    let mut b_call = call(&b, "CAb", "2026-11-22T10:00:00Z");
    b_call.from_number = "+14155550177".into();
    insert(&app, &[a_call.clone(), b_call.clone()]).await;

    let r = list(&app, &a_token, "").await;
    assert_eq!(sids(&r), ["CAa"]);
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(listed(&app, &b_token, "").await, ["CAb"]);
    assert!(
        listed(&app, &a_token, "?phoneNumber=%2B14155550177")
            .await
            .is_empty()
    );

    let r = app
        .tenant_get(&format!("/api/telephony/call-logs/{}", b_call.id), &a_token)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "NOT_FOUND");
    let r = app
        .tenant_get("/api/telephony/call-logs/no-such-call", &a_token)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = app
        .tenant_get(&format!("/api/telephony/call-logs/{}", b_call.id), &b_token)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["tenantId"], b.as_str());
}

#[tokio::test]
async fn call_logs_need_tenant_auth() {
    let app = app().start().await;
    let (t, _) = tenant(&app, "Bella Salon", "UTC").await;
    let c = call(&t, "CAa", "2026-11-22T09:00:00Z");
    insert(&app, std::slice::from_ref(&c)).await;
    let show = format!("/api/telephony/call-logs/{}", c.id);
    for path in ["/api/telephony/call-logs", show.as_str()] {
        let r = app.send(reqwest::Method::GET, path, None, None, &[]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        assert_eq!(r.code(), "UNAUTHORIZED");
        for bad in ["not-a-token", ADMIN_TOKEN] {
            let r = app.tenant_get(path, bad).await;
            assert_eq!(r.status, 401, "{path} with {bad}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn call_log_routes_are_in_the_openapi_document() {
    let app = app().start().await;
    let r = app
        .send(reqwest::Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(r.status, 200);
    let list = &r.json["paths"]["/api/telephony/call-logs"]["get"];
    let show = &r.json["paths"]["/api/telephony/call-logs/{id}"]["get"];
    let timeline = &r.json["paths"]["/api/telephony/call-logs/{id}/timeline"]["get"];
    for op in [list, show, timeline] {
        assert_eq!(op["tags"], json!(["telephony"]), "{op}");
        assert_eq!(op["security"], json!([{"tenant": []}]), "{op}");
    }
    let names = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p["in"].as_str().unwrap(),
                    p["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    let mut got = names(list);
    got.sort();
    assert_eq!(
        got,
        [
            "query:direction",
            "query:endDate",
            "query:limit",
            "query:offset",
            "query:outcome",
            "query:phoneNumber",
            "query:reason",
            "query:startDate",
            "query:status"
        ]
    );
    assert_eq!(names(show), ["path:id"]);
    assert_eq!(names(timeline), ["path:id"]);
    let entry = r.json["components"]["schemas"]["TimelineEntryView"]["properties"]
        .as_object()
        .unwrap();
    let mut keys: Vec<&str> = entry.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["at", "detail", "kind", "outcome", "title"]);
    let schemas = &r.json["components"]["schemas"];
    let props = schemas["CallLogView"]["properties"].as_object().unwrap();
    assert_eq!(props.len(), 19, "{props:?}");
    assert!(props.contains_key("callReason") && props.contains_key("forwardedTo"));
}

fn switchboard(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "warn")
        // Run where no stray .env can leak in.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run switchboard")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the CLI and returns its stdout, failing the test if it failed.
fn run_ok(db_url: &str, args: &[&str]) -> String {
    let o = switchboard(db_url, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Runs the CLI expecting failure and returns its stderr.
fn run_err(db_url: &str, args: &[&str]) -> String {
    let o = switchboard(db_url, args);
    assert!(!o.status.success(), "{args:?} succeeded: {}", stdout(&o));
    stderr(&o)
}

#[tokio::test]
async fn cli_lists_calls_in_the_tenant_zone() {
    let app = app().start().await;
    let t = app
        .create_tenant(
            json!({"name": "Sunset Salon", "slug": "sunset", "timeZone": "America/Los_Angeles"}),
        )
        .await;
    let t = t["id"].as_str().unwrap();
    let mut late = call(t, "CAlate", "2026-11-23T07:59:59Z");
    late.from_number = "+14155550111".into();
    late.duration_seconds = Some(65);
    late.call_reason = Some("GET_HOURS".into());
    let mut midnight = call(t, "CAmidnight", "2026-11-23T08:00:00Z");
    midnight.status = "no-answer".parse().unwrap();
    midnight.call_reason = Some("SETUP_APPOINTMENT".into());
    midnight.missed = true;
    midnight.voicemail = true;
    insert(&app, &[late, midnight]).await;
    let url = app.db_url.clone();

    let out = run_ok(&url, &["calls", "list", "--tenant", "sunset"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("TIME (America/Los_Angeles)"), "{out}");
    for col in [
        "DIRECTION",
        "FROM",
        "TO",
        "STATUS",
        "DURATION",
        "REASON",
        "FLAGS",
    ] {
        assert!(lines[0].contains(col), "{col}: {out}");
    }
    // Newest first, in Los Angeles time: the calls straddle local midnight.
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        first,
        [
            "2026-11-23",
            "00:00:00",
            "PST",
            "inbound",
            "+14155550123",
            "+14155550100",
            "no-answer",
            "-",
            "SETUP_APPOINTMENT",
            "missed,voicemail"
        ],
        "{out}"
    );
    let second: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        second,
        [
            "2026-11-22",
            "23:59:59",
            "PST",
            "inbound",
            "+14155550111",
            "+14155550100",
            "completed",
            "1m05s",
            "GET_HOURS",
            "-"
        ],
        "{out}"
    );
    assert_eq!(lines[3], "2 of 2 call(s) (offset 0)");

    let out = run_ok(
        &url,
        &[
            "calls",
            "list",
            "--tenant",
            "sunset",
            "--status",
            "completed",
        ],
    );
    assert!(out.contains("1m05s") && !out.contains("no-answer"), "{out}");
    let out = run_ok(
        &url,
        &[
            "calls",
            "list",
            "--tenant",
            "sunset",
            "--reason",
            "setup_appointment",
        ],
    );
    assert!(
        out.contains("no-answer") && !out.contains("GET_HOURS"),
        "{out}"
    );
    let out = run_ok(
        &url,
        &["calls", "list", "--tenant", "sunset", "--limit", "1"],
    );
    assert!(
        out.contains("1 of 2 call(s)") && out.contains("no-answer"),
        "{out}"
    );

    let err = run_err(
        &url,
        &[
            "calls",
            "list",
            "--tenant",
            "sunset",
            "--status",
            "teleporting",
        ],
    );
    assert!(err.contains("status: must be one of"), "{err}");
    let err = run_err(
        &url,
        &["calls", "list", "--tenant", "sunset", "--reason", "chat"],
    );
    assert!(err.contains("reason: must be one of"), "{err}");
    let err = run_err(
        &url,
        &["calls", "list", "--tenant", "sunset", "--limit", "0"],
    );
    assert!(err.contains("limit"), "{err}");
    let err = run_err(&url, &["calls", "list", "--tenant", "nobody"]);
    assert!(err.contains("no tenant with id or slug 'nobody'"), "{err}");
}

/// The tenant's routing policy as the admin API shows it.
async fn policy(app: &TestApp, id: &str) -> Value {
    app.admin(
        reqwest::Method::GET,
        &format!("/api/admin/tenants/{id}"),
        None,
    )
    .await
    .json["data"]["routingPolicy"]
        .clone()
}

#[tokio::test]
async fn cli_shows_and_sets_the_routing_policy() {
    let app = app().start().await;
    let t = app
        .create_tenant(json!({
            "name": "Bella Salon", "slug": "bella",
            "routingPolicy": {"staffOrder": "round_robin", "greeting": "Hi from {name}"}
        }))
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    let url = app.db_url.clone();
    let parse = |s: String| -> Value { serde_json::from_str(&s).expect("JSON output") };

    let shown = parse(run_ok(&url, &["tenant", "routing", "show", "bella"]));
    assert_eq!(shown, policy(&app, &id).await);
    assert_eq!(shown["strategy"], "forward");

    // Single fields change; the rest of the current policy stays.
    let set = parse(run_ok(
        &url,
        &[
            "tenant",
            "routing",
            "set",
            "bella",
            "--strategy",
            "voicemail",
            "--dial-timeout",
            "30",
            "--after-hours-strategy",
            "gather",
        ],
    ));
    let stored = policy(&app, &id).await;
    assert_eq!(set, stored);
    assert_eq!(stored["strategy"], "voicemail");
    assert_eq!(stored["afterHoursStrategy"], "gather");
    assert_eq!(stored["dialTimeoutSecs"], 30);
    assert_eq!(stored["staffOrder"], "round_robin");
    assert_eq!(stored["greeting"], "Hi from {name}");

    let set = parse(run_ok(
        &url,
        &[
            "tenant",
            "routing",
            "set",
            &id,
            "--strategy",
            "forward_external",
            "--external-number",
            "+1 415 555 0199",
            "--staff-order",
            "priority",
            "--greeting",
            "",
        ],
    ));
    assert_eq!(set["strategy"], "forward_external");
    assert_eq!(
        set["externalNumber"], "+14155550199",
        "normalised like the API does"
    );
    assert_eq!(set["staffOrder"], "priority");
    assert_eq!(
        set["greeting"],
        Value::Null,
        "'' restores the default greeting"
    );
    assert_eq!(set, policy(&app, &id).await);

    // Bad values fail naming the field, as the admin API would, and change nothing.
    let before = policy(&app, &id).await;
    let cases: &[(&[&str], &str)] = &[
        (&["--strategy", "teleport"], "routingPolicy.strategy"),
        (
            &["--after-hours-strategy", "nap"],
            "routingPolicy.afterHoursStrategy",
        ),
        (&["--dial-timeout", "2"], "routingPolicy.dialTimeoutSecs"),
        (&["--dial-timeout", "soon"], "routingPolicy.dialTimeoutSecs"),
        (
            &["--staff-order", "alphabetical"],
            "routingPolicy.staffOrder",
        ),
        (&["--external-number", "12"], "routingPolicy.externalNumber"),
        (&["--external-number", ""], "routingPolicy.externalNumber"),
        (
            &["--json", r#"{"stratgy":"voicemail"}"#],
            "routingPolicy.stratgy",
        ),
        (&["--json", "not json"], "routingPolicy"),
    ];
    for &(args, field) in cases {
        let mut argv = vec!["tenant", "routing", "set", "bella"];
        argv.extend_from_slice(args);
        let err = run_err(&url, &argv);
        assert!(err.contains(&format!("{field}:")), "{args:?}: {err}");
    }
    assert_eq!(policy(&app, &id).await, before);
    let err = run_err(&url, &["tenant", "routing", "set", "bella"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = run_err(&url, &["tenant", "routing", "show", "nobody"]);
    assert!(err.contains("no tenant with id or slug 'nobody'"), "{err}");

    // --json replaces the whole policy: what it leaves out returns to the defaults.
    let set = parse(run_ok(
        &url,
        &[
            "tenant",
            "routing",
            "set",
            "bella",
            "--json",
            r#"{"strategy":"gather","dialTimeoutSecs":45}"#,
        ],
    ));
    assert_eq!(set["strategy"], "gather");
    assert_eq!(set["dialTimeoutSecs"], 45);
    assert_eq!(set["externalNumber"], Value::Null);
    assert_eq!(set["afterHoursStrategy"], "voicemail");
    let shown = parse(run_ok(&url, &["tenant", "routing", "show", "bella"]));
    assert_eq!(shown, set);
    assert_eq!(shown, policy(&app, &id).await);
}
