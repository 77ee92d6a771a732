//! One vocabulary of highlight classes for every engine.
//!
//! tree-sitter grammars name what they find with capture names
//! (`@keyword.function`, `@string.escape`); syntect grammars with TextMate
//! scopes (`storage.type.function.rust`, `constant.character.escape`).
//! Both are folded here into one short list of [`Class`]es, written as
//! one- or two-letter CSS classes, so that one stylesheet themes every
//! snippet whichever engine highlighted it, and the HTML stays small.

/// What a piece of code is, as far as colour goes. The discriminants index
/// the stylesheet's table; `element` is what the HTML writes around a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Keyword,
    String,
    Escape,
    Regex,
    Comment,
    Number,
    Constant,
    Function,
    Builtin,
    Macro,
    Type,
    Variable,
    Parameter,
    Property,
    Punctuation,
    Attribute,
    Tag,
    TagAttribute,
    Module,
    Label,
    Heading,
    Emphasis,
    Strong,
    Link,
    Inserted,
    Deleted,
}

impl Class {
    pub const ALL: [Class; 26] = [
        Class::Keyword,
        Class::String,
        Class::Escape,
        Class::Regex,
        Class::Comment,
        Class::Number,
        Class::Constant,
        Class::Function,
        Class::Builtin,
        Class::Macro,
        Class::Type,
        Class::Variable,
        Class::Parameter,
        Class::Property,
        Class::Punctuation,
        Class::Attribute,
        Class::Tag,
        Class::TagAttribute,
        Class::Module,
        Class::Label,
        Class::Heading,
        Class::Emphasis,
        Class::Strong,
        Class::Link,
        Class::Inserted,
        Class::Deleted,
    ];

    /// The class's short name (`k`), as written in the HTML of fragments
    /// stored before [`Class::element`] and in the stylesheet's selectors
    /// for them.
    pub fn css(self) -> &'static str {
        &self.element()[2..]
    }

    /// The element a run of this class is written as: a custom element
    /// (`<x-k>fn</x-k>`), 11 bytes a run against 21 for
    /// `<span class=k>fn</span>`, which in dense code is what decides
    /// whether its colour fits ([`super::render::MAX_HTML_PER_BYTE`]).
    /// The stylesheet colours both, so fragments stored before read the
    /// same.
    pub fn element(self) -> &'static str {
        match self {
            Class::Keyword => "x-k",
            Class::String => "x-s",
            Class::Escape => "x-se",
            Class::Regex => "x-sr",
            Class::Comment => "x-c",
            Class::Number => "x-n",
            Class::Constant => "x-co",
            Class::Function => "x-f",
            Class::Builtin => "x-fb",
            Class::Macro => "x-fm",
            Class::Type => "x-t",
            Class::Variable => "x-v",
            Class::Parameter => "x-pa",
            Class::Property => "x-pr",
            Class::Punctuation => "x-p",
            Class::Attribute => "x-at",
            Class::Tag => "x-tg",
            Class::TagAttribute => "x-ta",
            Class::Module => "x-m",
            Class::Label => "x-l",
            Class::Heading => "x-h",
            Class::Emphasis => "x-em",
            Class::Strong => "x-st",
            Class::Link => "x-u",
            Class::Inserted => "x-gi",
            Class::Deleted => "x-gd",
        }
    }

    /// The class a tree-sitter capture name stands for: the longest known
    /// prefix of its dotted parts decides (`keyword.function` is a
    /// keyword, `string.escape` an escape). `None` leaves the text plain.
    pub fn from_capture(name: &str) -> Option<Class> {
        let mut candidate = name;
        loop {
            if let Some(found) = CAPTURES.iter().find(|(n, _)| *n == candidate) {
                return found.1;
            }
            match candidate.rfind('.') {
                Some(dot) => candidate = &candidate[..dot],
                None => return None,
            }
        }
    }

    /// The class a TextMate scope stands for, by its most specific known
    /// prefix. `Inherit` means the scope says nothing about colour and the
    /// enclosing scope's class goes on (`meta.*`, `source.*`, the quotes of
    /// a string); `Plain` means this scope and what is inside it is plain.
    pub fn from_scope(scope: &str) -> ScopeClass {
        let mut candidate = scope;
        loop {
            if let Some(found) = SCOPES.iter().find(|(n, _)| *n == candidate) {
                return found.1;
            }
            match candidate.rfind('.') {
                Some(dot) => candidate = &candidate[..dot],
                None => return ScopeClass::Inherit,
            }
        }
    }
}

/// What a TextMate scope does to the class of the text inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeClass {
    Is(Class),
    Inherit,
    Plain,
}

use Class::*;

/// Capture names as tree-sitter grammars use them (tree-sitter-highlight's
/// and nvim-treesitter's conventions both). Most specific first does not
/// matter: lookup tries the whole name, then drops a part at a time.
const CAPTURES: &[(&str, Option<Class>)] = &[
    ("keyword", Some(Keyword)),
    ("keyword.operator", Some(Keyword)),
    ("conditional", Some(Keyword)),
    ("repeat", Some(Keyword)),
    ("include", Some(Keyword)),
    ("exception", Some(Keyword)),
    ("storageclass", Some(Keyword)),
    ("type.qualifier", Some(Keyword)),
    ("string", Some(String)),
    ("character", Some(String)),
    ("string.escape", Some(Escape)),
    ("escape", Some(Escape)),
    ("string.special", Some(Escape)),
    ("string.special.symbol", Some(Constant)),
    ("string.special.key", Some(Property)),
    ("string.special.path", Some(String)),
    ("string.special.url", Some(Link)),
    ("string.regex", Some(Regex)),
    ("string.regexp", Some(Regex)),
    ("string.special.regex", Some(Regex)),
    ("comment", Some(Comment)),
    ("number", Some(Number)),
    ("float", Some(Number)),
    ("boolean", Some(Constant)),
    ("constant", Some(Constant)),
    ("constant.builtin", Some(Constant)),
    ("constant.numeric", Some(Number)),
    ("constant.character", Some(String)),
    ("constant.character.escape", Some(Escape)),
    ("function", Some(Function)),
    ("method", Some(Function)),
    ("function.builtin", Some(Builtin)),
    ("function.macro", Some(Macro)),
    ("macro", Some(Macro)),
    ("constructor", Some(Type)),
    ("type", Some(Type)),
    ("class", Some(Type)),
    ("interface", Some(Type)),
    ("variable", None),
    ("variable.builtin", Some(Variable)),
    // Ours, for a grammar whose variables stand out from its text (Make's
    // `$(CC)`), where `variable` alone would leave them plain.
    ("variable.other", Some(Variable)),
    ("variable.parameter", Some(Parameter)),
    ("parameter", Some(Parameter)),
    ("variable.member", Some(Property)),
    ("variable.other.member", Some(Property)),
    ("property", Some(Property)),
    ("field", Some(Property)),
    ("punctuation", Some(Punctuation)),
    ("punctuation.special", Some(Escape)),
    // Operators and punctuation share one class: in the themes they look
    // alike, and adjacent runs (`);`, `= (`) then share one span.
    ("operator", Some(Punctuation)),
    ("attribute", Some(Attribute)),
    ("decorator", Some(Attribute)),
    ("annotation", Some(Attribute)),
    ("tag", Some(Tag)),
    ("tag.attribute", Some(TagAttribute)),
    ("tag.delimiter", Some(Punctuation)),
    ("module", Some(Module)),
    ("namespace", Some(Module)),
    ("label", Some(Label)),
    ("markup.heading", Some(Heading)),
    ("text.title", Some(Heading)),
    ("markup.italic", Some(Emphasis)),
    ("text.emphasis", Some(Emphasis)),
    ("markup.strong", Some(Strong)),
    ("markup.bold", Some(Strong)),
    ("text.strong", Some(Strong)),
    ("markup.link", Some(Link)),
    ("markup.link.url", Some(Link)),
    ("text.uri", Some(Link)),
    ("text.reference", Some(Link)),
    ("markup.raw", Some(String)),
    ("text.literal", Some(String)),
    ("markup.list", Some(Punctuation)),
    ("markup.quote", Some(Comment)),
    ("diff.plus", Some(Inserted)),
    ("diff.minus", Some(Deleted)),
    ("embedded", None),
    ("none", None),
    ("spell", None),
    ("nospell", None),
];

/// TextMate scopes (syntect, the grammars bat ships).
const SCOPES: &[(&str, ScopeClass)] = &[
    ("keyword", ScopeClass::Is(Keyword)),
    ("keyword.operator", ScopeClass::Is(Punctuation)),
    ("keyword.operator.word", ScopeClass::Is(Keyword)),
    ("keyword.operator.new", ScopeClass::Is(Keyword)),
    ("keyword.operator.logical.python", ScopeClass::Is(Keyword)),
    ("keyword.other.unit", ScopeClass::Is(Number)),
    ("storage", ScopeClass::Is(Keyword)),
    ("storage.type", ScopeClass::Is(Keyword)),
    ("storage.modifier", ScopeClass::Is(Keyword)),
    ("string", ScopeClass::Is(String)),
    ("string.regexp", ScopeClass::Is(Regex)),
    ("string.unquoted", ScopeClass::Is(String)),
    ("constant.character.escape", ScopeClass::Is(Escape)),
    ("constant.character", ScopeClass::Is(String)),
    ("constant.other.placeholder", ScopeClass::Is(Escape)),
    ("constant.numeric", ScopeClass::Is(Number)),
    ("constant.language", ScopeClass::Is(Constant)),
    ("constant.other", ScopeClass::Is(Constant)),
    ("constant", ScopeClass::Is(Constant)),
    ("comment", ScopeClass::Is(Comment)),
    ("entity.name.function", ScopeClass::Is(Function)),
    ("entity.name.type", ScopeClass::Is(Type)),
    ("entity.name.class", ScopeClass::Is(Type)),
    ("entity.name.struct", ScopeClass::Is(Type)),
    ("entity.name.enum", ScopeClass::Is(Type)),
    ("entity.name.trait", ScopeClass::Is(Type)),
    ("entity.name.interface", ScopeClass::Is(Type)),
    ("entity.name.namespace", ScopeClass::Is(Module)),
    ("entity.name.module", ScopeClass::Is(Module)),
    ("entity.name.tag", ScopeClass::Is(Tag)),
    ("entity.name.label", ScopeClass::Is(Label)),
    ("entity.name.constant", ScopeClass::Is(Constant)),
    ("entity.name.section", ScopeClass::Is(Heading)),
    ("entity.name", ScopeClass::Is(Type)),
    ("entity.other.attribute-name", ScopeClass::Is(TagAttribute)),
    ("entity.other.inherited-class", ScopeClass::Is(Type)),
    ("entity.other", ScopeClass::Is(Type)),
    ("support.function", ScopeClass::Is(Builtin)),
    ("support.macro", ScopeClass::Is(Macro)),
    ("support.type", ScopeClass::Is(Type)),
    ("support.class", ScopeClass::Is(Type)),
    ("support.constant", ScopeClass::Is(Constant)),
    ("support.variable", ScopeClass::Is(Variable)),
    ("support.module", ScopeClass::Is(Module)),
    ("variable.language", ScopeClass::Is(Variable)),
    ("variable.parameter", ScopeClass::Is(Parameter)),
    ("variable.function", ScopeClass::Is(Function)),
    ("variable.other.member", ScopeClass::Is(Property)),
    ("variable.other.property", ScopeClass::Is(Property)),
    ("variable.other.constant", ScopeClass::Is(Constant)),
    ("variable.annotation", ScopeClass::Is(Attribute)),
    ("variable", ScopeClass::Plain),
    ("punctuation", ScopeClass::Is(Punctuation)),
    // The quotes of a string are the string; the marks of a comment the
    // comment: their class is the enclosing scope's.
    ("punctuation.definition", ScopeClass::Inherit),
    ("punctuation.definition.string", ScopeClass::Is(String)),
    ("punctuation.definition.comment", ScopeClass::Is(Comment)),
    ("punctuation.definition.tag", ScopeClass::Is(Punctuation)),
    ("punctuation.section.embedded", ScopeClass::Is(Escape)),
    (
        "punctuation.definition.template-expression",
        ScopeClass::Is(Escape),
    ),
    ("meta.annotation", ScopeClass::Is(Attribute)),
    ("meta.attribute", ScopeClass::Is(Attribute)),
    ("meta.decorator", ScopeClass::Is(Attribute)),
    // A module an import names (Sublime's Python: `from pygments import`),
    // as Pygments colours it (`Name.Namespace`).
    ("meta.import-name", ScopeClass::Is(Module)),
    ("meta.embedded", ScopeClass::Plain),
    ("source", ScopeClass::Plain),
    ("text", ScopeClass::Plain),
    ("markup.heading", ScopeClass::Is(Heading)),
    ("markup.italic", ScopeClass::Is(Emphasis)),
    ("markup.bold", ScopeClass::Is(Strong)),
    ("markup.underline.link", ScopeClass::Is(Link)),
    ("markup.raw", ScopeClass::Is(String)),
    ("markup.quote", ScopeClass::Is(Comment)),
    ("markup.list", ScopeClass::Inherit),
    ("markup.inserted", ScopeClass::Is(Inserted)),
    ("markup.deleted", ScopeClass::Is(Deleted)),
    ("invalid", ScopeClass::Inherit),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_fold_to_their_longest_known_prefix() {
        assert_eq!(Class::from_capture("keyword"), Some(Keyword));
        assert_eq!(Class::from_capture("keyword.control.return"), Some(Keyword));
        assert_eq!(Class::from_capture("string.escape"), Some(Escape));
        assert_eq!(Class::from_capture("string.special.regex"), Some(Regex));
        assert_eq!(Class::from_capture("function.method.call"), Some(Function));
        assert_eq!(Class::from_capture("function.builtin"), Some(Builtin));
        assert_eq!(Class::from_capture("variable"), None);
        assert_eq!(Class::from_capture("variable.parameter"), Some(Parameter));
        assert_eq!(
            Class::from_capture("punctuation.bracket"),
            Some(Punctuation)
        );
        assert_eq!(Class::from_capture("something.unheard.of"), None);
    }

    #[test]
    fn scopes_fold_and_quotes_belong_to_their_string() {
        assert_eq!(
            Class::from_scope("keyword.control.rust"),
            ScopeClass::Is(Keyword)
        );
        assert_eq!(
            Class::from_scope("string.quoted.double.rust"),
            ScopeClass::Is(String)
        );
        assert_eq!(
            Class::from_scope("punctuation.definition.string.begin.rust"),
            ScopeClass::Is(String)
        );
        assert_eq!(
            Class::from_scope("constant.numeric.integer.decimal.rust"),
            ScopeClass::Is(Number)
        );
        assert_eq!(Class::from_scope("meta.function.rust"), ScopeClass::Inherit);
        assert_eq!(Class::from_scope("source.rust"), ScopeClass::Plain);
    }

    #[test]
    fn every_class_has_its_own_short_name() {
        let names: std::collections::HashSet<_> = Class::ALL.iter().map(|c| c.css()).collect();
        assert_eq!(names.len(), Class::ALL.len());
        assert!(names.iter().all(|n| n.len() <= 2));
    }
}
