//! The lifecycles of calls, messages and notifications in one place: every status each may hold
//! and the order they move in. Twilio's status callbacks arrive out of order and more than once,
//! so a status only replaces one of a lower rank; terminal statuses share the top rank, so none
//! replaces another.
//!
//! Each status is an enum that reads and writes the same strings as before (JSON, the database's
//! TEXT columns), so neither the API's answers nor stored rows change; an unknown string is a
//! [`UnknownStatus`] error, never a panic. (A number's provisioning state is
//! `crate::numbers::ProvisioningState`: only that feature reads it.)

mod call;
mod message;
mod notification;

pub use call::CallStatus;
pub use message::MessageStatus;
pub use notification::NotificationStatus;

/// A status string none of a lifecycle's statuses spell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'")]
pub struct UnknownStatus {
    /// Which lifecycle: `call status`, `message status`, `notification status`.
    pub what: &'static str,
    pub value: String,
}

/// Declares a status enum spelled as fixed strings: `as_str`, `FromStr`, `Display`, serde, sqlx
/// (as TEXT, on either backend) and rusqlite all go through the one list of variants and their
/// spellings. Reading (serde, the database) goes through the type's `decode_str`.
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every status, in the order they are declared.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// Every status as spelled, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text,)+];

            /// The status as spelled in JSON and in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The status spelled `s` (exactly), or an error naming it.
            pub fn parse(s: &str) -> Result<Self, $crate::domain::states::UnknownStatus> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::states::UnknownStatus {
                        what: $what,
                        value: s.to_string(),
                    }),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::states::UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::decode_str(&s).map_err(serde::de::Error::custom)
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
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

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(Self::decode_str(s)?)
            }
        }

        // The SQLite writer thread's own connection reads rows through rusqlite.
        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                Self::decode_str(value.as_str()?)
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}
pub(crate) use status_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward_and_terminals_tie() {
        use CallStatus as C;
        assert!(C::Ringing.rank() < C::InProgress.rank());
        assert!(C::InProgress.rank() < C::Completed.rank());
        assert_eq!(C::Busy.rank(), C::Completed.rank());
        assert!(C::parse("bogus").is_err());
        assert_eq!(C::reported("answered"), Ok(C::InProgress));
        assert!(C::Ringing.can_move_to(C::InProgress));
        assert!(!C::Completed.can_move_to(C::Busy));
        assert!(!C::InProgress.can_move_to(C::Ringing));
        for s in CallStatus::NAMES {
            assert_eq!(C::parse(s).map(C::as_str), Ok(*s));
        }
        use MessageStatus as M;
        assert!(M::Queued.rank() < M::Sent.rank());
        assert_eq!(M::Delivered.rank(), M::Undelivered.rank());
        assert!(M::Sent.can_move_to(M::Delivered));
        assert!(!M::Delivered.can_move_to(M::Undelivered));
        let ranks: Vec<u8> = NotificationStatus::ALL.iter().map(|s| s.rank()).collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 3, 3]);
        assert_eq!(
            NotificationStatus::NAMES,
            [
                "QUEUED",
                "SENDING",
                "SENT",
                "DELIVERED",
                "UNDELIVERED",
                "FAILED"
            ]
        );
    }

    #[test]
    fn spelled_as_before_in_json_and_unknown_is_an_error() {
        assert_eq!(
            serde_json::to_string(&CallStatus::NoAnswer).unwrap(),
            "\"no-answer\""
        );
        assert_eq!(
            serde_json::to_string(&NotificationStatus::Undelivered).unwrap(),
            "\"UNDELIVERED\""
        );
        assert_eq!(
            serde_json::from_str::<MessageStatus>("\"partially_delivered\"").unwrap(),
            MessageStatus::PartiallyDelivered
        );
        let e = serde_json::from_str::<NotificationStatus>("\"queued\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown notification status 'queued'"),
            "{e}"
        );
        assert_eq!(
            "nope".parse::<MessageStatus>().unwrap_err().to_string(),
            "unknown message status 'nope'"
        );
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>(), Ok(*s));
        }
    }
}
