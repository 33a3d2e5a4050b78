//! Audio files: size, exact duration and MIME type, read with symphonia
//! (MP3, M4A/MP4 audio and ADTS AAC; nothing is decoded, only packets counted
//! when the container does not state the duration exactly).

use std::fs::File;
use std::path::Path;

use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::{Duration, TimeBase};

/// What a podcast enclosure needs to know about an audio file.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// The file's size in bytes (the enclosure's `length`).
    pub bytes: u64,
    /// The playable duration in seconds.
    pub seconds: f64,
    /// The enclosure's `type`.
    pub mime: &'static str,
}

/// Reads `path`; the error says what is wrong in words a publisher can act on.
pub fn read(path: &Path) -> Result<AudioInfo, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bytes = file.metadata().map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    if bytes == 0 {
        return Err(format!("{} is empty", path.display()));
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut reader = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            symphonia::core::errors::Error::Unsupported(_) => format!("{} is not an MP3 or M4A file", path.display()),
            e => format!("{} is not an MP3 or M4A file that can be read ({e})", path.display()),
        })?;
    let format = reader.format_info().short_name;
    let mime = match format {
        "mp3" => "audio/mpeg",
        "isomp4" => "audio/x-m4a",
        "aac" => "audio/aac",
        other => return Err(format!("{} is {other} audio: podcast apps expect MP3 or M4A", path.display())),
    };
    let track =
        reader.default_track(TrackType::Audio).ok_or_else(|| format!("{} has no audio track", path.display()))?;
    let (id, time_base) = (track.id, track.time_base);
    let time_base = time_base.ok_or_else(|| format!("{} has no time base: is it damaged?", path.display()))?;
    // MP4 states the duration in its movie header (after the edit list drops the
    // encoder's priming samples); an MP3 states it exactly only in a LAME header
    // (which also gives the encoder delay). Otherwise count the packets.
    let info = reader.media_info();
    let stated = match format {
        "isomp4" => info.time_base.zip(info.duration).or(Some(time_base).zip(track.duration)),
        "mp3" if track.delay.is_some() => Some(time_base).zip(track.duration),
        _ => None,
    };
    let (time_base, duration) = match stated {
        Some(stated) => stated,
        None => {
            let counted = count_packets(&mut *reader, id).map_err(|e| format!("{} is damaged: {e}", path.display()))?;
            (time_base, counted)
        }
    };
    let seconds = seconds(time_base, duration).ok_or_else(|| format!("{} has no duration", path.display()))?;
    if seconds <= 0.0 {
        return Err(format!("{} has no audio in it", path.display()));
    }
    Ok(AudioInfo { bytes, seconds, mime })
}

fn seconds(time_base: TimeBase, duration: Duration) -> Option<f64> {
    time_base.calc_duration(duration).map(|t| t.as_secs_f64())
}

/// The sum of every packet's full duration: exact, at the cost of reading the file.
fn count_packets(reader: &mut dyn FormatReader, track: u32) -> Result<Duration, String> {
    let mut total: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some(packet)) if packet.track_id == track => {
                let full = packet.dur.get() + packet.trim_start.get() + packet.trim_end.get();
                total = total.saturating_add(full);
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(Duration::from(total)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media").join(name)
    }

    #[test]
    fn mp3_with_a_lame_header_has_its_exact_duration() {
        // One second of a 32 kHz tone: the LAME header's delay and padding are left out.
        let info = read(&fixture("tone.mp3")).unwrap();
        assert_eq!(info.mime, "audio/mpeg");
        assert_eq!(info.bytes, 6480);
        assert!((info.seconds - 1.0).abs() < 1e-9, "{}", info.seconds);
    }

    #[test]
    fn mp3_without_a_header_is_measured_by_counting_frames() {
        // The reference episode: 8 kbit/s frames are too small to carry a LAME header.
        let info = read(&fixture("../../../media/009.mp3")).unwrap();
        assert_eq!(info.mime, "audio/mpeg");
        assert!((info.seconds - 6.08).abs() < 0.3, "{}", info.seconds);
    }

    #[test]
    fn m4a_duration_comes_from_the_container() {
        let info = read(&fixture("tone.m4a")).unwrap();
        assert_eq!(info.mime, "audio/x-m4a");
        assert!((info.seconds - 2.0).abs() < 0.1, "{}", info.seconds);
    }

    #[test]
    fn not_audio_is_an_error_naming_the_file() {
        let err = read(&fixture("../../../media/009-cover.png")).unwrap_err();
        assert!(err.contains("009-cover.png is not an MP3 or M4A file"), "{err}");
    }
}
