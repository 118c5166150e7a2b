//! `switchboard recordings list|fetch` (a tenant's recordings, straight from the database and the
//! recordings directory) and `switchboard call` (an outbound call, placed through a running
//! Switchboard's make-call API so that its pace, callbacks and sandbox are the server's own).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use url::Url;

use super::ops::{fail, find_tenant, open};
use crate::config::Config;
use crate::db::recordings::{self as store, RecordingFilter};
use crate::db::tenants::Tenant;
use crate::recordings::{analyse::excerpt, storage};
use crate::state::AppState;

#[derive(Subcommand, Debug)]
pub enum RecordingsCmd {
    /// List a tenant's recordings, newest first, with their analysis.
    List {
        /// Tenant id or slug (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// How many (1-100, default 50).
        #[arg(long)]
        limit: Option<i64>,
        /// Voicemails only.
        #[arg(long)]
        voicemails: bool,
    },
    /// Write a downloaded recording's audio to a file.
    Fetch {
        /// Tenant id or slug (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// Recording id or Twilio RecordingSid (RE…).
        recording: String,
        /// Where to write it [default: ./<RecordingSid>.wav].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// Tenant id or slug (optional when there is only one tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// E.164 number to call.
    #[arg(long)]
    pub to: String,
    /// What the callee hears when they answer.
    #[arg(long)]
    pub say: String,
    /// Record the call.
    #[arg(long)]
    pub record: bool,
    /// The running Switchboard's base URL [default: http://127.0.0.1:PORT].
    #[arg(long)]
    pub url: Option<Url>,
}

/// The named tenant, or the only one when none is named (the demo, single-business mode).
async fn tenant(state: &AppState, key: Option<&str>) -> anyhow::Result<Tenant> {
    if let Some(k) = key {
        return find_tenant(state, k).await;
    }
    let (mut all, total) = crate::db::tenants::list(&state.db, 2, 0).await?;
    match (total, all.pop()) {
        (1, Some(t)) => Ok(t),
        (0, _) => anyhow::bail!("there are no tenants yet"),
        _ => anyhow::bail!("--tenant is required: there are {total} tenants"),
    }
}

pub async fn recordings(config: Config, cmd: RecordingsCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        RecordingsCmd::List {
            tenant: key,
            limit,
            voicemails,
        } => {
            let t = tenant(&state, key.as_deref()).await?;
            let filter = RecordingFilter {
                kind: voicemails.then(|| store::VOICEMAIL.to_string()),
                completed_only: voicemails,
                ..Default::default()
            };
            let limit = limit.unwrap_or(50).clamp(1, 100);
            let (rows, total) = store::list(&state.db, &t.id, &filter, limit, 0).await?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let texts = store::transcriptions_for(&state.db, &t.id, &ids).await?;
            println!(
                "{:<34}  {:<9}  {:<9}  {:>5}  {:<10}  {:<18}  SUMMARY",
                "RECORDING", "KIND", "STATUS", "SECS", "PROCESSING", "REASON"
            );
            for r in &rows {
                let t = texts.iter().find(|t| t.recording_id == r.id);
                println!(
                    "{:<34}  {:<9}  {:<9}  {:>5}  {:<10}  {:<18}  {}",
                    r.recording_sid,
                    r.kind,
                    r.status,
                    r.duration_seconds
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.processing,
                    t.map(|t| t.call_reason.as_str()).unwrap_or("-"),
                    t.map(|t| excerpt(&t.summary, 80))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            println!("{} of {total} recording(s)", rows.len());
            Ok(())
        }
        RecordingsCmd::Fetch {
            tenant: key,
            recording,
            out,
        } => {
            let t = tenant(&state, key.as_deref()).await?;
            let r = store::find(&state.db, &t.id, &recording)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("no recording '{recording}' for tenant {}", t.slug.as_str())
                })?;
            let Some(key) = &r.storage_key else {
                anyhow::bail!(
                    "recording {} is not downloaded yet (processing: {})",
                    r.recording_sid,
                    r.processing
                );
            };
            let bytes = storage::from_config(&state.config).read_all(key).await?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.wav", r.recording_sid)));
            tokio::fs::write(&out, &bytes).await?;
            println!("wrote {} bytes to {}", bytes.len(), out.display());
            Ok(())
        }
    }
}

/// Places a call through the running server's `POST /api/twilio/make-call` with a short-lived
/// tenant token, and prints Twilio's answer.
pub async fn call(config: Config, args: CallArgs) -> anyhow::Result<()> {
    let base = match &args.url {
        Some(u) => u.clone(),
        None => Url::parse(&format!("http://127.0.0.1:{}", config.server.port))?,
    };
    let state = open(config).await?;
    let t = tenant(&state, args.tenant.as_deref()).await?;
    let token = crate::tenants::keys::issue_token(&state, &t.id, Some(300)).map_err(fail)?;
    let endpoint = format!(
        "{}/api/twilio/make-call",
        base.as_str().trim_end_matches('/')
    );
    let res = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(&token.token)
        .json(&serde_json::json!({ "to": args.to, "message": args.say, "record": args.record }))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Switchboard at {endpoint}: {e}"))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    if !status.is_success() {
        let msg = body["error"]["message"].as_str().unwrap_or("no details");
        anyhow::bail!("make-call answered HTTP {status}: {msg}");
    }
    println!(
        "call {} to {} {} (follow it with: switchboard calls list --tenant {})",
        body["callSid"].as_str().unwrap_or("?"),
        args.to,
        body["status"].as_str().unwrap_or("?"),
        t.slug.as_str()
    );
    Ok(())
}
