//! The `notification.send` job: queued with each notification (`notifications::queue`), run by the
//! sender (`sender::SendNotification`).

use serde::{Deserialize, Serialize};

use crate::jobs::JobKind;

/// Job kind that delivers one notification.
pub const SEND_JOB: &str = "notification.send";

/// `notification.send`.
pub struct SendJob;

/// What a send job carries: the notification, re-read when the job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPayload {
    pub notification_id: String,
}

impl JobKind for SendJob {
    const KIND: &'static str = SEND_JOB;
    type Payload = SendPayload;
}
