//! What a person submits or saves, parsed once whatever door it came
//! through: the REST API's JSON (`files`, or the one-file shape) or
//! `text/plain` body with its query, and the page's forms (with or without
//! JavaScript). Each door reads its own encoding into [`FileText`] and
//! [`SubmissionText`]; the rules, and the sentences that refuse, are here
//! once.

use serde::{Deserialize, Serialize};

use super::{Expiry, Filename, LanguageRequest, SourceCode, SourceError, Visibility};

/// The limits a submission is parsed under (the server's settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// All the files together, in bytes.
    pub max_bytes: usize,
    pub max_files: usize,
}

/// One file as a door received it: text, unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileText {
    /// A plain file name (`main.rs`); blank for `file1`, `file2`...
    #[serde(default)]
    pub name: Option<String>,
    /// A language name or alias; blank or `auto` detects it.
    #[serde(default)]
    pub language: Option<String>,
    pub code: String,
}

impl FileText {
    /// A file as a browser's form sent it: a textarea's lines end in CRLF
    /// on the wire whatever was typed or pasted, so a form's code is kept
    /// with LF. (The API keeps exactly what it is sent.)
    pub fn from_form(self) -> FileText {
        FileText {
            code: if self.code.contains('\r') {
                self.code.replace("\r\n", "\n")
            } else {
                self.code
            },
            ..self
        }
    }
}

/// One file whose name, language request and code are each valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSubmission {
    /// The name, and whether a person gave it (`false`: the server named
    /// it `file{n}`).
    pub name: Filename,
    pub named: bool,
    pub language: LanguageRequest,
    pub code: SourceCode,
}

/// The files of one revision: 1 to `max_files`, names unique (ignoring
/// case, so that the zip of them unpacks anywhere), at most `max_bytes`
/// together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files(Vec<FileSubmission>);

impl Files {
    pub fn parse(files: Vec<FileText>, limits: Limits) -> Result<Self, SourceError> {
        if files.is_empty() {
            return Err(SourceError::NoFiles);
        }
        if files.len() > limits.max_files {
            return Err(SourceError::TooManyFiles {
                count: files.len(),
                limit: limits.max_files,
            });
        }
        let total: usize = files.iter().map(|f| f.code.len()).sum();
        if total > limits.max_bytes {
            return Err(SourceError::TooLarge {
                actual: total,
                limit: limits.max_bytes,
            });
        }
        let mut named = Vec::with_capacity(files.len());
        for file in files {
            let name = Filename::parse(file.name.as_deref())?;
            let code = SourceCode::parse(file.code, limits.max_bytes)?;
            named.push((name, LanguageRequest::parse(file.language.as_deref()), code));
        }
        // Nameless files are `file1`, `file2`... by position, passing over
        // a name a person gave.
        let given: std::collections::HashSet<String> = named
            .iter()
            .filter_map(|(name, _, _)| name.as_ref().map(|n| n.as_str().to_lowercase()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(named.len());
        let mut counter = 0;
        for (name, language, code) in named {
            let (name, named) = match name {
                Some(name) => (name, true),
                None => loop {
                    counter += 1;
                    let candidate = format!("file{counter}");
                    if !given.contains(&candidate) {
                        break (Filename::parse(Some(&candidate))?.expect("a name"), false);
                    }
                },
            };
            if !seen.insert(name.as_str().to_lowercase()) {
                return Err(SourceError::DuplicateName(name.as_str().to_owned()));
            }
            parsed.push(FileSubmission {
                name,
                named,
                language,
                code,
            });
        }
        Ok(Files(parsed))
    }

    /// One file, as the one-file doors (`text/plain`, the old JSON shape)
    /// send it.
    pub fn one(
        name: Option<&str>,
        language: Option<&str>,
        code: SourceCode,
        limits: Limits,
    ) -> Result<Self, SourceError> {
        Files::parse(
            vec![FileText {
                name: name.map(str::to_owned),
                language: language.map(str::to_owned),
                code: code.as_str().to_owned(),
            }],
            limits,
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &FileSubmission> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FileSubmission> {
        self.0
    }
}

/// A paste or edit form as a person left it, shown again as it was: after
/// "Add file" or "Remove" without JavaScript, or after a refused save (a
/// save never loses what was typed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub files: Vec<FileText>,
    #[serde(default)]
    pub expires_in: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub burn_after_reading: bool,
    /// On the edit page: the revision the changes were made to.
    #[serde(default)]
    pub base_revision: Option<u32>,
    /// Why the last save was refused.
    #[serde(default)]
    pub error: Option<String>,
}

impl Draft {
    /// A form with one empty file.
    pub fn empty() -> Self {
        Draft {
            files: vec![FileText::default()],
            ..Default::default()
        }
    }
}

/// A new snippet whose every field, and every rule between fields, holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub files: Files,
    pub expiry: Expiry,
    pub visibility: Visibility,
    pub burn_after_reading: bool,
}

/// The fields of a submission other than its files, as text: what a form
/// or a query string carries. Absent and blank mean the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmissionText {
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
        files: Files,
        expiry: Expiry,
        visibility: Visibility,
        burn_after_reading: bool,
    ) -> Result<Self, SourceError> {
        if burn_after_reading && visibility == Visibility::Public {
            return Err(SourceError::BurnCannotBeListed);
        }
        Ok(Submission {
            files,
            expiry,
            visibility,
            burn_after_reading,
        })
    }

    /// From files and text fields (a form, a query string).
    pub fn from_text(files: Files, text: &SubmissionText) -> Result<Self, SourceError> {
        Submission::new(
            files,
            Expiry::parse_field(text.expires_in.as_deref())?,
            parse_visibility(text.visibility.as_deref())?,
            parse_flag("burn_after_reading", text.burn_after_reading.as_deref())?,
        )
    }
}

/// A flag as forms and query strings spell it. A checkbox sends `on` when
/// ticked and nothing otherwise.
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

    const LIMITS: Limits = Limits {
        max_bytes: 1024,
        max_files: 3,
    };

    fn text(name: Option<&str>, code: &str) -> FileText {
        FileText {
            name: name.map(str::to_owned),
            language: None,
            code: code.to_owned(),
        }
    }

    fn one(code: &str) -> Files {
        Files::parse(vec![text(None, code)], LIMITS).unwrap()
    }

    #[test]
    fn a_listed_snippet_cannot_burn() {
        let listed_burning = SubmissionText {
            visibility: Some("public".into()),
            burn_after_reading: Some("on".into()),
            ..Default::default()
        };
        assert_eq!(
            Submission::from_text(one("x"), &listed_burning),
            Err(SourceError::BurnCannotBeListed)
        );
        let unlisted_burning = SubmissionText {
            burn_after_reading: Some("true".into()),
            ..Default::default()
        };
        let parsed = Submission::from_text(one("x"), &unlisted_burning).unwrap();
        assert!(parsed.burn_after_reading);
        assert_eq!(parsed.visibility, Visibility::Unlisted);
    }

    #[test]
    fn nameless_files_are_numbered_around_the_names_people_gave() {
        let files = Files::parse(
            vec![text(None, "a"), text(Some("file1"), "b"), text(None, "c")],
            LIMITS,
        )
        .unwrap();
        let names: Vec<(&str, bool)> = files.iter().map(|f| (f.name.as_str(), f.named)).collect();
        assert_eq!(
            names,
            vec![("file2", false), ("file1", true), ("file3", false)]
        );
    }

    #[test]
    fn the_files_of_a_revision_are_few_small_and_uniquely_named() {
        assert_eq!(Files::parse(vec![], LIMITS), Err(SourceError::NoFiles));
        assert_eq!(
            Files::parse(vec![text(None, "a"); 4], LIMITS),
            Err(SourceError::TooManyFiles { count: 4, limit: 3 })
        );
        assert_eq!(
            Files::parse(
                vec![text(None, &"a".repeat(600)), text(None, &"b".repeat(600))],
                LIMITS
            ),
            Err(SourceError::TooLarge {
                actual: 1200,
                limit: 1024
            })
        );
        assert_eq!(
            Files::parse(
                vec![text(Some("Main.rs"), "a"), text(Some("main.rs"), "b")],
                LIMITS
            ),
            Err(SourceError::DuplicateName("main.rs".into()))
        );
        assert_eq!(
            Files::parse(vec![text(Some("a.rs"), "  ")], LIMITS),
            Err(SourceError::Empty)
        );
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
