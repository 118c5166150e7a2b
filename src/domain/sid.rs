//! Twilio's identifiers of calls and messages as types, so a call's SID cannot be handed where a
//! message's is wanted. A SID is parsed where it comes in (a webhook parameter, a callback path, a
//! REST answer) with the shape check of `switchboard_twilio::sid`; what storage hands back was
//! parsed on its way in.

macro_rules! sid_type {
    ($(#[$meta:meta])* $name:ident, $what:literal, [$($prefix:literal),+]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The kinds (two-letter prefixes) this SID may be.
            pub const PREFIXES: &'static [&'static str] = &[$($prefix),+];

            /// `s` if it has the shape of this kind of SID (prefix + 32 hex digits).
            pub fn parse(s: &str) -> Result<Self, BadSid> {
                if Self::PREFIXES
                    .iter()
                    .any(|p| switchboard_twilio::sid::has_shape(s, p))
                {
                    Ok($name(s.to_string()))
                } else {
                    Err(BadSid {
                        what: $what,
                        prefixes: Self::PREFIXES,
                    })
                }
            }

            /// A SID as storage holds it (written only after [`Self::parse`], or by a test's own
            /// fixture): no shape check, so a row is always found by what it holds.
            pub fn stored(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
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
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }
    };
}

/// A value that is not a SID of the kind wanted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Twilio {what}: {} followed by 32 hexadecimal digits", prefixes.join(" or "))]
pub struct BadSid {
    pub what: &'static str,
    pub prefixes: &'static [&'static str],
}

sid_type!(
    /// A call's SID (`CA` + 32 hex digits).
    CallSid,
    "CallSid",
    ["CA"]
);

sid_type!(
    /// A message's SID (`SM` for an SMS, `MM` for an MMS, + 32 hex digits).
    MessageSid,
    "MessageSid",
    ["SM", "MM"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_takes_only_its_own_shape() {
        let call = "CA0123456789abcdef0123456789abcdef";
        let sms = "SM0123456789abcdef0123456789abcdef";
        let mms = "MM0123456789abcdef0123456789abcdef";
        assert_eq!(CallSid::parse(call).unwrap().as_str(), call);
        assert!(MessageSid::parse(call).is_err());
        assert!(CallSid::parse(sms).is_err());
        assert!(MessageSid::parse(sms).is_ok() && MessageSid::parse(mms).is_ok());
        assert!(CallSid::parse("CA123").is_err());
        assert_eq!(
            CallSid::parse("").unwrap_err().to_string(),
            "not a Twilio CallSid: CA followed by 32 hexadecimal digits"
        );
        assert_eq!(
            serde_json::to_string(&CallSid::parse(call).unwrap()).unwrap(),
            format!("\"{call}\"")
        );
    }
}
