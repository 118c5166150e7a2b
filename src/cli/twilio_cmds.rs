//! `switchboard sandbox` (the Twilio stand-in on its own port) and `switchboard simulate call|sms`
//! (play a caller or texter against a running Switchboard).

use clap::{Args, Subcommand};
use switchboard_twilio::sandbox::{DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, Sandbox, SandboxConfig};
use switchboard_twilio::simulator::{
    CallScript, DialOutcome, Simulator, SimulatorConfig, SmsScript,
};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{Config, TwilioMode};

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Address to bind (the port is the global --port / PORT, default 4010 here).
    #[arg(long, default_value = "127.0.0.1")]
    pub sandbox_host: std::net::IpAddr,
    /// Base URL the sandbox is reached at (used in the URLs it hands out) [default: http://HOST:PORT].
    #[arg(long)]
    pub public_url: Option<Url>,
}

#[derive(Subcommand, Debug)]
pub enum SimulateCmd {
    /// Place a simulated call to a Switchboard number and follow its TwiML.
    Call(CallArgs),
    /// Send a simulated text message to a Switchboard number.
    Sms(SmsArgs),
}

#[derive(Args, Debug)]
pub struct Target {
    /// Switchboard's base URL to send webhooks to [default: http://127.0.0.1:PORT].
    #[arg(long)]
    pub url: Option<Url>,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// The Switchboard number called (E.164).
    #[arg(long)]
    pub to: String,
    /// The caller's number.
    #[arg(long, default_value = "+14155550142")]
    pub from: String,
    /// What the caller says at each Gather, in order (repeatable).
    #[arg(long = "say")]
    pub say: Vec<String>,
    /// Keys the caller presses at each Gather, in order (repeatable).
    #[arg(long)]
    pub digits: Vec<String>,
    /// What happens when a number is dialled: answered[:SECONDS], no-answer, busy, failed, canceled;
    /// optionally for one number: +14155550101=busy (repeatable; the last unnamed one is the default).
    #[arg(long = "dial-outcome")]
    pub dial_outcome: Vec<String>,
    /// Length of a voicemail the caller leaves when asked to record, seconds.
    #[arg(long, default_value_t = 8)]
    pub record_seconds: u32,
    /// Words Twilio's transcription of that recording returns.
    #[arg(long)]
    pub transcription: Option<String>,
    /// Voice webhook path.
    #[arg(long, default_value = "/api/webhooks/twilio/voice")]
    pub path: String,
    /// Call status callback path.
    #[arg(long, default_value = "/api/webhooks/twilio/voice/status")]
    pub status_path: String,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args, Debug)]
pub struct SmsArgs {
    #[arg(long)]
    pub to: String,
    #[arg(long, default_value = "+14155550142")]
    pub from: String,
    #[arg(long)]
    pub body: String,
    /// MMS media URLs (repeatable).
    #[arg(long = "media-url")]
    pub media_url: Vec<String>,
    /// Messaging webhook path.
    #[arg(long, default_value = "/api/webhooks/twilio/sms")]
    pub path: String,
    #[command(flatten)]
    pub target: Target,
}

/// Runs the sandbox standalone until Ctrl-C/SIGTERM. It keeps its record of requests while
/// Switchboard processes come and go.
pub async fn sandbox(config: Config, port_given: bool, args: SandboxArgs) -> anyhow::Result<()> {
    let port = if port_given { config.server.port } else { 4010 };
    let addr = std::net::SocketAddr::new(args.sandbox_host, port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let public = match args.public_url {
        Some(u) => u,
        None => Url::parse(&format!("http://{}", listener.local_addr()?))?,
    };
    let mut sc = SandboxConfig::development(public.clone());
    if let (Some(sid), Some(token)) = (&config.twilio.account_sid, &config.twilio.auth_token) {
        sc.account_sid = sid.clone();
        sc.auth_token = token.expose().to_string();
    }
    sc.callback_delay = config.twilio.sandbox_callback_delay;
    println!("Twilio sandbox listening on {public}");
    println!("  TWILIO_API_BASE_URL={public}");
    println!("  TWILIO_ACCOUNT_SID={}", sc.account_sid);
    // The development token is public (it is in the README); a configured one is never printed.
    if sc.auth_token == DEV_AUTH_TOKEN {
        println!("  TWILIO_AUTH_TOKEN={DEV_AUTH_TOKEN}");
    } else {
        println!("  TWILIO_AUTH_TOKEN=(the one configured here)");
    }
    println!("  requests received: {public}sandbox/requests");
    let sandbox = Sandbox::new(sc);
    let shutdown = CancellationToken::new();
    tokio::spawn(super::shutdown_on_signal(shutdown.clone()));
    // The peer address lets the sandbox open its inspection routes to loopback callers only.
    axum::serve(
        listener,
        sandbox
            .router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    Ok(())
}

/// Parses `answered[:SECS]`, `no-answer`, `busy`, `failed`, `canceled`.
pub fn parse_outcome(s: &str) -> Result<DialOutcome, String> {
    let (name, secs) = s.split_once(':').unwrap_or((s, ""));
    match name.trim().to_ascii_lowercase().as_str() {
        "answered" | "completed" => {
            let duration_secs = if secs.is_empty() {
                30
            } else {
                secs.parse().map_err(|_| format!("bad seconds in '{s}'"))?
            };
            Ok(DialOutcome::Answered { duration_secs })
        }
        "no-answer" | "noanswer" => Ok(DialOutcome::NoAnswer),
        "busy" => Ok(DialOutcome::Busy),
        "failed" => Ok(DialOutcome::Failed),
        "canceled" | "cancelled" => Ok(DialOutcome::Canceled),
        _ => Err(format!(
            "unknown dial outcome '{s}' (answered[:SECS], no-answer, busy, failed, canceled)"
        )),
    }
}

fn simulator(config: &Config, target: &Target) -> anyhow::Result<Simulator> {
    let webhook_base_url = match &target.url {
        Some(u) => u.clone(),
        None => Url::parse(&format!("http://127.0.0.1:{}", config.server.port))?,
    };
    let (account_sid, auth_token) = match (&config.twilio.account_sid, &config.twilio.auth_token) {
        (Some(s), Some(t)) => (s.clone(), t.expose().to_string()),
        _ => (DEV_ACCOUNT_SID.to_string(), DEV_AUTH_TOKEN.to_string()),
    };
    let public_base_url = signed_base(config, &webhook_base_url)?;
    let sandbox_base_url = (config.twilio.mode == TwilioMode::Sandbox)
        .then(|| crate::twilio::sandbox_base(&public_base_url));
    Ok(Simulator::new(SimulatorConfig {
        webhook_base_url,
        public_base_url: Some(public_base_url),
        account_sid,
        auth_token,
        sandbox_base_url,
    }))
}

/// The base URL the simulator signs webhooks for: the one the server believes it is reached at.
/// That is `APP_URL` when this command has one (it should be the server's). Otherwise the server
/// has no `APP_URL` either and checks signatures against its default, `http://localhost:PORT` with
/// its own port: the port of the `--url` talked to, not this command's `PORT`.
fn signed_base(config: &Config, target: &Url) -> anyhow::Result<Url> {
    if config.server.app_url_explicit {
        return Ok(config.server.app_url.clone());
    }
    let port = target
        .port_or_known_default()
        .ok_or_else(|| anyhow::anyhow!("--url {target} has no port"))?;
    Ok(Url::parse(&format!(
        "http://localhost:{port}{}",
        target.path()
    ))?)
}

pub async fn simulate(config: Config, cmd: SimulateCmd) -> anyhow::Result<()> {
    let transcript = match cmd {
        SimulateCmd::Call(a) => {
            let mut script = CallScript::new(a.from, a.to);
            script.voice_path = a.path;
            script.status_path = a.status_path;
            for s in a.say {
                script = script.say(s);
            }
            for d in a.digits {
                script = script.press(d);
            }
            for o in &a.dial_outcome {
                let (number, outcome) = match o.split_once('=') {
                    Some((n, o)) => (n.trim().to_string(), o),
                    None => ("*".to_string(), o.as_str()),
                };
                script = script
                    .dial_outcome(number, parse_outcome(outcome).map_err(anyhow::Error::msg)?);
            }
            script = script.record(a.record_seconds, a.transcription.as_deref());
            simulator(&config, &a.target)?.run_call(&script).await
        }
        SimulateCmd::Sms(a) => {
            let mut script = SmsScript::new(a.from, a.to, a.body);
            script.path = a.path;
            script.media_urls = a.media_url;
            simulator(&config, &a.target)?.run_sms(&script).await
        }
    };
    println!("{transcript}");
    if transcript.http_errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} request(s) failed: {}",
            transcript.http_errors.len(),
            transcript.http_errors.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_outcomes_parse() {
        assert_eq!(
            parse_outcome("answered:12").unwrap(),
            DialOutcome::Answered { duration_secs: 12 }
        );
        assert_eq!(
            parse_outcome("answered").unwrap(),
            DialOutcome::Answered { duration_secs: 30 }
        );
        assert_eq!(parse_outcome("No-Answer").unwrap(), DialOutcome::NoAnswer);
        assert!(parse_outcome("maybe").is_err());
        assert!(parse_outcome("answered:x").is_err());
    }
}
