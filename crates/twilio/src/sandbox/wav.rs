//! Recording media: a real WAV, and an MP3 that decodes to silence.
//!
//! WAV: PCM, 8 kHz, 16-bit, one channel per recording channel, exactly `duration` seconds long
//! (data = 8000 × 2 × channels × seconds bytes), holding a quiet 440 Hz tone so that tools
//! which flag silent audio do not flag it.
//!
//! MP3: the sandbox has no encoder, so `.mp3` is a run of valid MPEG-1 Layer III frames (32 kHz,
//! mono, 32 kbit/s, 144 bytes and 36 ms each) whose side information says "no audio data":
//! decoders play silence. Rounded up to whole frames, so it lasts at most 36 ms too long.

use std::f64::consts::TAU;

const SAMPLE_RATE: u32 = 8000;
const BITS_PER_SAMPLE: u16 = 16;
/// About -40 dBFS: audible if you listen for it, far from clipping.
const TONE_AMPLITUDE: f64 = 320.0;
const TONE_HZ: f64 = 440.0;

/// A WAV file of `duration_secs` seconds.
pub(crate) fn tone_wav(duration_secs: u32, channels: u16) -> Vec<u8> {
    let channels = channels.max(1);
    let block_align = channels * (BITS_PER_SAMPLE / 8);
    let byte_rate = SAMPLE_RATE * u32::from(block_align);
    let frames = SAMPLE_RATE * duration_secs;
    let data_len = frames * u32::from(block_align);
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS_PER_SAMPLE.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..frames {
        let t = f64::from(n) / f64::from(SAMPLE_RATE);
        let sample = (TONE_AMPLITUDE * (TAU * TONE_HZ * t).sin()).round() as i16;
        for _ in 0..channels {
            out.extend_from_slice(&sample.to_le_bytes());
        }
    }
    out
}

/// MPEG-1 Layer III header: sync, MPEG-1, Layer III, no CRC (`FF FB`); 32 kbit/s, 32 kHz, no
/// padding (`18`); mono, not copyrighted, original (`C4`).
const MP3_HEADER: [u8; 4] = [0xFF, 0xFB, 0x18, 0xC4];
/// 144 × bitrate / sample rate = 144 × 32000 / 32000.
const MP3_FRAME_LEN: usize = 144;
/// 1152 samples at 32 kHz.
const MP3_FRAME_MS: u32 = 36;

/// Silent MP3 lasting `duration_secs` (rounded up to a whole frame).
pub(crate) fn silent_mp3(duration_secs: u32) -> Vec<u8> {
    let frames = (duration_secs * 1000).div_ceil(MP3_FRAME_MS) as usize;
    let mut out = Vec::with_capacity(frames * MP3_FRAME_LEN);
    for _ in 0..frames {
        out.extend_from_slice(&MP3_HEADER);
        // All-zero side information (17 bytes for mono MPEG-1) and main data: every granule has
        // part2_3_length 0, i.e. no coded samples, which decodes to silence.
        out.resize(out.len() + MP3_FRAME_LEN - MP3_HEADER.len(), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn wav_header_describes_8khz_16bit_pcm_of_the_right_length() {
        let wav = tone_wav(3, 1);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(u32_at(&wav, 4) as usize, wav.len() - 8);
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&wav, 24), 8000);
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u32_at(&wav, 40), 8000 * 2 * 3);
        assert_eq!(wav.len(), 44 + 8000 * 2 * 3);
    }

    #[test]
    fn wav_is_a_quiet_tone_not_silence() {
        let wav = tone_wav(1, 1);
        let peak = wav[44..]
            .chunks_exact(2)
            .map(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs())
            .max()
            .unwrap();
        assert!((100..=1000).contains(&peak), "peak {peak}");
    }

    #[test]
    fn dual_channel_wav_doubles_the_data() {
        let wav = tone_wav(2, 2);
        assert_eq!(u32_at(&wav, 40), 8000 * 2 * 2 * 2);
    }

    #[test]
    fn mp3_is_whole_frames_covering_the_duration() {
        let mp3 = silent_mp3(5);
        // 5000 ms / 36 ms = 138.9 → 139 frames.
        assert_eq!(mp3.len(), 139 * 144);
        assert!(mp3.chunks_exact(144).all(|f| f[..4] == MP3_HEADER));
    }
}
