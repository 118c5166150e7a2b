//! Staff e-mail: the SMTP server and the sender. Checked by hand rather than by lettre, whose TLS
//! set-up needs a crypto provider installed.

use url::Url;

use super::input::{fail, redact_url};

/// `SMTP_URL` in lettre's connection-URL form and the `SMTP_FROM` mailbox.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

/// The URL may carry the mail account's password.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact_url(&self.url))
            .field("from", &self.from)
            .finish()
    }
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// staff e-mail server: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
        /// (STARTTLS), `smtps://user:pass@host:465` (TLS); unset: no e-mail
        #[default = "no staff e-mail"]
        #[redact(password)]
        smtp_url: Option<String> = |v| {
            let Some(s) = v.text() else { return Ok(None) };
            let shown = redact_url(s);
            let url = Url::parse(s).map_err(|e| v.fail(&shown, format!("is not a URL ({e})")))?;
            let tls = url
                .query_pairs()
                .find(|(k, _)| k == "tls")
                .map(|(_, v)| v.into_owned());
            let scheme_ok = matches!(
                (url.scheme(), tls.as_deref()),
                ("smtp", None | Some("required" | "opportunistic")) | ("smtps", None)
            );
            if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
                return Err(v.fail(
                    &shown,
                    "must be smtp://host[:port][?tls=required|opportunistic] or smtps://host[:port], with user:password@ for authentication",
                ));
            }
            Ok(Some(s.to_string()))
        };

        /// sender of staff e-mail, e.g. `Switchboard <noreply@example.com>` (required with
        /// `SMTP_URL`)
        smtp_from: Option<SmtpConfig> = |v| match (smtp_url, v.text()) {
            (None, None) => Ok(None),
            (None, Some(from)) => Err(fail(
                "SMTP_URL",
                "",
                format!("is required with SMTP_FROM={from:?}"),
            )),
            (Some(_), None) => Err(v.fail("", "is required with SMTP_URL")),
            (Some(_), Some(from)) if from.parse::<lettre::message::Mailbox>().is_err() => Err(v.fail(
                from,
                "is not an e-mail address such as \"Switchboard <noreply@example.com>\"",
            )),
            (Some(url), Some(from)) => {
                v.show(from);
                Ok(Some(SmtpConfig {
                    url,
                    from: from.to_string(),
                }))
            }
        };
    ] [
        => Option<SmtpConfig> = smtp_from
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
