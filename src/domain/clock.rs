//! How pages write times: in UTC, as plain digits.
//!
//! chrono's `format` parses its strftime pattern when it runs, so using it
//! ships the whole pattern language to every browser for four fixed
//! layouts. These build the same text from the date's fields.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2026-11-28 20:32`
pub fn date_and_minute(at: &DateTime<Utc>) -> String {
    format!("{} {}", date(at), hour_and_minute(at))
}

/// `2026-11-28 20:32:09`
pub fn date_and_second(at: &DateTime<Utc>) -> String {
    format!("{} {}", date(at), time_of_day(at))
}

/// `20:32:09`
pub fn time_of_day(at: &DateTime<Utc>) -> String {
    format!("{}:{:02}", hour_and_minute(at), at.second())
}

/// `20:32`
pub fn hour_and_minute(at: &DateTime<Utc>) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

fn date(at: &DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layouts_match_strftime() {
        for at in [
            DateTime::<Utc>::UNIX_EPOCH,
            "2026-11-28T20:32:09.999Z".parse().unwrap(),
            "0999-01-02T03:04:05Z".parse().unwrap(),
        ] {
            assert_eq!(
                date_and_minute(&at),
                at.format("%Y-%m-%d %H:%M").to_string()
            );
            assert_eq!(
                date_and_second(&at),
                at.format("%Y-%m-%d %H:%M:%S").to_string()
            );
            assert_eq!(time_of_day(&at), at.format("%H:%M:%S").to_string());
            assert_eq!(hour_and_minute(&at), at.format("%H:%M").to_string());
        }
    }
}
