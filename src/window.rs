//! Time: the window of event times a run covers, and points in time as users write them.

use std::str::FromStr;

use jiff::{Span, Timestamp, ToSpan};

/// A half-open window `[start, end)` of event times; either side may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl TimeWindow {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|s| at >= s) && self.end.is_none_or(|e| at < e)
    }
}

/// A point in time as the user writes it: RFC 3339 (`2026-11-01T00:00:00Z`), a date
/// (`2026-11-01`, midnight UTC), or a duration before now (`30d`, `12h`, `90m`, `2w`).
#[derive(Debug, Clone, Copy)]
pub enum TimeArg {
    At(Timestamp),
    Ago(Span),
}

impl TimeArg {
    pub fn resolve(self, now: Timestamp) -> Result<Timestamp, String> {
        match self {
            Self::At(t) => Ok(t),
            Self::Ago(span) => now.checked_sub(span).map_err(|e| e.to_string()),
        }
    }
}

impl FromStr for TimeArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(Self::At(t));
        }
        if let Ok(date) = text.parse::<jiff::civil::Date>() {
            let t = date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| e.to_string())?
                .timestamp();
            return Ok(Self::At(t));
        }
        let unit_at = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(unit_at);
        let n: i64 = number.parse().map_err(|_| invalid(text))?;
        let span = match unit {
            "d" => (n * 24).hours(),
            "w" => (n * 24 * 7).hours(),
            "h" => n.hours(),
            "m" => n.minutes(),
            _ => return Err(invalid(text)),
        };
        Ok(Self::Ago(span))
    }
}

fn invalid(text: &str) -> String {
    format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or an age such as 30d, 12h, 2w"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arguments() {
        let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        let ago: TimeArg = "30d".parse().unwrap();
        assert_eq!(
            ago.resolve(now).unwrap().to_string(),
            "2026-10-23T12:00:00Z"
        );
        let date: TimeArg = "2026-11-01".parse().unwrap();
        assert_eq!(
            date.resolve(now).unwrap().to_string(),
            "2026-11-01T00:00:00Z"
        );
        assert!(
            "yesterday"
                .parse::<TimeArg>()
                .unwrap_err()
                .contains("not a time")
        );
    }

    #[test]
    fn window_is_half_open() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let w = TimeWindow {
            start: Some(t("2026-01-01T00:00:00Z")),
            end: Some(t("2026-01-02T00:00:00Z")),
        };
        assert!(w.contains(t("2026-01-01T00:00:00Z")));
        assert!(!w.contains(t("2026-01-02T00:00:00Z")));
    }
}
