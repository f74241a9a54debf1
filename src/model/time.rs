use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time with millisecond precision, as ImageKit reports `createdAt`/`updatedAt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(since.as_millis() as i64)
    }

    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.0 as u64)
        } else {
            UNIX_EPOCH
        }
    }

    /// ISO 8601 in UTC with milliseconds: `2019-08-24T06:14:41.313Z`.
    pub fn to_iso8601(self) -> String {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let secs_of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            secs_of_day / 3600,
            (secs_of_day / 60) % 60,
            secs_of_day % 60
        )
    }
}

impl Timestamp {
    /// Reads `2024-01-31`, `2024-01-31T10:20:30`, `2024-01-31 10:20:30`, `…T10:20`, with an
    /// optional fraction of a second and `Z` or `±hh:mm`; no offset means UTC.
    pub fn parse_iso8601(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(range)?;
            if part.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(part).ok()?.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let mut millis = days_from_civil(year, month as u32, day as u32) * 86_400_000;
        let rest = &b[10..];
        if rest.is_empty() {
            return Some(Timestamp(millis));
        }
        if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
            return None;
        }
        let (hour, minute) = (digits(11..13)?, digits(14..16)?);
        let mut i = 16;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = digits(i + 1..i + 3)?;
            i += 3;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        millis += ((hour * 60 + minute) * 60 + second) * 1000;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            // Milliseconds: the first three digits, padded.
            let fraction = &text[start..end.min(start + 3)];
            millis += fraction.parse::<i64>().ok()? * 10_i64.pow(3 - fraction.len() as u32);
            i = end;
        }
        match &b[i..] {
            [] | [b'Z'] | [b'z'] => Some(Timestamp(millis)),
            [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
                let (oh, om) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let offset = (oh * 60 + om) * 60_000;
                Some(Timestamp(if *sign == b'+' {
                    millis - offset
                } else {
                    millis + offset
                }))
            }
            _ => None,
        }
    }

    /// The same time of day `months` calendar months earlier; the day is clamped to the
    /// target month's length (31 March minus one month is 28 or 29 February).
    pub fn minus_months(self, months: i64) -> Timestamp {
        let days = self.0.div_euclid(86_400_000);
        let time_of_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let index = year * 12 + i64::from(month) - 1 - months;
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        let day = i64::from(day).min(days_in_month(year, month));
        Timestamp(days_from_civil(year, month as u32, day as u32) * 86_400_000 + time_of_day)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm: exact for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp(0).to_iso8601(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_566_628_481_313).to_iso8601(),
            "2019-08-24T06:34:41.313Z"
        );
        // Leap day and end of a century year that is a leap year.
        assert_eq!(
            Timestamp(951_782_400_000).to_iso8601(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(1_735_689_599_999).to_iso8601(),
            "2024-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn parses_iso8601_forms() {
        let at = |t: &str| Timestamp::parse_iso8601(t).map(Timestamp::millis);
        assert_eq!(at("1970-01-01"), Some(0));
        assert_eq!(at("2000-02-29"), Some(951_782_400_000));
        assert_eq!(at("2019-08-24T06:34:41.313Z"), Some(1_566_628_481_313));
        assert_eq!(at("2019-08-24 06:34:41.3"), Some(1_566_628_481_300));
        assert_eq!(at("2019-08-24T08:34:41.313+02:00"), Some(1_566_628_481_313));
        assert_eq!(at("2019-08-24T06:34"), Some(1_566_628_440_000));
        for bad in [
            "2019-02-29",
            "2019-13-01",
            "2019-08-24T24:00",
            "2019-8-24",
            "2019-08-24T06:34:41+2",
            "x",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        for millis in [0, 951_782_400_000, 1_735_689_599_999, -86_400_000] {
            let t = Timestamp(millis);
            assert_eq!(Timestamp::parse_iso8601(&t.to_iso8601()), Some(t));
        }
    }

    #[test]
    fn months_back_clamp_the_day() {
        let t = |s: &str| Timestamp::parse_iso8601(s).unwrap();
        assert_eq!(
            t("2024-03-31T10:00:00").minus_months(1),
            t("2024-02-29T10:00:00")
        );
        assert_eq!(t("2024-01-15").minus_months(13), t("2022-12-15"));
        assert_eq!(t("2024-02-29").minus_months(12), t("2023-02-28"));
    }
}
