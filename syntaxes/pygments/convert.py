#!/usr/bin/env python3
"""Converts Pygments' regex lexers into Sublime syntaxes for syntect.

Pygments knows some 580 languages; the grammars bat ships (our syntect
set) and our tree-sitter grammars know about 190. Most of Pygments'
lexers are `RegexLexer`s: named states, each a list of (regex, token,
next state) rules. That is the model of a `.sublime-syntax` file too
(contexts, match patterns, push/pop/set), so this script writes one such
file per lexer that our catalogue lacks, and `index.rs` beside them,
which `src/server/highlight/pygments.rs` includes; and, for the lexers
known.txt pairs with a language we have, the file patterns Pygments
gives them (`known-extensions.rs`), so that `.fun` is Standard ML here
too.

What does not carry over, and what happens instead:
- Pygments matches a rule at the current position and resets to `root`
  at an unmatched newline; syntect searches each line for the leftmost
  match. With the rules in Pygments' order the two agree wherever a rule
  matches; text no rule matches stays plain here.
- syntect reads a line at a time, so a regex that spans lines only
  matches within one.
- Callbacks and `using(...)` (another lexer for a group) leave that text
  plain; `bygroups` becomes captures. `#pop:n` is `pop: n` (Sublime Text
  4), which syntect reads as `pop: true` and our runner (lexer.rs) as
  written; so is `('#pop', '#pop', 'state')`, with a `push` beside it.
- The root state may pop in Pygments (a no-op there); here `main` is a
  copy of it that never pops, since syntect cannot pop its last context.

Regexes are rewritten from Python's dialect to Oniguruma's (named groups,
`\\Z`, inline flags, `[` inside a class); a test in languages.rs compiles
every one of them, so a rewrite this misses fails the suite.

Usage: python3 syntaxes/pygments/convert.py [--known FILE] [--served FILE]
  --known: `Pygments' name = the catalogue's name`, one per line, for the
  lexers whose language the catalogue already has (default:
  syntaxes/pygments/known.txt); a lexer whose name or alias is listed
  is skipped.
  --served: the same pairs, for lexers that serve a language the
  catalogue has in place of its grammar (default:
  syntaxes/pygments/served.txt). They are converted even when known.txt
  lists them, and written to `served.rs` under the catalogue's name.
"""

import argparse
import json
import os
import re
import sys

import pygments
from pygments import lexer as plexer
from pygments.lexers import _mapping
from pygments.token import Token, _TokenType

HERE = os.path.dirname(os.path.abspath(__file__))

# Pygments token types to TextMate scopes that
# src/server/highlight/classes.rs gives a colour; the most specific listed
# ancestor of a token type decides. None: plain.
SCOPES = [
    (Token.Keyword, "keyword.other"),
    (Token.Keyword.Constant, "constant.language"),
    # Pygments' Keyword.Type is a type's name (`int`, `Bool`), coloured as
    # a type in its styles: TextMate's `storage.type` is a keyword here.
    (Token.Keyword.Type, "support.type"),
    (Token.Keyword.Declaration, "storage.type"),
    (Token.Keyword.Namespace, "keyword.control.import"),
    (Token.Name, None),
    (Token.Name.Attribute, "entity.other.attribute-name"),
    (Token.Name.Builtin, "support.function"),
    (Token.Name.Builtin.Pseudo, "variable.language"),
    (Token.Name.Class, "entity.name.class"),
    (Token.Name.Constant, "constant.other"),
    (Token.Name.Decorator, "meta.annotation"),
    (Token.Name.Entity, "constant.character.escape"),
    (Token.Name.Exception, "support.class"),
    (Token.Name.Function, "entity.name.function"),
    (Token.Name.Function.Magic, "support.function"),
    (Token.Name.Property, "variable.other.property"),
    (Token.Name.Label, "entity.name.label"),
    (Token.Name.Namespace, "entity.name.namespace"),
    (Token.Name.Tag, "entity.name.tag"),
    (Token.Name.Variable, "support.variable"),
    (Token.Name.Variable.Magic, "variable.language"),
    (Token.Literal, "constant.other"),
    (Token.String, "string.quoted"),
    (Token.String.Affix, "storage.type.string"),
    (Token.String.Char, "constant.character"),
    (Token.String.Delimiter, "punctuation.definition.string"),
    (Token.String.Escape, "constant.character.escape"),
    (Token.String.Interpol, "punctuation.section.embedded"),
    (Token.String.Regex, "string.regexp"),
    (Token.String.Symbol, "constant.other.symbol"),
    (Token.Number, "constant.numeric"),
    (Token.Operator, "keyword.operator"),
    (Token.Operator.Word, "keyword.operator.word"),
    (Token.Punctuation, "punctuation.separator"),
    (Token.Comment, "comment.line"),
    (Token.Comment.Multiline, "comment.block"),
    (Token.Comment.Preproc, "keyword.other.preprocessor"),
    (Token.Comment.PreprocFile, "string.quoted.other"),
    (Token.Generic, None),
    (Token.Generic.Deleted, "markup.deleted"),
    (Token.Generic.Inserted, "markup.inserted"),
    (Token.Generic.Heading, "markup.heading"),
    (Token.Generic.Subheading, "markup.heading"),
    (Token.Generic.Emph, "markup.italic"),
    (Token.Generic.Strong, "markup.bold"),
    (Token.Generic.EmphStrong, "markup.bold"),
    (Token.Generic.Prompt, "keyword.other.prompt"),
]
SCOPE_OF = dict(SCOPES)


def scope_for(token):
    while token is not None and token is not Token:
        if token in SCOPE_OF:
            return SCOPE_OF[token]
        token = token.parent
    return None


def rewrite_regex(pattern, flags, groups_renumbered=None):
    """A Python regex as Oniguruma (Ruby syntax, syntect's dialect).

    `groups_renumbered[0]` is set when groups had to become non-capturing."""
    if groups_renumbered is None:
        groups_renumbered = [False]
    # Named groups become plain ones: Oniguruma stops numbering unnamed
    # groups once a regex has a named one, and `bygroups` counts them all.
    names = {}
    try:
        names = re.compile(pattern, flags).groupindex
    except re.error:
        pass
    out = []
    i = 0
    in_class = False
    class_start = 0
    leading = {"i": bool(flags & re.IGNORECASE), "m": bool(flags & re.DOTALL),
               "x": bool(flags & re.VERBOSE)}
    # Python allows global inline flags only at the start: `(?imsx)`.
    m = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    if m:
        for f in m.group(1):
            if f == "i":
                leading["i"] = True
            elif f == "s":
                leading["m"] = True
            elif f == "x":
                leading["x"] = True
        i = m.end()
    n = len(pattern)
    depth = 0
    lookbehind_depth = 0
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Z":
                out.append("\\z")
            elif nxt in "'`":
                # Literal in Python; GNU buffer anchors in some dialects.
                out.append(nxt)
            elif nxt == "u" and re.match(r"[0-9a-fA-F]{4}", pattern[i + 2:i + 6]):
                out.append("\\x{%s}" % pattern[i + 2:i + 6])
                i += 6
                continue
            elif nxt == "U" and re.match(r"[0-9a-fA-F]{8}", pattern[i + 2:i + 10]):
                out.append("\\x{%x}" % int(pattern[i + 2:i + 10], 16))
                i += 10
                continue
            elif nxt == "N" and pattern[i + 2:i + 3] == "{":
                end = pattern.index("}", i)
                import unicodedata
                ch = unicodedata.lookup(pattern[i + 3:end])
                out.append("\\x{%x}" % ord(ch))
                i = end + 1
                continue
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]" and i >= class_start:
                in_class = False
                out.append(c)
            elif c == "[":
                out.append("\\[")
            elif c == "&" and pattern[i + 1:i + 2] == "&":
                out.append("\\&\\&")
                i += 2
                continue
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            # A `]` first in a class is literal in both dialects.
            class_start = i + 1 if i < n and pattern[i] == "]" else i
            continue
        if pattern.startswith("(?P<", i):
            end = pattern.index(">", i)
            out.append("(")
            depth += 1
            i = end + 1
            continue
        if pattern.startswith("(?P=", i):
            end = pattern.index(")", i)
            out.append("\\%d" % names[pattern[i + 4:end]])
            i = end + 1
            continue
        if lookbehind_depth and c == "(" and not pattern.startswith("(?", i):
            # Oniguruma refuses captures in a negative look-behind; the
            # caller drops the rule if it counts groups (bygroups).
            out.append("(?:")
            groups_renumbered[0] = True
            depth += 1
            i += 1
            continue
        if pattern.startswith("(?<!", i) or pattern.startswith("(?<=", i):
            out.append(pattern[i:i + 4])
            depth += 1
            lookbehind_depth = lookbehind_depth or depth
            i += 4
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            if lookbehind_depth == depth:
                lookbehind_depth = 0
            depth -= 1
        if c == "(" and pattern.startswith("(?", i):
            # Scoped flags `(?s:...)`, `(?i:...)`: `s` is Ruby's `m`.
            m = re.match(r"\(\?([aiLmsux]*)(?:-([imsx]+))?:", pattern[i:])
            if m and (m.group(1) or m.group(2)):
                on = "".join({"s": "m", "i": "i", "x": "x"}.get(f, "") for f in m.group(1))
                off = "".join({"s": "m", "i": "i", "x": "x"}.get(f, "") for f in (m.group(2) or ""))
                out.append("(?%s%s:" % (on, "-" + off if off else ""))
                i += m.end()
                continue
        out.append(c)
        i += 1
    body = "".join(out)
    prefix = "".join(f for f in "imx" if leading[f])
    return ("(?%s)" % prefix if prefix else "") + body


def quote(s):
    return json.dumps(s, ensure_ascii=False)


def context_name(state, names):
    if state not in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", state) or "state"
        name = "s_" + base
        while name in names.values():
            name += "_"
        names[state] = name
    return names[state]


def transition(new_state, current, names):
    """Pygments' next state as (operation, contexts, contexts popped)."""
    if new_state is None:
        return None, [], 0
    if isinstance(new_state, int):
        return "pop", [], -new_state
    if new_state == "#push":
        return "push", [context_name(current, names)], 0
    pops = 0
    pushes = []
    for s in new_state:
        if s == "#pop":
            if pushes:
                pushes.pop()
            else:
                pops += 1
        elif s == "#push":
            pushes.append(pushes[-1] if pushes else current)
        else:
            pushes.append(s)
    pushes = [context_name(s, names) for s in pushes]
    if pops == 1 and pushes:
        return "set", pushes, 1
    if pops and pushes:
        return "pop-push", pushes, pops
    if pops:
        return "pop", [], pops
    if pushes:
        return "push", pushes, 0
    return None, [], 0


# A literal-ish part: escapes and characters that open no group, class or
# alternative.
LITERAL = r"(?:\\.|[^()|.*?+\[\]{}^$\\])+"
ANY_LAZY = r"(?:\[\\w\\W\]\*\?|\[\\s\\S\]\*\?|\((?:\?:)?\.\|\\n\)\*\?|(?P<dot>\.\*\?))"


def spanning_lines(pattern, flags):
    """(start, end) if `pattern` is `START` + anything, lazily and across
    lines, + `END` (a block comment, a here-string), else None."""
    m = re.fullmatch("(%s)%s(%s)" % (LITERAL, ANY_LAZY, LITERAL), pattern)
    if not m:
        return None
    if m.group("dot") and not flags & re.DOTALL:
        return None
    return m.group(1), m.group(m.lastindex)


def bygroups_args(action):
    if callable(action) and getattr(action, "__qualname__", "") == "bygroups.<locals>.callback":
        return action.__closure__[0].cell_contents
    return None


def rule_yaml(rex, action, new_state, current, names, is_main, lines):
    pattern = rex.__self__.pattern
    flags = rex.__self__.flags
    spanning = spanning_lines(pattern, flags)
    if spanning and isinstance(action, _TokenType) and new_state is None:
        # `/\*.*?\*/` across lines: open a context at its start that the
        # end pops, since syntect only ever matches within one line.
        start, end = (rewrite_regex(part, flags & ~re.DOTALL) for part in spanning)
        scope = scope_for(action)
        lines.append("    - match: %s" % quote(start))
        if scope:
            lines.append("      scope: %s" % quote(scope))
        lines.append("      push:")
        if scope:
            lines.append("        - meta_content_scope: %s" % quote(scope))
        lines.append("        - match: %s" % quote(end))
        if scope:
            lines.append("          scope: %s" % quote(scope))
        lines.append("          pop: true")
        return
    renumbered = [False]
    regex = rewrite_regex(pattern, flags, renumbered)
    if renumbered[0] and bygroups_args(action):
        return  # its captures would name the wrong groups
    op, targets, pops = transition(new_state, current, names)
    if is_main:
        # syntect cannot pop its last context; Pygments ignores such pops.
        if op == "pop":
            op, targets = None, []
        elif op in ("set", "pop-push"):
            op = "push"
    if regex == "" and op is None:
        return
    if re.search("[\ud800-\udfff]", regex):
        return  # UTF-16 halves: nothing in UTF-8 text matches them
    lines.append("    - match: %s" % quote(regex))
    if isinstance(action, _TokenType):
        scope = scope_for(action)
        if scope:
            lines.append("      scope: %s" % quote(scope))
    else:
        groups = bygroups_args(action)
        if groups:
            caps = []
            for index, token in enumerate(groups, start=1):
                if isinstance(token, _TokenType):
                    scope = scope_for(token)
                    if scope:
                        caps.append("        %d: %s" % (index, quote(scope)))
            if caps:
                lines.append("      captures:")
                lines.extend(caps)
    if op == "pop" and pops == 1:
        lines.append("      pop: true")
    elif op == "pop":
        # Sublime Text 4's count, which syntect reads as one and lexer.rs
        # as written.
        lines.append("      pop: %d" % pops)
    elif op == "pop-push":
        lines.append("      pop: %d" % pops)
        lines.append("      push: [%s]" % ", ".join(targets))
    elif op in ("push", "set"):
        if len(targets) == 1:
            lines.append("      %s: %s" % (op, targets[0]))
        else:
            lines.append("      %s: [%s]" % (op, ", ".join(targets)))


def extensions(cls, filenames):
    """The extensions and whole file names Pygments itself would give
    this lexer (several lexers list `*.pro`; Pygments picks one)."""
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound
    exts, names = [], []
    expanded = []
    for glob in filenames:
        # `*.lasso[89]`: one pattern per letter of a bracket.
        m = re.fullmatch(r"(.*)\[([A-Za-z0-9]+)\](.*)", glob)
        expanded.extend(m.group(1) + c + m.group(3) for c in m.group(2)) if m else expanded.append(glob)
    for glob in expanded:
        # `*.css.in`: a double extension, as by_file_name reads one.
        if re.fullmatch(r"\*\.[A-Za-z0-9_+\-.]+", glob):
            target, file = exts, "example." + glob[2:]
        elif re.fullmatch(r"\.[A-Za-z0-9_+\-]+", glob):
            # `.SRCINFO` names a file, and is the extension of `x.SRCINFO`.
            target, file = exts, glob
        elif re.fullmatch(r"[A-Za-z0-9_.+\-]+", glob):
            target, file = names, glob
        else:
            continue
        try:
            chosen = type(get_lexer_for_filename(file, code=""))
        except ClassNotFound:
            continue
        if chosen is cls:
            target.append(file if target is names else glob.lstrip("*."))
    return exts + names


def regex_lexer(cls):
    """The RegexLexer instance whose states make the syntax, or None.

    A DelegatingLexer (`html+php`, `yaml+jinja`) runs a language lexer and
    hands what it marks `Other` to a root lexer; here the language lexer's
    states serve alone and that text stays plain."""
    if issubclass(cls, plexer.RegexLexer):
        return cls()
    if issubclass(cls, plexer.DelegatingLexer):
        try:
            inner = cls().language_lexer
        except Exception:
            return None
        if isinstance(inner, plexer.RegexLexer):
            return inner
    return None


def convert(cls, aliases, filenames):
    # Pygments compiles the token definitions on first use (some lexers
    # pick a set of them by option in __init__).
    tokens = regex_lexer(cls)._tokens
    names = {}
    context_name("root", names)
    for state in tokens:
        context_name(state, names)
    scope_name = "source.pygments." + re.sub(r"[^a-z0-9]+", "-", (aliases[0] if aliases else cls.name).lower())
    lines = ["%YAML 1.2", "---",
             "# Converted from Pygments %s (%s, BSD-2-Clause; see LICENSE) by convert.py."
             % (pygments.__version__, cls.__module__ + "." + cls.__name__),
             "# Its lexer's states, as Sublime contexts; see convert.py for what differs.",
             "name: %s" % quote(cls.name),
             "scope: %s" % quote(scope_name),
             "file_extensions: [%s]" % ", ".join(quote(e) for e in extensions(cls, filenames)),
             "hidden: false",
             "contexts:"]
    lines.append("  main:")
    start = len(lines)
    for rex, action, new_state in tokens["root"]:
        rule_yaml(rex, action, new_state, "root", names, True, lines)
    if len(lines) == start:
        lines.append("    []")
    for state, rules in tokens.items():
        lines.append("  %s:" % context_name(state, names))
        start = len(lines)
        for rex, action, new_state in rules:
            rule_yaml(rex, action, new_state, state, names, False, lines)
        if len(lines) == start:
            lines.append("    []")
    return "\n".join(lines) + "\n"


def read_pairs(path):
    """`Pygments' name = our name` lines, as {lowercased theirs: ours}."""
    pairs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                theirs, _, ours = line.partition(" = ")
                pairs[theirs.strip().lower()] = ours.strip()
    return pairs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--known", default=os.path.join(HERE, "known.txt"))
    parser.add_argument("--served", default=os.path.join(HERE, "served.txt"))
    args = parser.parse_args()
    known = read_pairs(args.known)
    served_by = read_pairs(args.served)
    served = []
    for old in os.listdir(HERE):
        if old.endswith(".sublime-syntax"):
            os.remove(os.path.join(HERE, old))
    index = []
    known_extensions = []
    used_files = set()
    skipped = {"known": 0, "not a regex lexer": 0, "failed": 0}
    for module, name, aliases, filenames, _mimes in sorted(_mapping.LEXERS.values(), key=lambda v: v[1].lower()):
        mod = __import__(module, None, None, ["__name__"])
        cls = next(getattr(mod, attr) for attr in mod.__all__ if getattr(getattr(mod, attr), "name", None) == name)
        if name.lower() in served_by:
            text = convert(cls, aliases, filenames)
            file = "served-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".sublime-syntax"
            with open(os.path.join(HERE, file), "w", encoding="utf-8") as f:
                f.write(text)
            served.append((served_by[name.lower()], file))
        if name.lower() in known or any(a.lower() in known for a in aliases):
            skipped["known"] += 1
            ours = known.get(name.lower())
            if ours:
                known_extensions.append((ours, extensions(cls, filenames)))
            continue
        if regex_lexer(cls) is None:
            skipped["not a regex lexer"] += 1
            continue
        try:
            text = convert(cls, aliases, filenames)
        except Exception as err:  # a lexer whose states do not build
            print("skip %s: %s" % (name, err), file=sys.stderr)
            skipped["failed"] += 1
            continue
        stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        file = stem + ".sublime-syntax"
        while file in used_files:
            stem += "-"
            file = stem + ".sublime-syntax"
        used_files.add(file)
        with open(os.path.join(HERE, file), "w", encoding="utf-8") as f:
            f.write(text)
        index.append((name, aliases, extensions(cls, filenames), file))
    with open(os.path.join(HERE, "index.rs"), "w", encoding="utf-8") as f:
        f.write("// Generated by convert.py: the converted Pygments lexers as\n")
        f.write("// (name, aliases, file extensions and names, sublime-syntax source).\n")
        f.write("&[\n")
        for name, aliases, exts, file in index:
            f.write("    (%s, &[%s], &[%s], include_str!(%s)),\n" % (
                quote(name), ", ".join(quote(a) for a in aliases),
                ", ".join(quote(e) for e in exts), quote(file)))
        f.write("]\n")
    with open(os.path.join(HERE, "known-extensions.rs"), "w", encoding="utf-8") as f:
        f.write("// Generated by convert.py: for each language of known.txt, the file\n")
        f.write("// extensions and names Pygments gives it, as (our name, extensions).\n")
        f.write("&[\n")
        for ours, exts in known_extensions:
            if exts:
                f.write("    (%s, &[%s]),\n" % (quote(ours), ", ".join(quote(e) for e in exts)))
        f.write("]\n")
    with open(os.path.join(HERE, "served.rs"), "w", encoding="utf-8") as f:
        f.write("// Generated by convert.py: the lexers served.txt gives a language of\n")
        f.write("// ours to, as (our name, sublime-syntax source).\n")
        f.write("&[\n")
        for ours, file in served:
            f.write("    (%s, include_str!(%s)),\n" % (quote(ours), quote(file)))
        f.write("]\n")
    print("%d converted, %d served; skipped %s" % (len(index), len(served), skipped), file=sys.stderr)


if __name__ == "__main__":
    main()
