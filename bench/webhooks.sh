#!/usr/bin/env bash
# The webhook benchmark of the README's "Performance" section. In one run, on this machine:
#   1. Switchboard (release `serve`) on SQLite, then on PostgreSQL (when one is reachable),
#      each seeded with one tenant per number of the shared tenants file;
#   2. a bare axum handler answering fixed TwiML (crates/bare-twiml), the yardstick;
# each driven by the shared signed-webhook load generator (wrk replaying unique webhooks signed by
# the official twilio package). Prints every RESULT line, resident memory, and the ratio to bare axum.
# Load goes to 127.0.0.1 only and every run stops by itself.
#
#   bench/webhooks.sh [--duration S] [--warmup S] [--connections N] [--only sqlite|postgres]
# Environment: SHARED_DIR (default ../shared), BENCH_PG_SERVER (default postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_PG_OPTIONS (the benchmark database URL's query, default sslmode=disable: on loopback TLS
# protects nothing and costs CPU on both ends, and Node's `pg`, the issue's baseline, connects
# without it unless told).
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED="${SHARED_DIR:-../shared}"
LOADGEN="$SHARED/bench/loadgen/run-load.sh"
NUMBERS="$SHARED/bench/tenants.txt"
PG_SERVER="${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_OPTIONS="${BENCH_PG_OPTIONS:-sslmode=disable}"
DURATION=15 WARMUP=3 CONNECTIONS=64 ONLY=""
TOKEN=bench0auth0token0not0a0secret000
ACCOUNT=AC00000000000000000000000000000bec
BASE_URL=https://bench.example

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--warmup S] [--connections N] [--only sqlite|postgres]" >&2; exit 2 ;;
  esac
done

[ -x "$LOADGEN" ] || [ -f "$LOADGEN" ] || { echo "no load generator at $LOADGEN (set SHARED_DIR)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
python3 -c 'import twilio' 2>/dev/null || python3 -m pip install --quiet -r "$SHARED/bench/loadgen/requirements.txt"

echo "== building release binaries" >&2
# Two invocations, each of one package, so that neither lends its dependencies' features to the
# other's: the benchmark measures the `serve` a deployment builds. The bare handler's package needs
# only axum and tokio, so it builds in about a minute after `serve`.
cargo build --release --quiet --bin switchboard
cargo build --release --quiet -p bare-twiml
SB=target/release/switchboard
BARE=target/release/bare-twiml

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${PG_DB:-}" ] && psql "$PG_SERVER" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2/1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
wait_up() { for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Peak RSS of $1 while the load runs, written to $2.
watch_rss() {
  local pid=$1 out=$2 peak=0
  while kill -0 "$pid" 2>/dev/null; do
    local kb; kb=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$peak" ] && peak=$kb
    echo "$peak" >"$out"; sleep 0.5
  done
}

load() { # $1 = port; prints the RESULT line
  "$LOADGEN" --target "http://127.0.0.1:$1" --base-url "$BASE_URL" --auth-token "$TOKEN" \
    --numbers-file "$NUMBERS" --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
    --max-rps 60000 2>"$WORK/load.err" | tail -1
}

run_switchboard() { # $1 = label, $2 = database URL
  local label=$1 db=$2 port; port=$(free_port)
  local env=(env -i PATH="$PATH" HOME="${HOME:-/root}" DATABASE_URL="$db" PORT="$port" HOST=127.0.0.1
    APP_URL="$BASE_URL" TWILIO_SANDBOX=true TWILIO_ACCOUNT_SID="$ACCOUNT" TWILIO_AUTH_TOKEN="$TOKEN"
    JWT_SECRET=bench-jwt-secret-0123456789 LOG_LEVEL=warn)
  "${env[@]}" "$SB" migrate >/dev/null
  "${env[@]}" "$SB" bench seed --numbers-file "$NUMBERS" >/dev/null
  # The HTTP role: the webhooks alone (the send path has its own benchmark, `switchboard bench sms`).
  "${env[@]}" "$SB" serve --role api >"$WORK/$label.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  wait_up "$port" || { echo "$label: serve did not start" >&2; cat "$WORK/$label.log" >&2; exit 1; }
  sleep 1
  local idle; idle=$(rss_mb "$pid")
  watch_rss "$pid" "$WORK/$label.peak" & PIDS+=("$!")
  local res; res=$(load "$port") || { cat "$WORK/load.err" >&2; exit 1; }
  local peak; peak=$(awk '{ printf "%.1f", $1/1024 }' "$WORK/$label.peak")
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  echo "$label $res idle_rss_mb=$idle peak_rss_mb=$peak"
}

declare -A RPS
report() { # $1 = line
  echo "$1"
  RPS[$(cut -d' ' -f1 <<<"$1")]=$(field rps "$1")
}

if [ "$ONLY" != postgres ]; then
  report "$(run_switchboard switchboard-sqlite "sqlite://$WORK/bench.db")"
fi
if [ "$ONLY" != sqlite ]; then
  if psql "$PG_SERVER" -Atc 'select 1' >/dev/null 2>&1; then
    PG_DB="sb_bench_$$"
    psql "$PG_SERVER" -qc "CREATE DATABASE $PG_DB" >/dev/null
    report "$(run_switchboard switchboard-postgres "${PG_SERVER%/*}/$PG_DB${PG_OPTIONS:+?$PG_OPTIONS}")"
  else
    echo "switchboard-postgres skipped: no PostgreSQL at $PG_SERVER" >&2
  fi
fi

port=$(free_port)
"$BARE" "127.0.0.1:$port" & PIDS+=("$!")
sleep 0.5
report "bare-axum $(load "$port")"

echo
for k in switchboard-sqlite switchboard-postgres; do
  [ -n "${RPS[$k]:-}" ] && [ -n "${RPS[bare-axum]:-}" ] &&
    awk -v a="${RPS[$k]}" -v b="${RPS[bare-axum]}" -v k="$k" 'BEGIN { printf "%s / bare-axum = %.1f %%\n", k, 100 * a / b }'
done
