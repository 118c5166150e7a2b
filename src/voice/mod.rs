//! Inbound calls: the voice webhook and its follow-ups (dial action, gather action, status callback).

pub mod reason;
pub mod speech;
