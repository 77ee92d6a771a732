"""Highlight throughput of Pygments on the shared corpus: the peer that
the benchmark suite (`examples/bench/throughput.rs`) compares the engine
with, measured the same way: files in memory first, one warm-up pass, the
median of N passes per file, only the highlighting call timed,
HtmlFormatter with CSS classes. Prints one JSON line per group and language.

    python3 bench/pygments_throughput.py --repeats 5

With --serve it times one file per request instead: it reads lines of
"<path relative to the corpus>\t<language>\t<repeats>" on stdin and
answers each with a JSON line {"seconds": <median>, "kinds": [...]}, the
kinds of token Pygments colours in the file (keyword, string, ...; see
KINDS), untimed. The suite uses it to
measure Pygments file by file, between its own engines' passes on the same
file, so that a machine that drifts in speed over the run (a shared one
does) favours no side.

    python3 bench/pygments_throughput.py --serve
"""

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, guess_lexer_for_filename
from pygments.util import ClassNotFound


def lexer_for(language, path, code):
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return guess_lexer_for_filename(path.name, code, stripnl=False, ensurenl=False)


# Pygments' token types as the kinds our classes are grouped in
# (examples/bench/throughput.rs, `kind_of_class`): the longest known
# prefix of a type decides. Types not here (Name, Text, Error...) are
# plain in Pygments' own styles too.
KINDS = {
    "Keyword": "keyword",
    "Keyword.Type": "type",
    "Keyword.Constant": "constant",
    "Operator.Word": "keyword",
    "Comment.Preproc": "keyword",
    "Comment.PreprocFile": "string",
    "Name.Function": "function",
    "Name.Builtin": "function",
    "Name.Builtin.Pseudo": "variable",
    "Name.Class": "type",
    "Name.Exception": "type",
    "Name.Constant": "constant",
    "Name.Entity": "constant",
    "Name.Decorator": "attribute",
    "Name.Attribute": "attribute",
    "Name.Tag": "tag",
    "Name.Namespace": "module",
    "Name.Label": "label",
    "Name.Variable": "variable",
    "Name.Property": "variable",
    "Literal.String": "string",
    "Literal.Number": "number",
    "Literal.Date": "number",
    "Comment": "comment",
    "Operator": "operator",
    "Punctuation": "operator",
    "Generic.Heading": "markup",
    "Generic.Subheading": "markup",
    "Generic.Emph": "markup",
    "Generic.Strong": "markup",
    "Generic.Inserted": "diff",
    "Generic.Deleted": "diff",
}


def kind_of(token_type):
    while token_type.parent is not None:
        kind = KINDS.get(str(token_type)[len("Token."):])
        if kind:
            return kind
        token_type = token_type.parent
    return None


def kinds_of(code, lexer):
    kinds = set()
    for token_type, text in lexer.get_tokens(code):
        if text.strip():
            kind = kind_of(token_type)
            if kind:
                kinds.add(kind)
    return sorted(kinds)


def median_seconds(code, lexer, formatter, repeats):
    times = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        highlight(code, lexer, formatter)
        took = time.perf_counter() - started
        if attempt > 0:
            times.append(took)
    return statistics.median(times)


def serve(corpus, formatter):
    import sys

    for line in sys.stdin:
        path, language, repeats = line.rstrip("\n").split("\t")
        code = (corpus / path).read_bytes().decode("utf-8")
        lexer = lexer_for(language, corpus / path, code)
        seconds = median_seconds(code, lexer, formatter, int(repeats))
        print(json.dumps({"seconds": seconds, "kinds": kinds_of(code, lexer)}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument(
        "--corpus",
        default=os.environ.get(
            "HIGHLIGHTER_CORPUS", str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")
        ),
    )
    args = parser.parse_args()
    corpus = Path(args.corpus)
    formatter = HtmlFormatter()  # classes, not inline styles
    if args.serve:
        serve(corpus, formatter)
        return
    totals = defaultdict(lambda: [0, 0.0])
    rows = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for row in rows:
        path, language = row.split("\t")[:2]
        code = (corpus / path).read_bytes().decode("utf-8")
        lexer = lexer_for(language, corpus / path, code)
        group = "large" if path.startswith("large/") else "files"
        entry = totals[(group, language)]
        entry[0] += len(code.encode("utf-8"))
        entry[1] += median_seconds(code, lexer, formatter, args.repeats)
    groups = defaultdict(lambda: [0, 0.0])
    for (group, language), (size, seconds) in sorted(totals.items()):
        print(json.dumps({"engine": "pygments", "group": group, "language": language, "bytes": size,
                          "seconds": round(seconds, 6), "bytes_per_second": round(size / seconds)}))
        groups[group][0] += size
        groups[group][1] += seconds
    for group, (size, seconds) in sorted(groups.items()):
        print(json.dumps({"engine": "pygments", "group": group, "language": "*", "bytes": size,
                          "seconds": round(seconds, 6), "bytes_per_second": round(size / seconds)}))


if __name__ == "__main__":
    main()
