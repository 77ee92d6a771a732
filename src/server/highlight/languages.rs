//! The catalogue of languages: every grammar the engine knows, the names
//! and aliases people type for them, and detection when they type none.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
};

use syntect::parsing::{SyntaxReference, SyntaxSet};

use super::{
    lexer::Lexer,
    pygments::{self, PygmentsSyntax},
};
use crate::domain::{Filename, LanguageInfo};

/// Names people use that are neither a grammar's name nor one of its file
/// extensions. Pairs whose grammar is missing are skipped.
const EXTRA_ALIASES: &[(&str, &str)] = &[
    ("c#", "C#"),
    ("csharp", "C#"),
    ("cpp", "C++"),
    ("cplusplus", "C++"),
    ("objc", "Objective-C"),
    ("objective-c", "Objective-C"),
    ("shell", "Bourne Again Shell (bash)"),
    ("bash", "Bourne Again Shell (bash)"),
    ("sh", "Bourne Again Shell (bash)"),
    ("zsh", "Bourne Again Shell (bash)"),
    ("golang", "Go"),
    ("js", "JavaScript"),
    ("javascript", "JavaScript"),
    ("node", "JavaScript"),
    ("ts", "TypeScript"),
    ("py", "Python"),
    ("python3", "Python"),
    ("rb", "Ruby"),
    ("rs", "Rust"),
    ("yml", "YAML"),
    ("md", "Markdown"),
    ("docker", "Dockerfile"),
    ("make", "Makefile"),
    ("text", "Plain Text"),
    ("plain", "Plain Text"),
    ("txt", "Plain Text"),
    ("tex", "LaTeX"),
    ("ps1", "PowerShell"),
    ("powershell", "PowerShell"),
    ("elisp", "Lisp"),
    ("emacs-lisp", "Lisp"),
    ("viml", "VimL"),
    ("vim", "VimL"),
    // Pygments' HTML+PHP was a language of its own here until PHP's
    // grammar read a template's HTML too; its alias stays valid.
    ("html+php", "PHP"),
];

/// The grammar names of the engine, with lookup by any alias.
#[derive(Clone)]
pub struct Languages {
    syntaxes: Arc<SyntaxSet>,
    /// Pygments' lexers for the languages `syntaxes` lacks, each parsed on
    /// first use.
    pygments: Arc<Vec<PygmentsSyntax>>,
    /// Pygments' lexers that serve languages of `syntaxes` (or of
    /// tree-sitter) in place of their grammar, under our names.
    served: Arc<Vec<PygmentsSyntax>>,
    /// File extensions (and whole file names) that Pygments' file
    /// patterns give a language and the base set does not detect by, to
    /// that language: a converted lexer's, or one of ours that known.txt
    /// pairs with a Pygments lexer (`.fun` is Standard ML).
    pygments_by_extension: Arc<HashMap<String, String>>,
    list: Arc<Vec<LanguageInfo>>,
    by_alias: Arc<HashMap<String, String>>,
    /// Every name as `<option>`s, written once for every page's datalist.
    options_html: Arc<str>,
}

impl Languages {
    pub fn new(syntaxes: Arc<SyntaxSet>) -> Self {
        let mut list: Vec<LanguageInfo> = syntaxes
            .syntaxes()
            .iter()
            .filter(|s| !s.hidden)
            .map(|s| LanguageInfo {
                name: s.name.clone(),
                aliases: s.file_extensions.clone(),
            })
            .collect();
        for (alias, name) in EXTRA_ALIASES {
            if let Some(info) = list.iter_mut().find(|l| l.name == *name)
                && !info.aliases.iter().any(|a| a.eq_ignore_ascii_case(alias))
            {
                info.aliases.push((*alias).to_owned());
            }
        }
        // Hidden syntaxes count too: bat detects by their extensions.
        let mut base_names: HashSet<String> = syntaxes
            .syntaxes()
            .iter()
            .map(|s| s.name.to_lowercase())
            .collect();
        base_names.extend(EXTRA_ALIASES.iter().map(|(alias, _)| alias.to_lowercase()));
        let base_extensions: HashSet<String> = syntaxes
            .syntaxes()
            .iter()
            .flat_map(|s| &s.file_extensions)
            .map(|e| e.to_lowercase())
            .collect();
        let pygments = pygments::syntaxes_beside(&base_names, &base_extensions);
        let mut pygments_by_extension = HashMap::new();
        for (name, extensions) in pygments::KNOWN_EXTENSIONS {
            for extension in *extensions {
                let extension = extension.to_lowercase();
                if !base_extensions.contains(&extension) {
                    pygments_by_extension
                        .entry(extension)
                        .or_insert_with(|| (*name).to_owned());
                }
            }
        }
        for syntax in &pygments {
            for extension in &syntax.extensions {
                pygments_by_extension
                    .entry(extension.to_lowercase())
                    .or_insert_with(|| syntax.name.to_owned());
            }
            let aliases = syntax.extensions.iter().chain(&syntax.aliases);
            list.push(LanguageInfo {
                name: syntax.name.to_owned(),
                aliases: aliases.map(|a| (*a).to_owned()).collect(),
            });
        }
        list.sort_by_key(|l| l.name.to_lowercase());
        list.dedup_by(|a, b| a.name == b.name);
        // Names win over aliases: insert aliases first, then names on top.
        let mut by_alias = HashMap::new();
        for info in &list {
            for alias in &info.aliases {
                by_alias
                    .entry(alias.to_lowercase())
                    .or_insert_with(|| info.name.clone());
            }
        }
        for info in &list {
            by_alias.insert(info.name.to_lowercase(), info.name.clone());
        }
        let options_html = language_options_html(list.iter().map(|l| l.name.as_str())).into();
        Languages {
            syntaxes,
            pygments: Arc::new(pygments),
            served: Arc::new(pygments::served()),
            pygments_by_extension: Arc::new(pygments_by_extension),
            list: Arc::new(list),
            by_alias: Arc::new(by_alias),
            options_html,
        }
    }

    /// Loads the grammars bat ships (syntect's defaults among them), and
    /// indexes Pygments' converted lexers beside them. Once per process:
    /// every clone shares the syntaxes parsed so far.
    pub fn load() -> Self {
        static LOADED: OnceLock<Languages> = OnceLock::new();
        LOADED
            .get_or_init(|| Languages::new(Arc::new(two_face::syntax::extra_newlines())))
            .clone()
    }

    /// Whether `served.txt` gives `name` to Pygments' lexer, in place of
    /// any grammar (tree-sitter's included).
    pub fn is_served(&self, name: &str) -> bool {
        self.served.iter().any(|s| s.name == name)
    }

    /// The languages served by a converted Pygments lexer.
    pub fn converted(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.pygments.iter().map(|s| s.name)
    }

    /// The syntax that highlights `name`, with the set it lives in.
    /// The base grammar (bat's) that syntect highlights `name` with, with
    /// the set it lives in, unless a converted lexer serves it.
    pub fn syntax(&self, name: &str) -> Option<(&SyntaxSet, &SyntaxReference)> {
        let syntax = self.syntaxes.find_syntax_by_name(name)?;
        Some((&self.syntaxes, syntax))
    }

    /// The converted Pygments lexer that highlights `name`: one that
    /// replaces a base grammar (`served.txt`), or one of a language only
    /// Pygments knows.
    pub fn lexer(&self, name: &str) -> Option<&Lexer> {
        self.served
            .iter()
            .chain(self.pygments.iter())
            .find(|s| s.name == name)?
            .lexer()
    }

    /// Every language name as the `<option>`s of a `<datalist>`.
    pub fn options_html(&self) -> Arc<str> {
        Arc::clone(&self.options_html)
    }

    pub fn syntaxes(&self) -> &Arc<SyntaxSet> {
        &self.syntaxes
    }

    pub fn list(&self) -> &[LanguageInfo] {
        &self.list
    }

    /// The grammar a name or alias stands for, case-insensitively.
    pub fn resolve(&self, name: &str) -> Option<&str> {
        self.by_alias
            .get(&name.trim().to_lowercase())
            .map(String::as_str)
    }

    /// Guesses the language: from the file name, then the first line
    /// (shebang, `<?php`, `<?xml`…), then an editor modeline (Vim's
    /// `ft=`, Emacs' `-*- mode -*-`), then telltale content; else plain
    /// text.
    pub fn detect(&self, filename: Option<&Filename>, code: &str) -> String {
        if let Some(name) = filename.and_then(|f| self.by_file_name(f, code)) {
            // `notes.txt` says only that it is text: an editor's modeline,
            // or a format its first lines spell out (a MoinMoin page, a
            // mail listing), still names its language, as Vim would.
            if name != self.syntaxes.find_syntax_plain_text().name {
                return name;
            }
            return modeline(code)
                .and_then(|mode| self.resolve(&mode))
                .or_else(|| text_format(code).and_then(|format| self.resolve(format)))
                .map_or(name, str::to_owned);
        }
        let first_line = code.lines().next().unwrap_or("");
        if let Some(s) = self.syntaxes.find_syntax_by_first_line(first_line)
            && first_line_stands(&s.name, first_line)
        {
            return s.name.clone();
        }
        if let Some(name) = modeline(code).and_then(|mode| self.resolve(&mode)) {
            return name.to_owned();
        }
        if let Some(name) = text_format(code).and_then(|format| self.resolve(format)) {
            return name.to_owned();
        }
        if let Some(name) = content_guess(code).and_then(|guess| self.resolve(guess)) {
            return name.to_owned();
        }
        self.syntaxes.find_syntax_plain_text().name.clone()
    }

    /// The language a file name says: the whole name first (`meson.build`
    /// is Meson, not the NAnt of `.build`), then a double extension
    /// (`demo.css.in`), then an extension several languages share, settled
    /// by the code (a telltale, then the most telltale lines), then the
    /// extension.
    fn by_file_name(&self, filename: &Filename, code: &str) -> Option<String> {
        let whole = filename.as_str();
        let extension = filename.extension();
        let by_key = |key: &str| -> Option<String> {
            let lower = key.to_lowercase();
            if let Some(s) = self
                .syntaxes
                .find_syntax_by_extension(key)
                .or_else(|| self.syntaxes.find_syntax_by_extension(&lower))
            {
                return Some(s.name.clone());
            }
            self.pygments_by_extension.get(&lower).cloned()
        };
        // `.htaccess` is also listed as the extension `htaccess`.
        let undotted = whole.strip_prefix('.').unwrap_or(whole);
        for name in [whole, undotted] {
            if name != extension
                && let Some(found) = by_key(name)
            {
                return Some(found);
            }
        }
        if let Some(name) = NAME_PATTERNS
            .iter()
            .find(|(pattern, _)| glob_matches(pattern, whole))
            .and_then(|(_, language)| self.resolve(language))
        {
            return Some(name.to_owned());
        }
        // `demo.css.in` is CSS with Mozilla's preprocessor, not just `.in`.
        let inner_extensions = whole
            .char_indices()
            .filter(|&(at, c)| c == '.' && at > 0)
            .map(|(at, _)| &whole[at + 1..])
            .filter(|suffix| suffix.len() > extension.len());
        for suffix in inner_extensions {
            if let Some(found) = by_key(suffix) {
                return Some(found);
            }
        }
        let by_code =
            telltale(&extension.to_lowercase(), code).or_else(|| shared_extension(extension, code));
        if let Some(name) = by_code.and_then(|n| self.resolve(n)) {
            return Some(name.to_owned());
        }
        // Last, an extension that is no language's extension but names one
        // (`notes.genshitext`, `page.html+django`): what else could it mean?
        by_key(extension).or_else(|| self.resolve(extension).map(str::to_owned))
    }
}

/// Pygments' file name patterns that no extension or whole name can stand
/// for (`convert.py` takes only `*.ext` and plain names): a wildcard
/// before, after or around the name (every such pattern of Pygments 2.20
/// whose language we have).
const NAME_PATTERNS: &[(&str, &str)] = &[
    ("Kconfig*", "Kconfig"),
    ("*Config.in*", "Kconfig"),
    ("external.in*", "Kconfig"),
    ("Makefile.*", "Makefile"),
    (".bash_*", "Bash"),
    ("bash_*", "Bash"),
];

/// Whether `name` matches `pattern`, whose only wildcard is `*` (any run
/// of characters, none included).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts = parts.peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// A language an extension may stand for, and the line starts that say so.
type Candidate = (&'static str, &'static [&'static str]);

/// Extensions several languages use, and how to tell them apart by the
/// code: for each candidate, telltale line starts (after indentation);
/// the candidate with the most lines that start so wins, and a tie or no
/// line at all leaves the extension to its usual language. The first
/// candidate of a row with no markers wins whenever no other scores.
const SHARED_EXTENSIONS: &[(&str, &[Candidate])] = &[
    (
        "m",
        &[
            ("MATLAB", &["function ", "%", "end", "disp(", "fprintf("]),
            (
                "Objective-C",
                &[
                    "#import",
                    "#include",
                    "@interface",
                    "@implementation",
                    "@end",
                    "- (",
                    "+ (",
                ],
            ),
        ],
    ),
    (
        "fs",
        &[
            (
                "F#",
                &[
                    "let ",
                    "open ",
                    "module ",
                    "type ",
                    "namespace ",
                    "member ",
                    "//",
                    "|",
                ],
            ),
            (
                "GLSL",
                &[
                    "#version",
                    "uniform ",
                    "varying ",
                    "precision ",
                    "void main",
                    "layout(",
                ],
            ),
        ],
    ),
    (
        "v",
        &[
            (
                "Rocq Prover",
                &[
                    "Require ",
                    "Theorem ",
                    "Lemma ",
                    "Proof.",
                    "Qed.",
                    "Definition ",
                    "Inductive ",
                    "Fixpoint ",
                    "Module ",
                ],
            ),
            (
                "Verilog",
                &[
                    "module ",
                    "endmodule",
                    "always ",
                    "assign ",
                    "input ",
                    "output ",
                    "wire ",
                    "reg ",
                    "`",
                ],
            ),
        ],
    ),
    (
        "pl",
        &[
            ("Prolog", &[":-", "%"]),
            (
                "Perl",
                &["use ", "my ", "sub ", "package ", "print ", "#", "}"],
            ),
        ],
    ),
    (
        "bas",
        &[
            (
                "VB.net",
                &[
                    "Imports ",
                    "Module ",
                    "End Module",
                    "Public ",
                    "Private ",
                    "Dim ",
                    "End Sub",
                    "End Function",
                    "Namespace ",
                ],
            ),
            (
                "QBasic",
                &[
                    "DECLARE ", "DIM ", "PRINT ", "GOSUB ", "GOTO ", "END SUB", "CLS",
                ],
            ),
        ],
    ),
    // bat reads these as generic Lisp; Scheme has a lexer of its own.
    ("scm", &[("Scheme", &[])]),
    ("ss", &[("Scheme", &[])]),
    ("sld", &[("Scheme", &[])]),
    // bat's `.re` is its regular-expression helper syntax.
    ("re", &[("ReasonML", &[])]),
    // Wikipedia's own name for its markup; neither bat nor Pygments lists it.
    ("wikitext", &[("MediaWiki", &[])]),
];

/// A language, and a pattern only its code has among those sharing an
/// extension.
type Telltale = (&'static str, &'static str);

/// An ANTLR grammar's header (`grammar Expr;`, `lexer grammar Tokens;`):
/// what settles a `.g` file, and names an unnamed paste (`content_guess`).
const ANTLR_HEADER: &str = r"(?m)^\s*(?:(?:lexer|parser|tree)\s+)?grammar\s+\w+\s*;";

/// Extensions several languages use, with what gives each away: for a
/// file with one of the extensions, the first language whose pattern
/// matches somewhere in its first 64 KiB is the one. Most are the tests
/// Pygments' own lexers make of a text (their `analyse_text`), kept where
/// they are decisive; a file none matches goes on to [`SHARED_EXTENSIONS`]
/// and then to the extension's usual language.
const TELLTALES: &[(&[&str], &[Telltale])] = &[
    (
        &["aspx", "asax", "ascx", "ashx", "asmx"],
        &[
            (
                "aspx-cs",
                r#"(?i)Page\s*Language="C#"|script[^>]+language=["']C#"#,
            ),
            (
                "aspx-vb",
                r#"(?i)Page\s*Language="VB"|script[^>]+language=["']VB"#,
            ),
        ],
    ),
    // Commodore BASIC numbers its lines, as old QBasic and GW-BASIC may,
    // and reaches the machine by POKE, PEEK and SYS, which they rarely do.
    (
        &["bas"],
        &[(
            "CBM BASIC V2",
            r"(?is)\A\s*\d+\s*[a-z].*\b(?:poke|peek|sys)\s*\(?\d",
        )],
    ),
    // JAGS declares its data or variables beside the model; BUGS does not.
    (
        &["bug"],
        &[
            ("JAGS", r"(?m)^\s*(?:data\s*\{|var\b)"),
            ("BUGS", r"(?m)^\s*model\s*\{"),
        ],
    ),
    (
        &["mac"],
        &[
            (
                "Easytrieve",
                r"(?m)^\s*(?:MACRO\b|PARM\s|JOB\s+INPUT\b|END-PROC\b)",
            ),
            // Maxima ends its statements with `$` and defines with `:=`.
            ("Maxima", r"(?m)\$\s*$|:="),
        ],
    ),
    // Ezhil is written in Tamil script.
    (&["n"], &[("Ezhil", r"(?s)(?:[\x{0B80}-\x{0BFF}].*?){11}")]),
    (
        &["g", "gd", "gi"],
        &[
            (
                "GAP",
                r"InstallTrueMethod|Declare(?:Attribute|Category|Filter|Operation|GlobalFunction|Synonym|SynonymAttr|Property|Representation)\b|Install(?:GlobalFunction|Method|ImmediateMethod|OtherMethod)\b|New(?:Family|Type)\(",
            ),
            ("ANTLR With Ruby Target", r"(?m)^\s*language\s*=\s*Ruby\s*;"),
            (
                "ANTLR With Python Target",
                r"(?m)^\s*language\s*=\s*Python\s*;",
            ),
            ("ANTLR With Java Target", r"(?m)^\s*language\s*=\s*Java\s*;"),
            (
                "ANTLR With C# Target",
                r"(?m)^\s*language\s*=\s*CSharp\d?\s*;",
            ),
            ("ANTLR With CPP Target", r"(?m)^\s*language\s*=\s*Cpp\s*;"),
            (
                "ANTLR With Perl Target",
                r"(?m)^\s*language\s*=\s*Perl5\s*;",
            ),
            (
                "ANTLR With ObjectiveC Target",
                r"(?m)^\s*language\s*=\s*ObjC\s*;",
            ),
            (
                "ANTLR With ActionScript Target",
                r"(?m)^\s*language\s*=\s*ActionScript\s*;",
            ),
            ("ANTLR", ANTLR_HEADER),
        ],
    ),
    (
        &["j"],
        &[
            (
                "Jasmin",
                r"(?m)^\s*\.(?:class|attribute|bytecode|debug|deprecated|enclosing|inner|interface|limit|set|signature|stack)\s",
            ),
            ("Objective-J", r#"(?m)^\s*@import\s+[<"]"#),
        ],
    ),
    // OpenEdge ABL ends its statements with a period, blocks with `END.`.
    (
        &["p", "cls"],
        &[(
            "OpenEdge ABL",
            r"(?im)^\s*(?:DEF(?:INE)?\s+(?:VAR(?:IABLE)?|TEMP-TABLE|BUFFER|INPUT|OUTPUT)\b|END\s+(?:PROCEDURE|CLASS|METHOD)\.|ELSE\s+DO:|CLASS\s+[\w.]+.*:\s*$|USING\s+[\w.*]+\.\s*$)",
        )],
    ),
    (
        &["pc"],
        &[(
            "PkgConfig",
            r"(?m)^(?:Name|Description|Version|Libs|Cflags|Requires):",
        )],
    ),
    (
        &["rl"],
        &[
            ("Ragel in CPP Host", r"@LANG: c\+\+"),
            ("Ragel in C Host", r"@LANG: c\b"),
            ("Ragel in D Host", r"@LANG: d\b"),
            ("Ragel in Java Host", r"@LANG: java\b"),
            ("Ragel in Objective C Host", r"@LANG: obj-c\b"),
            ("Ragel in Ruby Host", r"@LANG: ruby\b"),
        ],
    ),
    (
        &["reg"],
        &[("reg", r"\A\x{FEFF}?(?:Windows Registry Editor|REGEDIT4)")],
    ),
    // `.s` is ARM's, x86's and the 6502's: the 6502's loads and stores
    // (`lda`, `sta`...) are no other family's, and say ca65.
    (
        &["s"],
        &[(
            "ca65 assembler",
            r"(?im)^\s*(?:[\w@]+:\s*)?(?:lda|sta|ldx|stx|ldy|sty)\s",
        )],
    ),
    // An scdoc page starts with `name(section)`.
    (
        &["scd"],
        &[("scdoc", r#"\A.*\([1-7]\)(?: "[^"]+"){0,2}\r?\n"#)],
    ),
    (
        &["sql"],
        &[
            (
                "SQL+Jinja",
                r"\{\{\s*(?:ref|source)\(.*\)\s*\}\}|\{%-?\s*macro \w+\(.*\)\s*-?%\}",
            ),
            ("Transact-SQL", r"(?i)\bdeclare\s+@\w"),
        ],
    ),
    // A Salt state is YAML, rendered by Jinja first unless it says
    // otherwise: one with Jinja's tags is YAML+Jinja.
    (&["sls"], &[("YAML+Jinja", r"\{%|\{\{")]),
    (&["t"], &[("TADS 3", r"__TADS|GameMainDef|\bversionInfo\b")]),
    (
        &["ttl"],
        &[
            ("Turtle", r"(?m)^\s*(?:@base |BASE |@prefix |PREFIX )"),
            (
                "Tera Term macro",
                r"(?m)^\s*(?:connect|sendln|wait|mpause|messagebox|getenv|include)\s",
            ),
        ],
    ),
    // Modula-2 opens modules, procedures and comments (`(*`) that a
    // Singularity definition never does.
    (
        &["def"],
        &[(
            "Modula-2",
            r"(?m)^\s*(?:DEFINITION\s+MODULE|IMPLEMENTATION\s+MODULE)\s+\w+|^\s*PROCEDURE\s+\w+|\A\s*\(\*",
        )],
    ),
    // Inform 6's routines open with `[ Name;`, which INI sections never do.
    (
        &["inf"],
        &[(
            "Inform 6",
            r#"(?im)^\s*\[\s*\w+[^\]\n]*;|^\s*Include\s+"\w+"|\borigsource\b"#,
        )],
    ),
    // IDL's routines take their arguments after a comma.
    (
        &["pro"],
        &[(
            "IDL",
            r"\bendelse\b|\bendswitch\b|(?im)^\s*(?:pro|function)\s+\w+\s*(?:,|$)",
        )],
    ),
    (
        &["gs"],
        &[("Gosu", r"(?m)^\s*(?:uses\s+[\w.]+|package\s+[\w.]+\s*$)")],
    ),
    (&["lsp"], &[("NewLisp", r"\A#!.*\bnewlisp\b")]),
    // cplint's probabilistic Prolog loads its libraries or opens an LPAD.
    (
        &["pl", "pro"],
        &[(
            "cplint",
            r"(?m)^:-\s*(?:use_module\(library\((?:pita|mcintyre|slipcover|lemur)\)\)|begin_lpad\b)",
        )],
    ),
];

/// Whether a first line that a grammar's `first_line_match` took is really
/// that language's. Dockerfile's takes any line that starts with `from` or
/// `arg` and a word: an e-mail, or prose ("From the test suite..."), would
/// be shown as a Dockerfile. Its first line is one instruction, with an
/// image (and a stage name) or a build argument after it.
fn first_line_stands(language: &str, line: &str) -> bool {
    static DOCKERFILE: OnceLock<regex::Regex> = OnceLock::new();
    match language {
        "Dockerfile" => DOCKERFILE
            .get_or_init(|| {
                regex::Regex::new(
                    r"(?i)^\s*(?:from(?:\s+--\w+=\S+)*\s+\S+(?:\s+as\s+\S+)?|arg\s+\w+(?:=\S*)?)\s*(?:#.*)?$",
                )
                .expect("a valid pattern")
            })
            .is_match(line),
        _ => true,
    }
}

/// The language a telltale in the code names among those sharing
/// `extension` (lower case), if any.
fn telltale(extension: &str, code: &str) -> Option<&'static str> {
    type Compiled = Vec<(&'static [&'static str], Vec<(&'static str, regex::Regex)>)>;
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        TELLTALES
            .iter()
            .map(|(extensions, rules)| {
                let rules = rules
                    .iter()
                    .map(|(language, pattern)| {
                        (
                            *language,
                            regex::Regex::new(pattern).expect("a valid telltale"),
                        )
                    })
                    .collect();
                (*extensions, rules)
            })
            .collect()
    });
    let sample = head(code, 64 * 1024);
    compiled
        .iter()
        .filter(|(extensions, _)| extensions.contains(&extension))
        .flat_map(|(_, rules)| rules)
        .find(|(_, pattern)| pattern.is_match(sample))
        .map(|(language, _)| *language)
}

/// At most the first `limit` bytes of `code`, cut at a character boundary.
fn head(code: &str, limit: usize) -> &str {
    if code.len() <= limit {
        return code;
    }
    let mut end = limit;
    while !code.is_char_boundary(end) {
        end -= 1;
    }
    &code[..end]
}

/// A text format that spells itself out, whatever the file is called:
/// a hex dump, the listings `notmuch show` and `hg status` print, an ICU
/// resource bundle, a MoinMoin page, Twig's test fixtures. Each test is
/// exact (an opening or a heading prose never has, or every line in one
/// shape), so a `.txt` may take it.
fn text_format(code: &str) -> Option<&'static str> {
    if is_hexdump(code) {
        Some("Hexdump")
    } else if code.starts_with("\u{c}message{") {
        // notmuch's `--format=text`: parts open with a form feed.
        Some("Notmuch")
    } else if code.starts_with("root:table") {
        Some("ResourceBundle")
    } else if is_status_listing(code) {
        Some("VCTreeStatus")
    } else if is_moin_page(code) {
        Some("MoinMoin/Trac Wiki markup")
    } else if is_twig_fixture(code) {
        Some("Twig")
    } else {
        None
    }
}

/// Whether every line is a status letter and a path, as `hg status` and
/// `svn status` list a working tree (`M setup.py`, `? notes`, `A  + x`):
/// two lines at least, one a change or an unknown file (`A` and `I` begin
/// sentences too), and one path with a dot or a slash in it.
fn is_status_listing(code: &str) -> bool {
    static LINE: OnceLock<regex::Regex> = OnceLock::new();
    let line = LINE.get_or_init(|| {
        regex::Regex::new(r"^([ACDIMR?!~X])(?:\s+\+)?\s+(\S+)$").expect("a valid pattern")
    });
    let (mut lines, mut changed, mut pathlike) = (0, false, false);
    for text in code.lines().take(500).filter(|l| !l.trim().is_empty()) {
        let Some(parts) = line.captures(text) else {
            return false;
        };
        lines += 1;
        changed |= matches!(&parts[1], "M" | "?" | "!");
        pathlike |= parts[2].contains(['.', '/']);
    }
    lines >= 2 && changed && pathlike
}

/// Whether the code opens as a MoinMoin page: processing instructions
/// (`#acl`, `#language`, `## comments`) first, among them `#format wiki`.
fn is_moin_page(code: &str) -> bool {
    code.lines()
        .take(50)
        .take_while(|line| line.starts_with('#'))
        .any(|line| line.split_whitespace().eq(["#format", "wiki"]))
}

/// Whether the code is one of Twig's own test fixtures: sections headed
/// `--TEST--`, `--TEMPLATE--` (the templates), `--DATA--`, `--EXPECT--`.
/// PHP's `.phpt` tests share `--TEST--` but name their code `--FILE--`.
fn is_twig_fixture(code: &str) -> bool {
    let mut headings = code.lines().take(200).map(str::trim_end);
    headings.any(|line| line == "--TEST--") && headings.any(|line| line == "--TEMPLATE--")
}

/// Whether the code is a hex dump (`xxd`, `hexdump`, `od`, `hd`, DEBUG.EXE
/// and the like): at least three lines of an offset and bytes in hex, and
/// nearly every line so, or the `*` of repeated lines, or the offset that
/// ends a dump.
fn is_hexdump(code: &str) -> bool {
    static PATTERNS: OnceLock<(regex::Regex, regex::Regex)> = OnceLock::new();
    let (bytes, other) = PATTERNS.get_or_init(|| {
        let compile = |pattern| regex::Regex::new(pattern).expect("a valid pattern");
        (
            compile(r"^(?:[0-9A-Fa-f]{4}:)?[0-9A-Fa-f]{4,16}:?\s+(?:[0-9A-Fa-f]{2,4}[\s-]+){3}"),
            compile(r"^(?:\*|[0-9A-Fa-f]{4,16})\s*$"),
        )
    });
    let (mut lines, mut with_bytes, mut dumped) = (0, 0, 0);
    for line in code.lines().take(200).filter(|l| !l.trim().is_empty()) {
        lines += 1;
        if bytes.is_match(line) {
            with_bytes += 1;
            dumped += 1;
        } else if other.is_match(line) {
            dumped += 1;
        }
    }
    with_bytes >= 3 && dumped * 10 >= lines * 9
}

/// The language the code picks among those sharing `extension`, if any.
fn shared_extension(extension: &str, code: &str) -> Option<&'static str> {
    let (_, candidates) = SHARED_EXTENSIONS
        .iter()
        .find(|(ext, _)| *ext == extension)?;
    if let [(only, [])] = candidates {
        return Some(only);
    }
    let mut scores: Vec<(usize, &str)> = candidates
        .iter()
        .map(|(name, starts)| {
            let lines = code
                .lines()
                .take(500)
                .filter(|line| {
                    let line = line.trim_start();
                    starts.iter().any(|start| line.starts_with(start))
                })
                .count();
            (lines, *name)
        })
        .collect();
    scores.sort_by_key(|score| std::cmp::Reverse(score.0));
    match scores.as_slice() {
        [(best, name), (second, _), ..] if *best > *second => Some(name),
        _ => None,
    }
}

/// The language an editor modeline in the first or last five lines names.
fn modeline(code: &str) -> Option<String> {
    // From both ends without collecting the lines between: every `.txt`
    // and unnamed paste is looked at so, whatever its size.
    let edges = code.lines().take(5).chain(code.lines().rev().take(5));
    for line in edges {
        // Vim: `vim: set ft=python :` or `vi: filetype=python`.
        if line.contains("vim:") || line.contains("vi:") || line.contains("ex:") {
            for key in ["filetype=", "ft=", "syntax=", "syn="] {
                if let Some(at) = line.find(key) {
                    let value: String = line[at + key.len()..]
                        .chars()
                        .take_while(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_')
                        })
                        .collect();
                    if !value.is_empty() {
                        return Some(value);
                    }
                }
            }
        }
        // Emacs: `-*- mode: python -*-` or `-*- python -*-`.
        if let Some(start) = line.find("-*-") {
            let rest = &line[start + 3..];
            if let Some(end) = rest.find("-*-") {
                let inner = rest[..end].trim();
                let mode = inner
                    .split(';')
                    .find_map(|part| part.trim().strip_prefix("mode:").map(str::trim))
                    .unwrap_or(if inner.contains(':') { "" } else { inner });
                if !mode.is_empty() {
                    return Some(mode.to_owned());
                }
            }
        }
    }
    None
}

/// Telltale lines of common languages, scored: a guess only when one
/// language clearly leads. Cheap substring checks on the first 200 lines,
/// after an ANTLR grammar's exact shapes.
fn content_guess(code: &str) -> Option<&'static str> {
    if is_antlr_grammar(code) {
        return Some("ANTLR");
    }
    const MARKERS: &[(&str, &[&str])] = &[
        (
            "Rust",
            &[
                "fn main(",
                "let mut ",
                "impl ",
                "pub fn ",
                "use std::",
                "#[derive(",
            ],
        ),
        (
            "Python",
            &[
                "def ",
                "import ",
                "from __future__",
                "elif ",
                "self.",
                "print(",
            ],
        ),
        ("Go", &["package main", "func ", ":= ", "import (", "fmt."]),
        (
            "C",
            &[
                "#include <stdio.h>",
                "#include <stdlib.h>",
                "int main(",
                "printf(",
                "malloc(",
            ],
        ),
        (
            "C++",
            &[
                "#include <iostream>",
                "std::",
                "template<",
                "namespace ",
                "cout <<",
            ],
        ),
        (
            "Java",
            &[
                "public class ",
                "public static void main",
                "System.out.",
                "import java.",
            ],
        ),
        (
            "JavaScript",
            &[
                "function ",
                "const ",
                "=> {",
                "console.log(",
                "require(",
                "document.",
            ],
        ),
        (
            "Ruby",
            &[
                "require '",
                "def ",
                "end
",
                "puts ",
                "attr_accessor",
            ],
        ),
        ("PHP", &["<?php", "$this->", "echo "]),
        ("HTML", &["<!DOCTYPE html", "<html", "<div", "</body>"]),
        ("SQL", &["SELECT ", "INSERT INTO", "CREATE TABLE", "WHERE "]),
        (
            // BigML's Flatline: s-expressions over a dataset's fields, whose
            // calls no other Lisp spells so.
            "Flatline",
            &[
                "(missing? ",
                "(random-value ",
                "(weighted-random-value ",
                "(ensure-value ",
                "(z-score ",
                "(field-prop ",
                "(category-count ",
                "(bin-count ",
                "(all-but ",
            ],
        ),
        (
            "Bourne Again Shell (bash)",
            &[
                "#!/bin/sh",
                "echo $",
                "fi
",
                "then
",
                "export ",
            ],
        ),
    ];
    let sample: String = code.lines().take(200).collect::<Vec<_>>().join("\n");
    let mut scores: Vec<(usize, &str)> = MARKERS
        .iter()
        .map(|(name, markers)| {
            (
                markers.iter().filter(|m| sample.contains(*m)).count(),
                *name,
            )
        })
        .collect();
    scores.sort_by_key(|score| std::cmp::Reverse(score.0));
    match scores.as_slice() {
        [(best, name), (second, _), ..] if *best >= 2 && best > second => Some(name),
        _ => None,
    }
}

/// Whether the code is an ANTLR grammar: its header (`grammar Expr;`,
/// `lexer grammar Tokens;`), or a rule head only ANTLR writes, naming what
/// the rule returns (`expr returns [int value] :`) or throws
/// (`public f throws A, B :`) before its alternatives and the `;` that
/// ends them. Java's `throws` follows a parameter list and opens a body,
/// never a colon.
fn is_antlr_grammar(code: &str) -> bool {
    const RULE_HEAD: &str = concat!(
        r"(?m)^\s*(?:(?:public|protected|private|fragment)\s+)?\w+!?\s*(?:\[[^\]\n]*\]\s*)?",
        r"(?:returns\s*\[[^\]\n]*\]\s*(?:throws\s+[\w.]+(?:\s*,\s*[\w.]+)*\s*)?",
        r"|throws\s+[\w.]+(?:\s*,\s*[\w.]+)*\s*):[^;]*;",
    );
    static SHAPES: OnceLock<regex::Regex> = OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        regex::Regex::new(&format!("{ANTLR_HEADER}|{RULE_HEAD}")).expect("a valid pattern")
    });
    shapes.is_match(head(code, 8 * 1024))
}

/// The `<option>`s of a `<datalist>` offering every language name.
fn language_options_html<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut html = String::new();
    for name in names {
        html.push_str("<option value=\"");
        for c in name.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '"' => html.push_str("&quot;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                c => html.push(c),
            }
        }
        html.push_str("\"></option>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn languages() -> &'static Languages {
        static LANGUAGES: OnceLock<Languages> = OnceLock::new();
        LANGUAGES.get_or_init(Languages::load)
    }

    #[test]
    fn names_and_aliases_resolve_case_insensitively() {
        let l = languages();
        assert_eq!(l.resolve("rust"), Some("Rust"));
        assert_eq!(l.resolve("RS"), Some("Rust"));
        assert_eq!(l.resolve("c++"), Some("C++"));
        assert_eq!(l.resolve("cpp"), Some("C++"));
        assert_eq!(l.resolve("c#"), Some("C#"));
        assert_eq!(l.resolve("csharp"), Some("C#"));
        assert_eq!(l.resolve("Python"), Some("Python"));
        assert_eq!(l.resolve("klingon"), None);
        assert_eq!(l.resolve("html+php"), Some("PHP"));
    }

    #[test]
    fn detection_uses_filename_then_first_line() {
        let l = languages();
        let main_rs = Filename::parse(Some("main.rs")).unwrap();
        assert_eq!(l.detect(main_rs.as_ref(), "x"), "Rust");
        let makefile = Filename::parse(Some("Makefile")).unwrap();
        assert_eq!(l.detect(makefile.as_ref(), "all:\n"), "Makefile");
        assert_eq!(
            l.detect(None, "#!/usr/bin/env python3\nprint(1)\n"),
            "Python"
        );
        assert_eq!(l.detect(None, "hello"), "Plain Text");
        assert_eq!(l.detect(None, "x = 1\n# vim: set ft=python :\n"), "Python");
        assert_eq!(l.detect(None, "; -*- mode: lisp -*-\n(a b)\n"), "Lisp");
        assert_eq!(
            l.detect(None, "use std::io;\n\nfn main() {\n    let mut x = 1;\n}\n"),
            "Rust"
        );
        assert_eq!(
            l.detect(None, "import os\n\ndef main():\n    print(os.getcwd())\n"),
            "Python"
        );
    }

    #[test]
    fn formats_that_spell_themselves_out_are_named_by_their_text() {
        let l = languages();
        let notes = Filename::parse(Some("notes.txt")).unwrap();
        let notmuch = "\u{c}message{ id:1 depth:0\n\u{c}header{\nSubject: hi\n";
        assert_eq!(l.detect(None, notmuch), "Notmuch");
        let bundle = "root:table {\n  usage:string { \"Usage\" }\n}\n";
        assert_eq!(l.detect(None, bundle), "ResourceBundle");
        let status = "M LICENSE\nM setup.py\n! setup.cfg\n? notes\n";
        assert_eq!(l.detect(None, status), "VCTreeStatus");
        let svn = "A  +    src/new.c\nM       README\n";
        assert_eq!(l.detect(None, svn), "VCTreeStatus");
        // Sentences of one word after a capital, or names with no path in
        // them, are not a listing.
        assert_eq!(l.detect(None, "A start\nI agree\n"), "Plain Text");
        assert_eq!(l.detect(None, "M one\n? two\n"), "Plain Text");
        assert_eq!(l.detect(None, "M setup.py\nand more words\n"), "Plain Text");
        let moin = "## a comment\n#acl All:read\n#format wiki\n= Title =\n''it''\n";
        assert_eq!(l.detect(notes.as_ref(), moin), "MoinMoin/Trac Wiki markup");
        assert_eq!(l.detect(None, moin), "MoinMoin/Trac Wiki markup");
        // `#format wiki` after the page's text is a line of the page.
        let later = "= Title =\n#format wiki\n";
        assert_eq!(l.detect(notes.as_ref(), later), "Plain Text");
        // A `.txt` stays text unless its text says otherwise.
        assert_eq!(
            l.detect(notes.as_ref(), "SELECT 1;\nfn main() {}\n"),
            "Plain Text"
        );
        let vim = "x = 1\n# vim: set ft=python :\n";
        assert_eq!(l.detect(notes.as_ref(), vim), "Python");
        let twig = "--TEST--\nfilters\n--TEMPLATE--\n{{ x|upper }}\n--DATA--\nreturn []\n";
        assert_eq!(l.detect(None, twig), "Twig");
        let phpt = "--TEST--\nechoes\n--FILE--\n<?php echo 1; ?>\n--EXPECT--\n1\n";
        assert_ne!(l.detect(None, phpt), "Twig");
        // A name that says a language outweighs the text.
        let setup = Filename::parse(Some("setup.py")).unwrap();
        assert_eq!(l.detect(setup.as_ref(), status), "Python");
    }

    #[test]
    fn unnamed_grammars_and_flatline_are_named_by_their_shapes() {
        let l = languages();
        assert_eq!(l.detect(None, "grammar Expr;\nprog : expr+ ;\n"), "ANTLR");
        assert_eq!(
            l.detect(None, "// tokens\nlexer grammar Tokens;\nID : [a-z]+ ;\n"),
            "ANTLR"
        );
        assert_eq!(l.detect(None, "public f throws a, b, c : x ;\n"), "ANTLR");
        assert_eq!(
            l.detect(
                None,
                "expr returns [int value]\n    : e=term { $value = $e.v; }\n    ;\n"
            ),
            "ANTLR"
        );
        // Java's `throws` opens a body; TypeScript's fields take a colon
        // with no `throws` or `returns` before it; prose says "grammar".
        let java = "public void f() throws IOException, Oops {\n    g();\n}\n";
        assert_ne!(l.detect(None, java), "ANTLR");
        assert_ne!(
            l.detect(None, "class A {\n  private x: number;\n}\n"),
            "ANTLR"
        );
        assert_ne!(
            l.detect(None, "The grammar is simple; it has rules.\n"),
            "ANTLR"
        );
        assert_ne!(
            l.detect(None, "Parse throws Oops: on bad input.\n"),
            "ANTLR"
        );
        let flatline = "(if (missing? \"00000\") (random-value \"000000\") (f \"000000\"))\n\
                        (z-score \"a numeric field\")\n";
        assert_eq!(l.detect(None, flatline), "Flatline");
        // One call of its name is not enough.
        assert_eq!(l.detect(None, "(z-score x)\n"), "Plain Text");
    }

    #[test]
    fn every_language_tree_sitter_serves_is_in_the_catalogue() {
        let l = languages();
        for name in crate::server::highlight::TreeSitter::languages() {
            assert_eq!(l.resolve(name), Some(name), "{name}");
        }
    }

    /// convert.py skips the lexers `known.txt` lists; a lexer it wrote
    /// that the catalogue then leaves out (bat's grammar has its name or an
    /// alias) is dead weight in the binary.
    #[test]
    fn every_vendored_pygments_syntax_is_taken_in() {
        let l = languages();
        let left_out: Vec<&str> = super::pygments::CONVERTED
            .iter()
            .map(|c| c.0)
            .filter(|name| !l.list().iter().any(|info| info.name == *name))
            .collect();
        assert!(
            left_out.is_empty(),
            "add these to syntaxes/pygments/known.txt and run convert.py again:\n{}",
            left_out.join("\n")
        );
    }

    #[test]
    fn pygments_syntaxes_are_detected_by_extension_and_highlight() {
        let l = languages();
        let file = Filename::parse(Some("family.prolog")).unwrap();
        assert_eq!(l.detect(file.as_ref(), "x"), "Prolog");
        assert_eq!(l.resolve("prolog"), Some("Prolog"));
        // bat's Perl keeps `.pl`, which Pygments gives Prolog too.
        let perl = Filename::parse(Some("x.pl")).unwrap();
        assert_eq!(l.detect(perl.as_ref(), "x"), "Perl");
        let lexer = l.lexer("Prolog").expect("Prolog loads");
        let html = lexer
            .highlight(
                "% a comment\n",
                &|_| {},
                &super::super::CancelFlag::default(),
                super::super::Budget::new(std::time::Duration::from_secs(10)),
            )
            .unwrap();
        assert_eq!(
            html,
            "<pre class=\"hl\"><code><x-c>% a comment</x-c>\n</code></pre>"
        );
    }

    /// known.txt pairs each lexer convert.py skips with the language the
    /// catalogue has for it; the example-files benchmark checks by them.
    #[test]
    fn known_pygments_lexers_name_catalogue_languages() {
        let l = languages();
        let known = include_str!("../../../syntaxes/pygments/known.txt");
        let mut pairs = 0;
        for line in known
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (_, ours) = line.split_once(" = ").expect("`Pygments' name = ours`");
            assert_eq!(l.resolve(ours), Some(ours.trim()), "{line}");
            pairs += 1;
        }
        assert!(pairs > 100, "only {pairs} pairs");
    }

    #[test]
    fn shared_extensions_are_settled_by_the_code() {
        let l = languages();
        let detect =
            |name: &str, code: &str| l.detect(Filename::parse(Some(name)).unwrap().as_ref(), code);
        assert_eq!(
            detect("a.m", "function y = f(x)\n  y = x;\nend\n"),
            "MATLAB"
        );
        assert_eq!(
            detect(
                "a.m",
                "#import <Foundation/Foundation.h>\n@implementation A\n@end\n"
            ),
            "Objective-C"
        );
        assert_eq!(detect("a.fs", "module A\nlet f x = x + 1\n"), "F#");
        assert_eq!(
            detect("a.fs", "#version 330\nuniform float t;\nvoid main() {}\n"),
            "GLSL"
        );
        assert_eq!(
            detect("a.v", "Theorem t : True.\nProof.\nQed.\n"),
            "Rocq Prover"
        );
        assert_eq!(detect("a.v", "module m(input a);\nendmodule\n"), "Verilog");
        assert_eq!(
            detect("a.pl", ":- module(a, []).\nf(X) :- g(X).\n"),
            "Prolog"
        );
        assert_eq!(detect("a.pl", "use strict;\nmy $x = 1;\n"), "Perl");
        assert_eq!(detect("boot.scm", "(define x 1)\n"), "Scheme");
        assert_eq!(
            detect("a.bas", "Imports System\nModule M\nEnd Module\n"),
            "VB.net"
        );
        assert_eq!(detect("a.bas", "CLS\nPRINT \"HI\"\n"), "QBasic");
        // A whole file name beats its extension.
        assert_eq!(detect("meson.build", "project('a')\n"), "Meson");
        assert_eq!(detect("x.SRCINFO", "pkgbase = x\n"), "Srcinfo");
        // Pygments' file patterns for a language bat's grammar serves.
        assert_eq!(detect("intsyn.fun", "structure A = B\n"), "SML");
        assert_eq!(detect(".htaccess", "Deny from all\n"), "Apache Conf");
        // A lexer of Pygments' that extends one of ours (known.txt).
        assert_eq!(detect("doc.jsonld", "{\"@context\": {}}\n"), "JSON");
    }

    #[test]
    fn every_telltale_compiles_and_names_a_catalogue_language() {
        let l = languages();
        for (extensions, rules) in TELLTALES {
            for (language, pattern) in *rules {
                assert!(regex::Regex::new(pattern).is_ok(), "{language}: {pattern}");
                assert_eq!(
                    l.resolve(language),
                    Some(*language),
                    "{language} ({extensions:?}) is not in the catalogue"
                );
            }
        }
    }

    #[test]
    fn telltales_settle_shared_extensions_and_leave_the_rest_alone() {
        let l = languages();
        let detect =
            |name: &str, code: &str| l.detect(Filename::parse(Some(name)).unwrap().as_ref(), code);
        let aspx = |language: &str| format!("<%@ Page Language=\"{language}\" %>\n<html></html>\n");
        assert_eq!(detect("a.aspx", &aspx("C#")), "aspx-cs");
        assert_eq!(detect("a.aspx", &aspx("VB")), "aspx-vb");
        assert_eq!(
            detect("a.bas", "10 PRINT \"HI\"\n20 POKE 53280,0\n30 GOTO 10\n"),
            "CBM BASIC V2"
        );
        assert_ne!(
            detect("a.bas", "10 PRINT RIGHT$(\"HI\", 1)\n20 GOTO 10\n"),
            "CBM BASIC V2"
        );
        assert_eq!(
            detect(
                "a.reg",
                "Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\X]\n"
            ),
            "reg"
        );
        assert_eq!(
            detect("a.lsp", "#!/usr/bin/env newlisp\n(println 1)\n"),
            "NewLisp"
        );
        assert_eq!(
            detect(
                "coin.pl",
                ":- use_module(library(pita)).\n:- begin_lpad.\nheads:0.5.\n"
            ),
            "cplint"
        );
        assert_eq!(
            detect("q.sql", "DECLARE @n int = 1;\nSELECT @n;\nGO\n"),
            "Transact-SQL"
        );
        assert_eq!(
            detect(
                "m.def",
                "(* A library *)\nDEFINITION MODULE Lib;\nEND Lib.\n"
            ),
            "Modula-2"
        );
        assert_eq!(
            detect(
                "x.def",
                "Bootstrap: docker\nFrom: ubuntu\n%post\n  apt-get update\n"
            ),
            "Singularity"
        );
        assert_eq!(
            detect("g.g", "grammar Expr;\noptions {\n    language = Ruby;\n}\n"),
            "ANTLR With Ruby Target"
        );
        assert_eq!(detect("g.g", "grammar Expr;\nexpr : INT ;\n"), "ANTLR");
        assert_eq!(
            detect(
                "data.ttl",
                "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n"
            ),
            "Turtle"
        );
        assert_eq!(
            detect(
                "login.ttl",
                "connect 'host:22 /ssh'\nwait 'password:'\nsendln 'x'\n"
            ),
            "Tera Term macro"
        );
        assert_eq!(
            detect(
                "lychrel.s",
                "; Lychrel numbers\n.zeropage\nloop:\tlda #0\n\tsta $d020\n"
            ),
            "ca65 assembler"
        );
        assert_eq!(
            detect(
                "top.sls",
                "{% for m in mounts %}\n/mnt/{{ m }}:\n  mount.mounted: []\n{% endfor %}\n"
            ),
            "YAML+Jinja"
        );
        assert_ne!(
            detect("plain.sls", "nginx:\n  pkg.installed: []\n"),
            "YAML+Jinja"
        );
        // Without a telltale, the extension keeps its usual language.
        assert_eq!(
            detect("start.s", ".section .text\n_start:\n\tldr r0, =1\n"),
            detect("b.s", "\n")
        );
        assert_ne!(detect("b.s", "\n"), "ca65 assembler");
        assert_eq!(detect("q.sql", "SELECT 1;\n"), "SQL");
        assert_eq!(detect("a.pl", "use strict;\nmy $x = 1;\n"), "Perl");
        assert_eq!(
            detect("a.lsp", "(defun f (x) x)\n"),
            detect("b.lisp", "(defun f (x) x)\n")
        );
        // A double extension names the language before the last one does.
        assert_eq!(
            detect("demo.css.in", "#filter substitution\nbody {}\n"),
            "CSS+mozpreproc"
        );
        assert_eq!(
            detect("jquery.min.js", "var a = 1;\n"),
            detect("a.js", "var a = 1;\n")
        );
        // An extension no language claims, that names a language.
        assert_eq!(detect("notes.genshitext", "$foo\n"), "Genshi Text");
        assert_eq!(detect("page.html+django", "{{ x }}\n"), "HTML+Django/Jinja");
        assert_eq!(detect("notes.nosuchlanguage", "x\n"), "Plain Text");
    }

    #[test]
    fn a_dockerfile_is_named_by_its_first_instruction_not_by_prose() {
        let l = languages();
        for first in [
            "FROM rust:1.80 AS build",
            "FROM --platform=linux/amd64 alpine:3.20",
            "from debian",
            "ARG VERSION=1.2",
        ] {
            let code = format!("{first}\nRUN echo hi\n");
            assert_eq!(l.detect(None, &code), "Dockerfile", "{first}");
        }
        for prose in [
            "From the Twig test suite, under the BSD licence.\n--TEST--\n",
            "From: someone@example.org\nSubject: hello\n",
        ] {
            assert_ne!(l.detect(None, prose), "Dockerfile", "{prose}");
        }
    }

    #[test]
    fn hex_dumps_are_recognised_without_a_file_name() {
        let l = languages();
        let xxd = "00000000: 2f2f 2043 7265 6174 6564 2062 7920 4c69  // Created by Li\n\
                   00000010: 6f6e 656c 6c6f 204c 756e 6573 7520 616e  onello Lunesu an\n\
                   00000020: 6420 706c 6163 6564 2069 6e20 7468 6520  d placed in the \n";
        let hd = "00000000  2f 2f 20 43 72 65 61 74  65 64 20 62 79 20 4c 69  |// Created by Li|\n\
                  00000010  6f 6e 65 6c 6c 6f 20 4c  75 6e 65 73 75 20 61 6e  |onello Lunesu an|\n\
                  *\n\
                  00000020  64 20 70 6c 61 63 65 64  20 69 6e 20 74 68 65 20  |d placed in the |\n\
                  00000030\n";
        assert_eq!(l.detect(None, xxd), "Hexdump");
        assert_eq!(l.detect(None, hd), "Hexdump");
        // Numbers in columns are not a dump.
        let table = "year  sales  cost\n2024  12  7\n2025  13  8\n2026  15  9\n";
        assert_ne!(l.detect(None, table), "Hexdump");
    }

    #[test]
    fn pygments_wildcard_file_names_name_their_language() {
        let l = languages();
        for (_, language) in NAME_PATTERNS {
            assert!(
                l.resolve(language).is_some(),
                "{language} is not in the catalogue"
            );
        }
        let named = |name: &str| l.detect(Filename::parse(Some(name)).unwrap().as_ref(), "x\n");
        let kconfig = l.resolve("Kconfig").unwrap();
        assert_eq!(named("Config.in.cache"), kconfig);
        assert_eq!(named("Kconfig.debug"), kconfig);
        assert_eq!(named("Kconfig"), kconfig);
        assert_eq!(named("external.in.tmpl"), kconfig);
        assert_eq!(named("Makefile.linux"), l.resolve("Makefile").unwrap());
        assert_eq!(named(".bash_aliases"), l.resolve("Bash").unwrap());
        // A wildcard is not a free pass: the rest of the name must match.
        assert_ne!(named("MyConfig.txt"), kconfig);
        assert!(glob_matches("*Config.in*", "Config.in"));
        assert!(!glob_matches("Kconfig*", "kconfig"));
        assert!(!glob_matches("a*b", "ab-"));
        assert!(glob_matches("a*b*c", "abbc"));
    }

    #[test]
    fn the_catalogue_is_large_and_sorted() {
        let list = languages().list();
        assert!(list.len() > 400, "only {} languages", list.len());
        assert!(
            list.windows(2)
                .all(|w| w[0].name.to_lowercase() <= w[1].name.to_lowercase())
        );
    }
}
