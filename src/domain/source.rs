//! What a person submits: the code, an optional file name, an optional
//! language. Parsed once at the edge; the rest of the program trusts them.

use serde::{Deserialize, Serialize};

/// Default for the `max_snippet_bytes` setting: 512 KiB.
pub const DEFAULT_MAX_SNIPPET_BYTES: usize = 512 * 1024;

/// Why a submission was refused. Each message is a sentence for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SourceError {
    #[error("The snippet is empty: paste some code first.")]
    Empty,
    #[error(
        "The snippet is {actual} bytes, over the limit of {limit} bytes ({} KiB).",
        limit / 1024
    )]
    TooLarge { actual: usize, limit: usize },
    #[error("The snippet contains a NUL byte; binary files cannot be highlighted.")]
    ContainsNul,
    #[error("The snippet is not valid UTF-8 text.")]
    NotUtf8,
    #[error("The file name is too long: at most 255 characters.")]
    FilenameTooLong,
    #[error(
        "The file name must be a plain name, without slashes, control characters, or invisible characters such as zero-width spaces and text-direction overrides."
    )]
    FilenameInvalid,
    #[error(
        "`expires_in` must be a number of seconds from 60 (one minute) to 31536000 (one year), or null for never."
    )]
    ExpiryInvalid,
    #[error("`visibility` must be `unlisted` or `public`.")]
    VisibilityInvalid,
    #[error("`{field}` must be true or false.")]
    NotAFlag { field: String },
    #[error(
        "A burn-after-reading snippet cannot be listed on the front page: the list would show it before anyone reads it. Choose one of the two."
    )]
    BurnCannotBeListed,
    #[error("A snippet needs at least one file.")]
    NoFiles,
    #[error("A snippet holds at most {limit} files; this one has {count}.")]
    TooManyFiles { count: usize, limit: usize },
    #[error(
        "Two files are named `{0}` (names are compared ignoring case): every file needs a name of its own."
    )]
    DuplicateName(String),
}

impl SourceError {
    /// Too large is a different kind of refusal (HTTP 413) from malformed.
    pub fn is_too_large(&self) -> bool {
        matches!(self, SourceError::TooLarge { .. })
    }
}

/// Code that is non-blank, NUL-free UTF-8 within the size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCode(String);

impl SourceCode {
    pub fn parse(raw: String, max_bytes: usize) -> Result<Self, SourceError> {
        if raw.len() > max_bytes {
            return Err(SourceError::TooLarge {
                actual: raw.len(),
                limit: max_bytes,
            });
        }
        if raw.trim().is_empty() {
            return Err(SourceError::Empty);
        }
        if raw.contains('\0') {
            return Err(SourceError::ContainsNul);
        }
        Ok(SourceCode(raw))
    }

    /// For bodies that arrive as bytes (`text/plain`): UTF-8 is checked
    /// here so the caller cannot forget it.
    pub fn parse_bytes(raw: Vec<u8>, max_bytes: usize) -> Result<Self, SourceError> {
        if raw.len() > max_bytes {
            return Err(SourceError::TooLarge {
                actual: raw.len(),
                limit: max_bytes,
            });
        }
        let text = String::from_utf8(raw).map_err(|_| SourceError::NotUtf8)?;
        SourceCode::parse(text, max_bytes)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn line_count(&self) -> u32 {
        line_count(&self.0)
    }

    pub fn preview(&self) -> String {
        preview(&self.0)
    }
}

/// A plain file name such as `main.rs`: it names the download and helps to
/// guess the language, so it must not carry a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filename(String);

impl Filename {
    /// Blank means "no file name".
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, SourceError> {
        let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        if name.chars().count() > 255 {
            return Err(SourceError::FilenameTooLong);
        }
        if name.contains(['/', '\\'])
            || name
                .chars()
                .any(|c| c.is_control() || is_invisible_format(c))
            || name == ".."
        {
            return Err(SourceError::FilenameInvalid);
        }
        Ok(Some(Filename(name.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text after the last dot, or the whole name when it has none
    /// (`Makefile`, `Dockerfile`), which is how grammars list them.
    pub fn extension(&self) -> &str {
        match self.0.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext,
            _ => &self.0,
        }
    }
}

/// Characters a name is not shown as: Unicode's format characters
/// (general category Cf, as of Unicode 14), and the line and paragraph
/// separators. Some reorder the text around them (`invoice\u{202E}fdp.exe`
/// reads as `invoiceexe.pdf`); the zero-width ones make two names that
/// look the same differ (`main.rs` and `ma\u{200B}in.rs`).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{13438}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Lines as a person counts them: a last line without a newline counts.
pub fn line_count(code: &str) -> u32 {
    let newlines = code.bytes().filter(|&b| b == b'\n').count();
    let unterminated = usize::from(!code.is_empty() && !code.ends_with('\n'));
    u32::try_from(newlines + unterminated).unwrap_or(u32::MAX)
}

/// The first non-blank line, cut to a length that fits a list row: how a
/// list shows a snippet that has no file name. Applying it twice changes
/// nothing.
pub fn preview(code: &str) -> String {
    const MAX_CHARS: usize = 80;
    let line = code
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(MAX_CHARS).collect();
    if line.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// How long a snippet lives: `None` is forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry(Option<std::time::Duration>);

impl Expiry {
    pub const MIN_SECS: u64 = 60;
    pub const MAX_SECS: u64 = 365 * 24 * 3600;

    pub fn never() -> Self {
        Expiry(None)
    }

    pub fn parse_secs(secs: Option<i64>) -> Result<Self, SourceError> {
        match secs {
            None => Ok(Expiry(None)),
            Some(s) if (Self::MIN_SECS as i64..=Self::MAX_SECS as i64).contains(&s) => {
                Ok(Expiry(Some(std::time::Duration::from_secs(s as u64))))
            }
            Some(_) => Err(SourceError::ExpiryInvalid),
        }
    }

    /// From a form or query field: blank or `never` is forever.
    pub fn parse_field(raw: Option<&str>) -> Result<Self, SourceError> {
        match raw.map(str::trim) {
            None | Some("") | Some("never") => Ok(Expiry(None)),
            Some(text) => {
                Self::parse_secs(Some(text.parse().map_err(|_| SourceError::ExpiryInvalid)?))
            }
        }
    }

    pub fn duration(self) -> Option<std::time::Duration> {
        self.0
    }
}

/// The language a person asked for: a name or alias the engine must know,
/// or nothing ("auto"), which asks the server to detect it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LanguageRequest {
    Auto,
    Named(String),
}

impl LanguageRequest {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw.map(str::trim) {
            None | Some("") => LanguageRequest::Auto,
            Some(name) if name.eq_ignore_ascii_case("auto") => LanguageRequest::Auto,
            Some(name) => LanguageRequest::Named(name.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rules() {
        assert_eq!(SourceCode::parse("".into(), 10), Err(SourceError::Empty));
        assert_eq!(
            SourceCode::parse(" \n\t\r\n".into(), 10),
            Err(SourceError::Empty)
        );
        assert_eq!(
            SourceCode::parse("a\0b".into(), 10),
            Err(SourceError::ContainsNul)
        );
        assert_eq!(
            SourceCode::parse("abcdefghijk".into(), 10),
            Err(SourceError::TooLarge {
                actual: 11,
                limit: 10
            })
        );
        assert_eq!(
            SourceCode::parse_bytes(vec![0xff, 0xfe], 10),
            Err(SourceError::NotUtf8)
        );
        // Exactly at the limit is allowed; multi-byte text counts in bytes.
        assert!(SourceCode::parse("héllo".into(), 6).is_ok());
        assert!(SourceCode::parse("héllo!".into(), 6).is_err());
    }

    #[test]
    fn filename_rules() {
        assert_eq!(Filename::parse(None), Ok(None));
        assert_eq!(Filename::parse(Some("  ")), Ok(None));
        let f = Filename::parse(Some("main.rs")).unwrap().unwrap();
        assert_eq!(f.extension(), "rs");
        let f = Filename::parse(Some("Makefile")).unwrap().unwrap();
        assert_eq!(f.extension(), "Makefile");
        let f = Filename::parse(Some(".bashrc")).unwrap().unwrap();
        assert_eq!(f.extension(), ".bashrc");
        assert_eq!(
            Filename::parse(Some("../x.rs")),
            Err(SourceError::FilenameInvalid)
        );
        assert_eq!(
            Filename::parse(Some("a\nb")),
            Err(SourceError::FilenameInvalid)
        );
        for trick in [
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b.rs",
            "x\u{202A}.py",
            "ma\u{200B}in.rs",
            "\u{FEFF}main.rs",
            "main\u{2060}.rs",
            "soft\u{AD}hyphen.rs",
            "line\u{2028}break.rs",
            "tag\u{E0041}.rs",
        ] {
            assert_eq!(
                Filename::parse(Some(trick)),
                Err(SourceError::FilenameInvalid),
                "{trick:?}"
            );
        }
        assert!(Filename::parse(Some("résumé.md")).unwrap().is_some());
    }

    #[test]
    fn line_counting_matches_the_corpus_manifest_rule() {
        assert_eq!(line_count("a\nb\n"), 2);
        assert_eq!(line_count("a\nb"), 2);
        assert_eq!(line_count("a\r\nb"), 2);
        assert_eq!(line_count("\n"), 1);
        assert_eq!(line_count(""), 0);
    }

    #[test]
    fn preview_skips_blank_lines_cuts_long_ones_and_is_idempotent() {
        assert_eq!(preview("\n\n  fn main() {}\n"), "fn main() {}");
        let long = "x".repeat(100);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), 81);
        assert_eq!(preview(&cut), cut);
    }

    #[test]
    fn expiry_rules() {
        assert_eq!(Expiry::parse_secs(None), Ok(Expiry::never()));
        assert!(Expiry::parse_secs(Some(59)).is_err());
        assert!(Expiry::parse_secs(Some(60)).is_ok());
        assert!(Expiry::parse_secs(Some(-5)).is_err());
        assert!(Expiry::parse_secs(Some(Expiry::MAX_SECS as i64 + 1)).is_err());
        assert_eq!(Expiry::parse_field(Some("")), Ok(Expiry::never()));
        assert_eq!(
            Expiry::parse_field(Some("3600")).unwrap().duration(),
            Some(std::time::Duration::from_secs(3600))
        );
        assert!(Expiry::parse_field(Some("soon")).is_err());
    }

    #[test]
    fn language_request() {
        assert_eq!(LanguageRequest::parse(None), LanguageRequest::Auto);
        assert_eq!(LanguageRequest::parse(Some("AUTO")), LanguageRequest::Auto);
        assert_eq!(
            LanguageRequest::parse(Some(" rs ")),
            LanguageRequest::Named("rs".into())
        );
    }
}
