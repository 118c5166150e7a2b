//! The `switchboard` command line: `serve`, `migrate`, `config`, and operator commands that work
//! directly on the database (tenants, staff, tokens, API keys, jobs). Settings come from flags,
//! environment variables and `.env`, shared by every subcommand.

mod bench;
mod calls;
mod numbers;
mod ops;
mod recordings;
mod report;
mod twilio_cmds;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{self, Config, RawConfig};
use crate::start::{self, Role};
use crate::state::AppState;
use crate::state::Jobs;

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted, multi-tenant telephony backend on Twilio"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: RawConfig,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API and background workers (migrates first).
    Serve {
        /// all (default), api (HTTP only) or worker (jobs only).
        #[arg(long, value_enum, default_value = "all")]
        role: Role,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config {
        /// Print the table of every setting (variable, default, meaning) in Markdown instead, as in
        /// docs/configuration.md.
        #[arg(long)]
        markdown: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(ops::TenantCmd),
    /// Manage a tenant's staff.
    #[command(subcommand)]
    Staff(ops::StaffCmd),
    /// Issue tenant JWTs.
    #[command(subcommand)]
    Token(ops::TokenCmd),
    /// Manage tenant API keys.
    #[command(subcommand)]
    Apikey(ops::ApiKeyCmd),
    /// Print a single-use link that signs a tenant into the web console.
    ConsoleLink {
        /// The tenant's id or slug.
        #[arg(long)]
        tenant: String,
    },
    /// Inspect and retry background jobs.
    #[command(subcommand)]
    Jobs(ops::JobsCmd),
    /// Inspect a tenant's call history.
    #[command(subcommand)]
    Calls(calls::CallsCmd),
    /// A tenant's month: activity, usage and estimated cost.
    Report(report::ReportArgs),
    /// Search, buy, release and repair tenants' Twilio numbers.
    #[command(subcommand)]
    Numbers(numbers::NumbersCmd),
    /// List a tenant's recordings, or write one's audio to a file.
    #[command(subcommand)]
    Recordings(recordings::RecordingsCmd),
    /// Place an outbound call through a running Switchboard (POST /api/twilio/make-call).
    Call(recordings::CallArgs),
    /// Run the Twilio sandbox on its own port (keeps its record across Switchboard restarts).
    Sandbox(twilio_cmds::SandboxArgs),
    /// Play a caller or texter against a running Switchboard.
    #[command(subcommand)]
    Simulate(twilio_cmds::SimulateCmd),
    /// Benchmark an in-process Switchboard on 127.0.0.1 with a throwaway database.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

/// Entry point used by `main`: parse, configure, run, and turn errors into one line and an exit code.
impl Command {
    /// Commands whose output is read by other programs (`switchboard calls list | head`): they end
    /// quietly when the reader goes away, as Unix filters do. Not the servers (`serve`, `sandbox`,
    /// `bench`, `simulate`): a closed log pipe must never stop them.
    fn writes_for_pipes(&self) -> bool {
        !matches!(
            self,
            Command::Serve { .. } | Command::Sandbox(_) | Command::Bench(_) | Command::Simulate(_)
        )
    }
}

/// Rust ignores SIGPIPE, so printing to a closed pipe fails and `println!` panics ("failed printing
/// to stdout: Broken pipe"). Restoring the default makes the process end quietly instead, as `cat`
/// does. Sockets are unaffected (Rust sends with MSG_NOSIGNAL).
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default before any thread is started.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: could not read .env: {e}");
    }
    let cli = Cli::parse();
    if cli.command.writes_for_pipes() {
        default_sigpipe();
    }
    if let Command::Config { markdown: true } = cli.command {
        // The declarations' table does not depend on the settings given.
        print!("{}", config::markdown_table());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_raw(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config { .. } = cli.command {
        // Parsed once already, so this cannot fail; if it did, it would say why.
        return match config::describe(&cli.config) {
            Ok(lines) => {
                for (name, value) in lines {
                    println!("{name:<28} {value}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Bench(_) = cli.command {
        // Per-call info logs would swamp the report and slow what is measured (RUST_LOG still wins).
        let mut quiet = config.clone();
        quiet.log.level = "warn".into();
        crate::telemetry::init(&quiet);
    } else {
        crate::telemetry::init(&config);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port_given = cli.config.port.is_some();
    match rt.block_on(run(cli.command, config, port_given)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config, port_given: bool) -> anyhow::Result<()> {
    match command {
        Command::Serve { role } => serve(config, role).await,
        Command::Migrate => {
            let state = AppState::build(config, Clock::System, Jobs::default()).await?;
            println!("migrations applied ({:?})", state.db.kind());
            Ok(())
        }
        Command::Config { .. } => Ok(()),
        Command::Openapi => {
            let state = AppState::build(config, Clock::System, Jobs::default()).await?;
            println!(
                "{}",
                crate::http::openapi_document(&state).to_pretty_json()?
            );
            Ok(())
        }
        Command::Tenant(cmd) => ops::tenant(config, cmd).await,
        Command::Staff(cmd) => ops::staff(config, cmd).await,
        Command::Token(cmd) => ops::token(config, cmd).await,
        Command::ConsoleLink { tenant } => ops::console_link(config, &tenant).await,
        Command::Apikey(cmd) => ops::apikey(config, cmd).await,
        Command::Jobs(cmd) => ops::jobs(config, cmd).await,
        Command::Calls(cmd) => calls::calls(config, cmd).await,
        Command::Report(args) => report::report(config, args).await,
        Command::Numbers(cmd) => numbers::numbers(config, cmd).await,
        Command::Recordings(cmd) => recordings::recordings(config, cmd).await,
        Command::Call(args) => recordings::call(config, args).await,
        Command::Sandbox(args) => twilio_cmds::sandbox(config, port_given, args).await,
        Command::Simulate(cmd) => twilio_cmds::simulate(config, cmd).await,
        Command::Bench(cmd) => bench::run(config, cmd).await,
    }
}

async fn serve(config: Config, role: Role) -> anyhow::Result<()> {
    let state = AppState::build(config.clone(), Clock::System, Jobs::default()).await?;
    match &state.twilio.sandbox {
        Some(_) => {
            let base = crate::twilio::sandbox_base(&config.server.app_url);
            // Never the auth token: a configured one is a real secret, and the development one is
            // in the README.
            let token = if state.twilio.auth_token == switchboard_twilio::sandbox::DEV_AUTH_TOKEN {
                "the sandbox's development auth token"
            } else {
                "TWILIO_AUTH_TOKEN"
            };
            tracing::info!(
                "Twilio: built-in sandbox at {base} (no Twilio account needed); account {}, webhooks signed with {token}",
                state.twilio.account_sid,
            );
            if let Some(t) = crate::tenants::demo::seed_if_empty(&state)
                .await
                .map_err(|e| anyhow::anyhow!(e.describe()))?
            {
                tracing::info!(tenant = %t.id, number = crate::tenants::demo::DEMO_NUMBER, "seeded the demo tenant 'demo' with two staff members");
            }
            crate::tenants::demo::register_numbers_with_sandbox(&state)
                .await
                .map_err(|e| anyhow::anyhow!(e.describe()))?;
        }
        None => {
            tracing::info!(base = %config.twilio.api_base_url, account = %state.twilio.account_sid, "Twilio: live")
        }
    }
    if !config.twilio.validate_signatures {
        tracing::warn!(
            "TWILIO_VALIDATE_SIGNATURES=false: Twilio webhook signatures are NOT checked; never run like this in production"
        );
    }
    let listener = if role == Role::Worker {
        None
    } else {
        let addr = std::net::SocketAddr::new(config.server.host, config.server.port);
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        tracing::info!(%addr, app_url = %config.server.app_url, database = ?state.db.kind(), ?role, "switchboard listening");
        Some(l)
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    start::run(state, role, listener, shutdown).await
}

/// Cancels `token` on Ctrl-C or SIGTERM (what container orchestrators send).
pub(crate) async fn shutdown_on_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests and jobs");
    token.cancel();
}
