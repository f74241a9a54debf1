//! What video and audio containers share: the [`MediaSummary`] Kura serves as ImageKit's video
//! fields, codec names, and date and number helpers.

use serde_json::Value;

use crate::value::{num, round_sig};

/// The fields of ImageKit's `GET /v1/files/{id}/metadata` for video and audio, read from the
/// container (never from the coded stream). Every field is optional: a truncated or unusual file
/// gives what could be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaSummary {
    /// Seconds.
    pub duration: Option<f64>,
    /// ffprobe's codec names: "h264", "hevc", "mpeg4", "av1", "vp8", "vp9", "prores", ...
    pub video_codec: Option<String>,
    /// ffprobe's codec names: "aac", "mp3", "opus", "vorbis", "flac", "pcm_s16le", ...
    pub audio_codec: Option<String>,
    /// Bits per second: the stream's declared rate for MP3 and WAV, else the whole file's size
    /// over its duration (what ffprobe reports as the format's bit_rate).
    pub bit_rate: Option<u64>,
    /// The stored (coded) size of the first video track, or the image size for GIF; see
    /// `rotation` for how it is displayed.
    pub width: Option<u64>,
    pub height: Option<u64>,
    /// Clockwise degrees (0, 90, 180, 270) from the video track's matrix.
    pub rotation: Option<u32>,
    /// H.264/HEVC profile when the decoder configuration names one ("High", "Main", ...).
    pub video_profile: Option<String>,
    pub frame_rate: Option<f64>,
    /// Animated GIFs: frames counted (absent when the scan was cut short).
    pub frame_count: Option<u64>,
    pub audio_sample_rate: Option<u64>,
    pub audio_channels: Option<u64>,
}

impl MediaSummary {
    pub(crate) fn is_empty(&self) -> bool {
        *self == MediaSummary::default()
    }

    /// `bit_rate` from the file size when the container declares none.
    pub(crate) fn finish(&mut self, file_len: u64) {
        if self.bit_rate.is_none()
            && let Some(d) = self.duration.filter(|d| d.is_finite() && *d > 0.0)
        {
            let rate = (file_len as f64) * 8.0 / d;
            if rate.is_finite() && rate < 1.0e15 {
                self.bit_rate = Some(rate.round() as u64);
            }
        }
        if self.duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
            self.duration = None;
        }
    }
}

/// A computed float the way Perl prints it (15 significant digits).
pub(crate) fn f15(x: f64) -> Value {
    num(round_sig(x, 15))
}

/// "YYYY:MM:DD HH:MM:SS" for seconds since 1970 (UTC), exiftool's ConvertUnixTime.
pub(crate) fn unix_date(secs: i64) -> String {
    if secs == 0 {
        return "0000:00:00 00:00:00".into();
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}:{m:02}:{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// QuickTime dates count from 1904; exiftool reads smaller values as Unix times.
pub(crate) fn mac_date(secs: u64) -> String {
    const OFFSET: u64 = (66 * 365 + 17) * 24 * 3600;
    let unix = if secs >= OFFSET { secs - OFFSET } else { secs };
    unix_date(i64::try_from(unix).unwrap_or(0))
}

/// ffprobe's name for an ISO-BMFF / QuickTime sample entry.
pub(crate) fn bmff_codec(fourcc: &[u8; 4]) -> Option<&'static str> {
    Some(match fourcc {
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => "h264",
        b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => "hevc",
        b"mp4v" => "mpeg4",
        b"av01" => "av1",
        b"vp09" => "vp9",
        b"vp08" => "vp8",
        b"s263" | b"h263" => "h263",
        b"jpeg" | b"mjpa" | b"mjpb" => "mjpeg",
        b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores",
        b"mp4a" => "aac",
        b".mp3" => "mp3",
        b"ac-3" => "ac3",
        b"ec-3" => "eac3",
        b"Opus" => "opus",
        b"fLaC" => "flac",
        b"alac" => "alac",
        b"samr" => "amr_nb",
        b"sawb" => "amr_wb",
        b"sowt" => "pcm_s16le",
        b"twos" => "pcm_s16be",
        b"in24" => "pcm_s24be",
        b"fl32" => "pcm_f32be",
        b"ulaw" => "pcm_mulaw",
        b"alaw" => "pcm_alaw",
        _ => return None,
    })
}

/// ffprobe's name for a Matroska CodecID.
pub(crate) fn matroska_codec(id: &str) -> String {
    let known = match id {
        "V_VP8" => "vp8",
        "V_VP9" => "vp9",
        "V_AV1" => "av1",
        "V_MPEG4/ISO/AVC" => "h264",
        "V_MPEGH/ISO/HEVC" => "hevc",
        "V_MPEG2" => "mpeg2video",
        "V_THEORA" => "theora",
        "V_MJPEG" => "mjpeg",
        "V_PRORES" => "prores",
        "A_OPUS" => "opus",
        "A_VORBIS" => "vorbis",
        "A_MPEG/L3" => "mp3",
        "A_MPEG/L2" => "mp2",
        "A_AC3" => "ac3",
        "A_EAC3" => "eac3",
        "A_FLAC" => "flac",
        "A_DTS" => "dts",
        "A_ALAC" => "alac",
        "A_PCM/INT/LIT" => "pcm_s16le",
        "A_PCM/INT/BIG" => "pcm_s16be",
        "A_PCM/FLOAT/IEEE" => "pcm_f32le",
        _ if id.starts_with("A_AAC") => "aac",
        _ if id.starts_with("V_MPEG4/ISO/") => "mpeg4",
        _ => "",
    };
    if known.is_empty() {
        id.get(2..).unwrap_or(id).to_ascii_lowercase()
    } else {
        known.to_owned()
    }
}

/// H.264 `profile_idc` names.
pub(crate) fn avc_profile(idc: u8) -> Option<&'static str> {
    Some(match idc {
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 => "High 10",
        122 => "High 4:2:2",
        244 => "High 4:4:4 Predictive",
        44 => "CAVLC 4:4:4",
        _ => return None,
    })
}

/// HEVC `general_profile_idc` names.
pub(crate) fn hevc_profile(idc: u8) -> Option<&'static str> {
    Some(match idc {
        1 => "Main",
        2 => "Main 10",
        3 => "Main Still Picture",
        4 => "Rext",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(unix_date(0), "0000:00:00 00:00:00");
        assert_eq!(unix_date(1_487_751_628), "2017:02:22 08:20:28");
        assert_eq!(mac_date(0xD4D2_FA4C), "2017:02:22 08:20:28");
        assert_eq!(unix_date(-86_400), "1969:12:31 00:00:00");
        let _ = unix_date(i64::MAX);
        let _ = unix_date(i64::MIN);
    }

    #[test]
    fn summary_bit_rate_from_size() {
        let mut s = MediaSummary {
            duration: Some(2.0),
            ..MediaSummary::default()
        };
        s.finish(1000);
        assert_eq!(s.bit_rate, Some(4000));
        let mut z = MediaSummary {
            duration: Some(0.0),
            ..MediaSummary::default()
        };
        z.finish(1000);
        assert_eq!(z.bit_rate, None);
    }
}
