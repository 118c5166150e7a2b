//! Recordings: where their audio is kept, who transcribes them, and who analyses the transcripts.

use std::path::PathBuf;

use url::Url;

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct RecordingsConfig {
    /// Where downloaded recordings are kept (`RECORDINGS_DIR`).
    pub dir: PathBuf,
    pub transcription: TranscriptionConfig,
    /// The chat-completions endpoint that analyses recordings; `None`: built-in rules.
    pub analysis: Option<AnalysisConfig>,
}

/// Who turns recordings into text (`TRANSCRIPTION_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptionProvider {
    None,
    /// Twilio's own transcription (`<Record transcribe>`), posted to the transcription callback.
    Twilio,
    /// An OpenAI-compatible `/v1/audio/transcriptions` endpoint.
    OpenAi,
}

impl TranscriptionProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            TranscriptionProvider::None => "none",
            TranscriptionProvider::Twilio => "twilio",
            TranscriptionProvider::OpenAi => "openai",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TranscriptionConfig {
    pub provider: TranscriptionProvider,
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
}

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
}

pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "whisper-1";
pub const DEFAULT_ANALYSIS_MODEL: &str = "gpt-4o-mini";

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// where downloaded recordings are kept, as `{tenant id}/{RecordingSid}.wav`
        recordings_dir: PathBuf = |v| Ok(PathBuf::from(v.text_or("./recordings")));

        /// `none`, `twilio` (Twilio's own transcription of voicemails up to 2 minutes, posted to the
        /// transcription callback) or `openai` (any OpenAI-compatible `/v1/audio/transcriptions`)
        transcription_provider: TranscriptionProvider = |v| {
            let provider = match v.text().map(str::to_ascii_lowercase).as_deref() {
                None | Some("none" | "off") => TranscriptionProvider::None,
                Some("twilio") => TranscriptionProvider::Twilio,
                Some("openai") => TranscriptionProvider::OpenAi,
                Some(other) => return Err(v.fail(other, "must be none, twilio or openai")),
            };
            v.show(provider.as_str());
            Ok(provider)
        };

        /// base URL of that API (`/v1` is added unless it already ends with it)
        transcription_base_url: Url = |v| v.http_url_or("https://api.openai.com");

        /// its bearer key (none for local servers that need none)
        #[redact(value)]
        transcription_api_key: Option<Secret> = |v| Ok(v.secret());

        /// the transcription model
        transcription_model: String = |v| Ok(v.text_or(DEFAULT_TRANSCRIPTION_MODEL));

        /// an OpenAI-compatible chat-completions API that analyses transcripts; unset: built-in rules
        #[default = "built-in rules"]
        analysis_base_url: Option<Url> = |v| v.http_url();

        /// its bearer key
        #[redact(value)]
        analysis_api_key: Option<Secret> = |v| Ok(v.secret());

        /// the analysis model
        analysis_model: String = |v| Ok(v.text_or(DEFAULT_ANALYSIS_MODEL));
    ] [
        => RecordingsConfig = RecordingsConfig {
            dir: recordings_dir,
            transcription: TranscriptionConfig {
                provider: transcription_provider,
                base_url: transcription_base_url,
                api_key: transcription_api_key,
                model: transcription_model,
            },
            analysis: analysis_base_url.map(|base_url| AnalysisConfig {
                base_url,
                api_key: analysis_api_key,
                model: analysis_model,
            }),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
