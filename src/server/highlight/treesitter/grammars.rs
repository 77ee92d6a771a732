//! The grammars the tree-sitter engine serves, and the catalogue names
//! (syntect's, which the language picker and detection use) they serve.
//!
//! A language is here when its grammar is permissively licensed, its crate
//! builds against our tree-sitter, and it highlights better and faster than
//! syntect does (measured with `bash scripts/bench.sh`); every other
//! language stays with syntect. Where a grammar extends another (C++ over
//! C, TypeScript over JavaScript), its query is the parent's with its own
//! after it, as the grammars' own configurations list them.

use tree_sitter::Language;

/// One grammar and what the engine needs to highlight with it.
pub struct GrammarDef {
    /// The catalogue names it serves (several where syntect has variants).
    pub names: &'static [&'static str],
    /// The name an injection query uses for it (`"javascript"`, `"css"`).
    pub injection_name: &'static str,
    pub language: fn() -> Language,
    /// Highlight queries, joined in this order.
    pub highlights: &'static [&'static str],
    /// Patterns of ours that win over the grammar's (numbers some grammars
    /// mark only as constants, say).
    pub extra: &'static str,
    /// Whether, for one node, the grammar means its later patterns to win
    /// (Neovim's convention) rather than its first (tree-sitter's own).
    pub later_wins: bool,
    /// Its injections, if we follow them.
    pub injections: Option<InjectionsDef>,
}

/// A grammar's injections: its query, and a test of the text for anything
/// the query could find. The query walks the whole tree even when it finds
/// nothing, which was a fifth of a PHP file's time with no HTML in it, so
/// a file the test rules out skips it. The test may say yes wrongly (that
/// costs only the walk), never no.
pub struct InjectionsDef {
    pub query: &'static str,
    pub may_find: fn(&str) -> bool,
}

/// Whether HTML may hold a script or a style element.
fn may_hold_script_or_style(code: &str) -> bool {
    code.match_indices('<').any(|(at, _)| {
        let tag = &code.as_bytes()[at + 1..];
        starts_with_ignoring_case(tag, b"script") || starts_with_ignoring_case(tag, b"style")
    })
}

fn starts_with_ignoring_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Whether a PHP file has text outside its PHP tags, which it shows as
/// HTML: anything but white space before its first `<?`, or after a `?>`
/// before the next `<?`. A `?>` in a string counts too (only a wasted
/// walk), and so does an opening that is not PHP's (`<?xml`), which the
/// grammar may read as text.
fn php_may_hold_text(code: &str) -> bool {
    let opens_php = |at: &str| {
        let after = &at.as_bytes()[2..];
        after.first() == Some(&b'=')
            || after.first().is_some_and(u8::is_ascii_whitespace)
            || starts_with_ignoring_case(after, b"php")
    };
    let mut rest = code;
    loop {
        let (text, from_open) = match rest.find("<?") {
            Some(open) => (&rest[..open], &rest[open..]),
            None => (rest, ""),
        };
        if !text.trim().is_empty() || (!from_open.is_empty() && !opens_php(from_open)) {
            return true;
        }
        match from_open.find("?>") {
            Some(close) => rest = &from_open[close + 2..],
            None => return false,
        }
    }
}

/// Python's modules, decorators and punctuation, which Pygments colours
/// (`Name.Namespace`, `Name.Decorator`, `Punctuation`) and the grammar's
/// query leaves plain; and its builtin functions, as the grammar's own
/// query lists them.
const PYTHON_EXTRA: &str = r#"((call function: (identifier) @function.builtin)
 (#match? @function.builtin "^(abs|all|any|ascii|bin|bool|breakpoint|bytearray|bytes|callable|chr|classmethod|compile|complex|delattr|dict|dir|divmod|enumerate|eval|exec|filter|float|format|frozenset|getattr|globals|hasattr|hash|help|hex|id|input|int|isinstance|issubclass|iter|len|list|locals|map|max|memoryview|min|next|object|oct|open|ord|pow|print|property|range|repr|reversed|round|set|setattr|slice|sorted|staticmethod|str|sum|super|tuple|type|vars|zip|__import__)$"))
(import_statement name: (dotted_name) @module)
(import_statement name: (aliased_import name: (dotted_name) @module))
(import_from_statement module_name: (dotted_name) @module)
(import_from_statement module_name: (relative_import (dotted_name) @module))
(decorator "@" @attribute)
(decorator [(identifier) (attribute)] @attribute)
(decorator (attribute attribute: (identifier) @attribute))
(decorator (call function: [(identifier) (attribute)] @attribute))
(decorator (call function: (attribute attribute: (identifier) @attribute)))
["(" ")" "[" "]" "{" "}" "," ":" "." ";"] @punctuation"#;

/// Java's package and import names, the fields a `.` reaches
/// (nvim-treesitter's `@variable.member`; Pygments colours them as
/// attributes), and its operators and punctuation, which the grammar's
/// query leaves plain and Pygments colours. A field in capitals stays the
/// grammar's constant.
const JAVA_EXTRA: &str = r#"(package_declaration [(identifier) (scoped_identifier)] @module)
((field_access field: (identifier) @variable.member)
 (#not-match? @variable.member "^_*[A-Z][A-Z\\d_]+$"))
(import_declaration [(identifier) (scoped_identifier)] @module)
["(" ")" "[" "]" "{" "}" ";" "," "." "::" "..."] @punctuation
["=" "+" "-" "*" "/" "%" "<" ">" "!" "~" "&" "|" "^" "?" ":" "==" "!=" "<=" ">=" "&&" "||" "++" "--" "+=" "-=" "*=" "/=" "%=" "&=" "|=" "^=" "<<" ">>" ">>>" "<<=" ">>=" ">>>=" "->"] @operator"#;

/// CSS's pseudo-classes and pseudo-elements (the grammar's own pattern for
/// them loses to its pattern for any class name, which comes first), and
/// its keyword values (`bold`, `no-repeat`), as Pygments colours them.
const CSS_EXTRA: &str = r#"(pseudo_class_selector (class_name) @attribute)
(pseudo_element_selector (tag_name) @attribute)
(declaration (plain_value) @constant)"#;

/// The table a Lua function is declared in (`function M.f()`), which
/// Pygments colours as a class; and the function's own name there, which
/// the grammar's pattern for any field outranks.
const LUA_EXTRA: &str = r#"(function_declaration name: (dot_index_expression table: (identifier) @type))
(function_declaration name: (dot_index_expression field: (identifier) @function))
(function_declaration name: (method_index_expression table: (identifier) @type))"#;

/// Groovy's labels (`case String:`, a map's `key:`, Pygments'
/// `Name.Label`) and the members a `.` reaches (`wf.delegate`, as Java's),
/// which the grammar's query leaves plain variables; then the grammar's
/// own function and constant patterns again, since its patterns that come
/// later win and a called member is a function.
const GROOVY_EXTRA: &str = r#"(case value: (identifier) @label)
(map_item key: (identifier) @label)
(dotted_identifier "." . (identifier) @variable.member)
((dotted_identifier (identifier) @constant)
 (#match? @constant "^_*[A-Z][A-Z\\d_]+$"))
(function_call function: (dotted_identifier (identifier) @function .))
(juxt_function_call function: (dotted_identifier (identifier) @function .))"#;

/// Ruby's module names (Pygments' `Name.Namespace`).
const RUBY_EXTRA: &str = r#"(module name: (constant) @module)
(module name: (scope_resolution name: (constant) @module))"#;

/// A PHP file's text outside `<?php ?>` as HTML (with HTML's own
/// scripts and styles in turn), as Pygments' HTML+PHP reads a template.
/// Upstream's query also names a heredoc's language by its closing
/// label, which our injections (a fixed language per pattern) do not
/// read.
const PHP_INJECTIONS: &str = r#"((text) @injection.content
 (#set! injection.language "html")
 (#set! injection.combined))"#;

macro_rules! language {
    ($language:expr) => {{
        fn language() -> Language {
            Language::new($language)
        }
        language
    }};
}

pub const GRAMMARS: &[GrammarDef] = &[
    GrammarDef {
        names: &["Bourne Again Shell (bash)"],
        injection_name: "bash",
        language: language!(tree_sitter_bash::LANGUAGE),
        highlights: &[tree_sitter_bash::HIGHLIGHT_QUERY],
        extra: "(number) @number",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["C"],
        injection_name: "c",
        language: language!(tree_sitter_c::LANGUAGE),
        highlights: &[tree_sitter_c::HIGHLIGHT_QUERY],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["C++"],
        injection_name: "cpp",
        language: language!(tree_sitter_cpp::LANGUAGE),
        highlights: &[
            tree_sitter_c::HIGHLIGHT_QUERY,
            tree_sitter_cpp::HIGHLIGHT_QUERY,
        ],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["C#"],
        injection_name: "c_sharp",
        language: language!(tree_sitter_c_sharp::LANGUAGE),
        highlights: &[tree_sitter_c_sharp::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["CSS"],
        injection_name: "css",
        language: language!(tree_sitter_css::LANGUAGE),
        highlights: &[tree_sitter_css::HIGHLIGHTS_QUERY],
        extra: CSS_EXTRA,
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["Go"],
        injection_name: "go",
        language: language!(tree_sitter_go::LANGUAGE),
        highlights: &[tree_sitter_go::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["HTML"],
        injection_name: "html",
        language: language!(tree_sitter_html::LANGUAGE),
        highlights: &[tree_sitter_html::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: false,
        injections: Some(InjectionsDef {
            query: tree_sitter_html::INJECTIONS_QUERY,
            may_find: may_hold_script_or_style,
        }),
    },
    GrammarDef {
        names: &["Java"],
        injection_name: "java",
        language: language!(tree_sitter_java::LANGUAGE),
        highlights: &[tree_sitter_java::HIGHLIGHTS_QUERY],
        extra: JAVA_EXTRA,
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["JavaScript", "JavaScript (Babel)"],
        injection_name: "javascript",
        language: language!(tree_sitter_javascript::LANGUAGE),
        highlights: &[
            tree_sitter_javascript::HIGHLIGHT_QUERY,
            tree_sitter_javascript::JSX_HIGHLIGHT_QUERY,
        ],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["Lua"],
        injection_name: "lua",
        language: language!(tree_sitter_lua::LANGUAGE),
        highlights: &[tree_sitter_lua::HIGHLIGHTS_QUERY],
        extra: LUA_EXTRA,
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["PHP"],
        injection_name: "php",
        language: language!(tree_sitter_php::LANGUAGE_PHP),
        highlights: &[tree_sitter_php::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: false,
        injections: Some(InjectionsDef {
            query: PHP_INJECTIONS,
            may_find: php_may_hold_text,
        }),
    },
    GrammarDef {
        names: &["Python"],
        injection_name: "python",
        language: language!(tree_sitter_python::LANGUAGE),
        highlights: &[tree_sitter_python::HIGHLIGHTS_QUERY],
        // The grammar marks builtins after plain calls, so under first-wins
        // `print(...)` would be any function: ours come first.
        extra: PYTHON_EXTRA,
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["Ruby"],
        injection_name: "ruby",
        language: language!(tree_sitter_ruby::LANGUAGE),
        highlights: &[tree_sitter_ruby::HIGHLIGHTS_QUERY],
        extra: RUBY_EXTRA,
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["Rust"],
        injection_name: "rust",
        language: language!(tree_sitter_rust::LANGUAGE),
        highlights: &[tree_sitter_rust::HIGHLIGHTS_QUERY],
        extra: "[(integer_literal) (float_literal)] @number",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["TypeScript"],
        injection_name: "typescript",
        language: language!(tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
        highlights: &[
            tree_sitter_javascript::HIGHLIGHT_QUERY,
            tree_sitter_typescript::HIGHLIGHTS_QUERY,
        ],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["TypeScriptReact"],
        injection_name: "tsx",
        language: language!(tree_sitter_typescript::LANGUAGE_TSX),
        highlights: &[
            tree_sitter_javascript::HIGHLIGHT_QUERY,
            tree_sitter_javascript::JSX_HIGHLIGHT_QUERY,
            tree_sitter_typescript::HIGHLIGHTS_QUERY,
        ],
        extra: "",
        later_wins: false,
        injections: None,
    },
    GrammarDef {
        names: &["YAML"],
        injection_name: "yaml",
        language: language!(tree_sitter_yaml::LANGUAGE),
        highlights: &[tree_sitter_yaml::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Elixir"],
        injection_name: "elixir",
        language: language!(arborium_elixir::language()),
        highlights: &[arborium_elixir::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Groovy"],
        injection_name: "groovy",
        language: language!(arborium_groovy::language()),
        highlights: &[arborium_groovy::HIGHLIGHTS_QUERY],
        extra: GROOVY_EXTRA,
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Erlang"],
        injection_name: "erlang",
        language: language!(tree_sitter_erlang::LANGUAGE),
        highlights: &[tree_sitter_erlang::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Fortran (Modern)"],
        injection_name: "fortran",
        language: language!(tree_sitter_fortran::LANGUAGE),
        highlights: &[tree_sitter_fortran::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Julia"],
        injection_name: "julia",
        language: language!(arborium_julia::language()),
        highlights: &[arborium_julia::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Perl"],
        injection_name: "perl",
        language: language!(ts_parser_perl::LANGUAGE),
        highlights: &[ts_parser_perl::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["R"],
        injection_name: "r",
        language: language!(tree_sitter_r::LANGUAGE),
        highlights: &[tree_sitter_r::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Swift"],
        injection_name: "swift",
        language: language!(tree_sitter_swift::LANGUAGE),
        highlights: &[tree_sitter_swift::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["TOML"],
        injection_name: "toml",
        language: language!(tree_sitter_toml_ng::LANGUAGE),
        highlights: &[tree_sitter_toml_ng::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
    GrammarDef {
        names: &["Zig"],
        injection_name: "zig",
        language: language!(tree_sitter_zig::LANGUAGE),
        highlights: &[tree_sitter_zig::HIGHLIGHTS_QUERY],
        extra: "",
        later_wins: true,
        injections: None,
    },
];

#[cfg(test)]
mod tests {
    use super::{may_hold_script_or_style, php_may_hold_text};

    #[test]
    fn php_files_without_text_outside_their_tags_skip_the_html() {
        assert!(!php_may_hold_text("<?php\necho 1;\n"));
        assert!(!php_may_hold_text("  \n<?php echo 1; ?>\n"));
        assert!(!php_may_hold_text(
            "<?= $a ?> <?PHP echo 2 ?>\n<? echo 3 ?>"
        ));
        assert!(php_may_hold_text("<b>hi</b>"));
        assert!(php_may_hold_text("<!doctype html>\n<?php echo 1; ?>"));
        assert!(php_may_hold_text(
            "<?php if ($a): ?>\n<li>x</li>\n<?php endif; ?>"
        ));
        assert!(php_may_hold_text("<?php echo 1; ?>\n</body>\n"));
        // An opening that is not PHP's may be text to the grammar.
        assert!(php_may_hold_text("<?xml version=\"1.0\"?>\n<?php echo 1;"));
    }

    #[test]
    fn html_without_scripts_or_styles_skips_their_languages() {
        assert!(!may_hold_script_or_style("<p>a <b>b</b></p>"));
        assert!(may_hold_script_or_style("<p>a</p><SCRIPT>x()</SCRIPT>"));
        assert!(may_hold_script_or_style("<style>p {}</style>"));
        assert!(!may_hold_script_or_style("a < b and <scrip"));
    }
}
