//! How pages write times: in UTC, as plain digits.
//!
//! chrono's `format` parses its strftime pattern when it runs, so using it
//! ships the whole pattern language to every browser for four fixed
//! layouts. These build the same text from the date's fields.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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

/// Reads a time as the server writes one (`2026-11-28T20:32:09Z`, with a
/// fraction of up to nine digits when it has one): what chrono's
/// `Serialize` makes of a `DateTime<Utc>`.
pub fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<u32>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut time = time.splitn(3, ':').map(str::parse::<u32>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)
        .map(|time| time.and_utc())
}

/// How the browser reads the times in what the server sends (island
/// props, events, answers): with [`parse_utc`], not chrono's parser, which
/// reads every layout chrono knows and weighs the bundle accordingly. The
/// server reads with chrono, as before.
pub mod wire {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, de::Error};

    pub fn utc<'de, D: Deserializer<'de>>(input: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(input)?;
        super::parse_utc(&text).ok_or_else(|| D::Error::custom(format!("not a UTC time: {text}")))
    }

    pub fn maybe_utc<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(input)? {
            Some(text) => super::parse_utc(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not a UTC time: {text}"))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_as_chrono_writes_them() {
        for text in [
            "2026-11-28T20:32:09Z",
            "2026-11-28T20:32:09.039Z",
            "2026-11-28T20:32:09.039123Z",
            "2026-11-28T20:32:09.000000001Z",
            "0999-01-02T03:04:05Z",
        ] {
            let chrono: DateTime<Utc> = text.parse().unwrap();
            assert_eq!(parse_utc(text), Some(chrono), "{text}");
            let written = serde_json::to_string(&chrono).unwrap();
            assert_eq!(
                parse_utc(written.trim_matches('"')),
                Some(chrono),
                "{written}"
            );
        }
        for bad in [
            "",
            "2026-11-28",
            "2026-11-28T20:32:09",
            "2026-11-28T20:32:09+01:00",
            "2026-02-30T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T20:32:09.1234567890Z",
            "2026-11-28T20:32:09.x1Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_browsers_reader_takes_fields_and_absent_values() {
        #[derive(Debug, serde::Deserialize)]
        struct Times {
            #[serde(deserialize_with = "wire::utc")]
            at: DateTime<Utc>,
            #[serde(deserialize_with = "wire::maybe_utc")]
            maybe: Option<DateTime<Utc>>,
            #[serde(default, deserialize_with = "wire::maybe_utc")]
            absent: Option<DateTime<Utc>>,
        }
        let times: Times =
            serde_json::from_str(r#"{"at":"2026-11-28T20:32:09.039Z","maybe":null}"#).unwrap();
        assert_eq!(
            times.at,
            "2026-11-28T20:32:09.039Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!((times.maybe, times.absent), (None, None));
        let wrong = serde_json::from_str::<Times>(r#"{"at":"yesterday","maybe":null}"#);
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .contains("not a UTC time: yesterday")
        );
    }

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
