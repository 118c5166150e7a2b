//! What a call's row keeps of its routing plan: the strategy it follows and the numbers it rings,
//! typed from the plan to the database and back (stored as TEXT: the strategy's name, the numbers
//! as a JSON array).

use super::routing::Strategy;
use super::states::{UnknownStatus, status_enum};

status_enum! {
    /// The strategy a call follows: an inbound call's routing strategy, or `outbound` for a call
    /// Switchboard placed (outbound and click-to-call).
    CallStrategy, "call strategy" {
        Forward = "forward",
        ForwardExternal = "forward_external",
        Voicemail = "voicemail",
        Gather = "gather",
        AiAssistant = "ai_assistant",
        Outbound = "outbound",
    }
}

impl CallStrategy {
    fn decode_str(s: &str) -> Result<Self, UnknownStatus> {
        Self::parse(s)
    }

    /// The routing strategy an inbound call follows; an outbound call's steps are those of
    /// voicemail once its targets are done.
    pub const fn routing(self) -> Strategy {
        match self {
            Self::Forward => Strategy::Forward,
            Self::ForwardExternal => Strategy::ForwardExternal,
            Self::Gather => Strategy::Gather,
            Self::AiAssistant => Strategy::AiAssistant,
            Self::Voicemail | Self::Outbound => Strategy::Voicemail,
        }
    }
}

impl From<Strategy> for CallStrategy {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Forward => Self::Forward,
            Strategy::ForwardExternal => Self::ForwardExternal,
            Strategy::Voicemail => Self::Voicemail,
            Strategy::Gather => Self::Gather,
            Strategy::AiAssistant => Self::AiAssistant,
        }
    }
}

/// The numbers a call rings one after another (E.164), stored as a JSON array of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RouteTargets(pub Vec<String>);

impl RouteTargets {
    /// The JSON array the column holds.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    /// Reads the column's JSON array.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s).map(RouteTargets)
    }

    /// Reads the column as a row in JSON carries it (PostgreSQL's `json_agg` of a row writes the
    /// column's text, itself a JSON array, as a string).
    pub fn deserialize_column<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Self::from_json(&s).map_err(serde::de::Error::custom)
    }
}

impl std::ops::Deref for RouteTargets {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for RouteTargets {
    fn from(v: Vec<String>) -> Self {
        RouteTargets(v)
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for RouteTargets
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for RouteTargets
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, DB>>::encode(self.to_json(), buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for RouteTargets
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(Self::from_json(s)?)
    }
}

impl rusqlite::types::FromSql for RouteTargets {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Self::from_json(value.as_str()?)
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_and_targets_read_as_stored() {
        for s in CallStrategy::ALL {
            assert_eq!(CallStrategy::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(
            CallStrategy::from(Strategy::AiAssistant).as_str(),
            "ai_assistant"
        );
        assert_eq!(CallStrategy::Outbound.routing(), Strategy::Voicemail);
        assert!(CallStrategy::parse("teleport").is_err());
        let t = RouteTargets(vec!["+14155550100".into(), "+14155550101".into()]);
        assert_eq!(t.to_json(), r#"["+14155550100","+14155550101"]"#);
        assert_eq!(RouteTargets::from_json(&t.to_json()).unwrap(), t);
        assert_eq!(
            RouteTargets::from_json("[]").unwrap(),
            RouteTargets::default()
        );
        assert!(RouteTargets::from_json("nope").is_err());
    }
}
