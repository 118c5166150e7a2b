//! Prices of the usage cost estimate (`switchboard report`, the usage API), in exact millionths of
//! a US dollar.

use super::input::{ConfigError, Input};

/// Unit prices for usage cost estimates, in millionths of a US dollar, so that quantity × price is
/// exact integer arithmetic (a float would drift on sums of many sub-cent prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceTable {
    pub number_monthly: i64,
    pub inbound_per_min: i64,
    pub outbound_per_min: i64,
    pub sms_per_segment: i64,
    pub recording_per_min: i64,
    pub transcription_per_min: i64,
}

impl PriceTable {
    /// Seed 002's table ("Twilio Pricing (as of 2024)"), the default.
    pub const SEED_002: PriceTable = PriceTable {
        number_monthly: 1_000_000,
        inbound_per_min: 8_500,
        outbound_per_min: 13_000,
        sms_per_segment: 7_900,
        recording_per_min: 2_500,
        transcription_per_min: 15_000,
    };
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// usage cost estimate: US dollars per phone number per month (seed 002's table; every
        /// `PRICE_*` takes up to 6 decimals)
        price_number_monthly: i64 = |v| price(&v, PriceTable::SEED_002.number_monthly);

        /// US dollars per inbound call minute
        price_inbound_per_min: i64 = |v| price(&v, PriceTable::SEED_002.inbound_per_min);

        /// US dollars per outbound call minute (also the forwarded legs of inbound calls)
        price_outbound_per_min: i64 = |v| price(&v, PriceTable::SEED_002.outbound_per_min);

        /// US dollars per SMS segment, in or out
        price_sms_per_segment: i64 = |v| price(&v, PriceTable::SEED_002.sms_per_segment);

        /// US dollars per recording minute
        price_recording_per_min: i64 = |v| price(&v, PriceTable::SEED_002.recording_per_min);

        /// US dollars per transcription minute
        price_transcription_per_min: i64 =
            |v| price(&v, PriceTable::SEED_002.transcription_per_min);
    ] [
        => PriceTable = PriceTable {
            number_monthly: price_number_monthly,
            inbound_per_min: price_inbound_per_min,
            outbound_per_min: price_outbound_per_min,
            sms_per_segment: price_sms_per_segment,
            recording_per_min: price_recording_per_min,
            transcription_per_min: price_transcription_per_min,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());

/// Millionths of a dollar as a plain decimal ("0.0085", "1"), for `switchboard config`.
pub fn format_price(micros: i64) -> String {
    let s = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A price in US dollars ("0.0085", "$1.00") as millionths of a dollar: at most six decimal places
/// (finer than any Twilio price), at most $1000.
fn price(v: &Input, default: i64) -> Result<i64, ConfigError> {
    let Some(s) = v.text() else {
        v.show(format_price(default));
        return Ok(default);
    };
    let bad = || {
        v.fail(
            s,
            "is not a price in US dollars such as 0.0085 (at most 6 decimal places, at most 1000)",
        )
    };
    let digits = s.strip_prefix('$').unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty()
        || !all_digits(whole)
        || !all_digits(frac)
        || frac.len() > 6
        || whole.len() > 4
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    let micros = whole * 1_000_000 + frac;
    if micros > 1_000 * 1_000_000 {
        return Err(bad());
    }
    v.show(format_price(micros));
    Ok(micros)
}
