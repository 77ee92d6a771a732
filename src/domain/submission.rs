//! A snippet as a person submits it, parsed once whatever door it came
//! through: the REST API's JSON or `text/plain` body with its query, and
//! the page's form (with or without JavaScript). Each door reads its own
//! encoding into these fields; the rules, and the sentences that refuse,
//! are here once.

use super::{Expiry, Filename, LanguageRequest, SourceCode, SourceError, Visibility};

/// A submission whose every field, and every rule between fields, holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub code: SourceCode,
    pub language: LanguageRequest,
    pub filename: Option<Filename>,
    pub expiry: Expiry,
    pub visibility: Visibility,
    pub burn_after_reading: bool,
}

/// The fields of a submission other than its code, as text: what a form
/// or a query string carries. Absent and blank mean the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmissionText {
    pub language: Option<String>,
    pub filename: Option<String>,
    /// Seconds, or `never`.
    pub expires_in: Option<String>,
    /// `unlisted` or `public`.
    pub visibility: Option<String>,
    /// A flag: `true`/`false`, `on`/`off`, `1`/`0`, `yes`/`no`.
    pub burn_after_reading: Option<String>,
}

impl Submission {
    /// Checks the rules that tie fields together: a burn-after-reading
    /// snippet is never listed, since a list shows its first line (and
    /// announces it to every open home page) before anyone reads it.
    pub fn new(
        code: SourceCode,
        language: LanguageRequest,
        filename: Option<Filename>,
        expiry: Expiry,
        visibility: Visibility,
        burn_after_reading: bool,
    ) -> Result<Self, SourceError> {
        if burn_after_reading && visibility == Visibility::Public {
            return Err(SourceError::BurnCannotBeListed);
        }
        Ok(Submission {
            code,
            language,
            filename,
            expiry,
            visibility,
            burn_after_reading,
        })
    }

    /// From code and text fields (a form, a query string).
    pub fn from_text(code: SourceCode, text: &SubmissionText) -> Result<Self, SourceError> {
        Submission::new(
            code,
            LanguageRequest::parse(text.language.as_deref()),
            Filename::parse(text.filename.as_deref())?,
            Expiry::parse_field(text.expires_in.as_deref())?,
            parse_visibility(text.visibility.as_deref())?,
            parse_flag("burn_after_reading", text.burn_after_reading.as_deref())?,
        )
    }
}

/// A yes-or-no field as forms and query strings spell it. A checkbox sends
/// `on` when ticked and nothing otherwise.
pub fn parse_flag(field: &str, raw: Option<&str>) -> Result<bool, SourceError> {
    match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "off" | "no") => Ok(false),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some(_) => Err(SourceError::NotAFlag {
            field: field.to_owned(),
        }),
    }
}

/// `unlisted` (also when absent or blank) or `public`.
pub fn parse_visibility(raw: Option<&str>) -> Result<Visibility, SourceError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(Visibility::Unlisted),
        Some(raw) => Visibility::parse(raw).ok_or(SourceError::VisibilityInvalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> SourceCode {
        SourceCode::parse("fn main() {}\n".into(), 1024).unwrap()
    }

    #[test]
    fn a_listed_snippet_cannot_burn() {
        let listed_burning = SubmissionText {
            visibility: Some("public".into()),
            burn_after_reading: Some("on".into()),
            ..Default::default()
        };
        assert_eq!(
            Submission::from_text(code(), &listed_burning),
            Err(SourceError::BurnCannotBeListed)
        );
        let unlisted_burning = SubmissionText {
            burn_after_reading: Some("true".into()),
            ..Default::default()
        };
        let parsed = Submission::from_text(code(), &unlisted_burning).unwrap();
        assert!(parsed.burn_after_reading);
        assert_eq!(parsed.visibility, Visibility::Unlisted);
    }

    #[test]
    fn flags_and_visibility_are_spelled_one_way_on_every_door() {
        for yes in ["on", "true", "1", "YES", " True "] {
            assert_eq!(parse_flag("f", Some(yes)), Ok(true), "{yes}");
        }
        for no in ["", "off", "false", "0", "no"] {
            assert_eq!(parse_flag("f", Some(no)), Ok(false), "{no}");
        }
        assert_eq!(parse_flag("f", None), Ok(false));
        assert_eq!(
            parse_flag("burn_after_reading", Some("maybe")),
            Err(SourceError::NotAFlag {
                field: "burn_after_reading".into()
            })
        );
        assert_eq!(parse_visibility(None), Ok(Visibility::Unlisted));
        assert_eq!(parse_visibility(Some("public")), Ok(Visibility::Public));
        assert_eq!(
            parse_visibility(Some("secret")),
            Err(SourceError::VisibilityInvalid)
        );
    }
}
