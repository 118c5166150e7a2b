//! Pacing of what Switchboard asks Twilio to send: SMS segments per number, outbound calls per
//! tenant, each shared by all instances.

#[derive(Debug, Clone)]
pub struct PacingConfig {
    /// SMS segments per second per sending number; 0 = unpaced.
    pub sms_segments_per_second: f64,
    /// Outbound calls per second per tenant; 0 = unpaced.
    pub outbound_calls_per_second: f64,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// SMS segments per second per sending number, shared by all instances; `0` turns pacing off
        sms_segments_per_second: f64 = |v| v.number(1.0, 0.0, 10_000.0);

        /// outbound calls per second per tenant (Twilio's default account limit), shared by all
        /// instances; `0` turns pacing off
        outbound_calls_per_second: f64 = |v| v.number(1.0, 0.0, 1_000.0);
    ] [
        => PacingConfig = PacingConfig {
            sms_segments_per_second,
            outbound_calls_per_second,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
