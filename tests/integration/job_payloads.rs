//! Every job kind's typed payload reads the JSON that earlier builds stored (rows already queued
//! when an upgrade lands must still run), writes the same field names, and a payload that does not
//! read is a permanent error naming the kind.

use serde_json::{Value, json};
use switchboard::appointments::reminders::{ReminderJob, ReminderPayload};
use switchboard::events::deliver::{DeliverJob, DeliverPayload};
use switchboard::jobs::{Job, JobError, JobKind};
use switchboard::messaging::send_job::{SendJob, SendPayload};
use switchboard::messaging::text_back::{MissedCallTextBack, TextBackPayload};
use switchboard::numbers::jobs::{NumberPayload, ProvisionJob, ReleaseJob};
use switchboard::recordings::email::{EmailJob, EmailPayload};
use switchboard::recordings::process::{ProcessJob, ProcessPayload};

fn job(kind: &str, payload: &str) -> Job {
    Job {
        id: "j".into(),
        kind: kind.into(),
        payload: payload.into(),
        tenant_id: None,
        status: "pending".into(),
        attempts: 0,
        max_attempts: 5,
        run_at: 0,
        locked_until: None,
        lease_token: None,
        last_error: None,
        dedupe_key: None,
        created_at: 0,
        updated_at: 0,
        finished_at: None,
    }
}

/// `stored` (the JSON an earlier build enqueued for `K`) decodes to `expected`, and `expected`
/// enqueues as exactly that JSON; a malformed payload is a permanent error naming the kind.
fn compatible<K: JobKind>(kind: &str, stored: Value, expected: K::Payload)
where
    K::Payload: PartialEq + std::fmt::Debug,
{
    assert_eq!(K::KIND, kind);
    let decoded = K::decode(&job(kind, &stored.to_string()))
        .unwrap_or_else(|e| panic!("{kind}: today's payload does not read: {e:?}"));
    assert_eq!(decoded, expected, "{kind}: today's payload");
    let new = K::new_job(&decoded);
    assert_eq!(
        (new.kind.as_str(), &new.payload),
        (kind, &stored),
        "{kind}: written as before"
    );
    for bad in ["not json", "{}", "[]"] {
        match K::decode(&job(kind, bad)) {
            Err(JobError::Permanent { message }) => {
                assert!(
                    message.starts_with(&format!("bad {kind} payload: ")),
                    "{message}"
                )
            }
            other => panic!("{kind}: {bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn every_job_kind_reads_the_payloads_already_queued() {
    compatible::<SendJob>(
        "notification.send",
        json!({ "notificationId": "n1" }),
        SendPayload {
            notification_id: "n1".into(),
        },
    );
    compatible::<EmailJob>(
        "notification.email",
        json!({ "notificationId": "n2" }),
        EmailPayload {
            notification_id: "n2".into(),
        },
    );
    compatible::<DeliverJob>(
        "relay.deliver",
        json!({ "deliveryId": "d1" }),
        DeliverPayload {
            delivery_id: "d1".into(),
        },
    );
    compatible::<ReminderJob>(
        "appointment.reminder",
        json!({ "appointmentId": "a1", "offsetMinutes": 1440, "version": 3 }),
        ReminderPayload {
            appointment_id: "a1".into(),
            offset_minutes: 1440,
            version: 3,
        },
    );
    let number = NumberPayload {
        tenant_id: "t1".into(),
        generation: 2,
    };
    let stored = json!({ "tenantId": "t1", "generation": 2 });
    compatible::<ProvisionJob>("numbers.provision", stored.clone(), number.clone());
    compatible::<ReleaseJob>("numbers.release", stored, number);
    compatible::<ProcessJob>(
        "recording.process",
        json!({ "recordingId": "r1" }),
        ProcessPayload {
            recording_id: "r1".into(),
        },
    );
    compatible::<MissedCallTextBack>(
        "sms.missed_call_text_back",
        json!({ "tenantId": "t1", "callSid": "CA0123", "to": "+14155550100" }),
        TextBackPayload {
            tenant_id: "t1".into(),
            call_sid: "CA0123".into(),
            to: "+14155550100".into(),
        },
    );
}

#[test]
fn every_registered_handler_is_a_typed_kind() {
    let mut registry = switchboard::state::Jobs::default();
    switchboard::start::register_job_handlers(&mut registry);
    let typed = [
        SendJob::KIND,
        EmailJob::KIND,
        DeliverJob::KIND,
        ReminderJob::KIND,
        ProvisionJob::KIND,
        ReleaseJob::KIND,
        ProcessJob::KIND,
        MissedCallTextBack::KIND,
    ];
    let mut typed = typed.to_vec();
    typed.sort_unstable();
    assert_eq!(registry.kinds(), typed);
}
