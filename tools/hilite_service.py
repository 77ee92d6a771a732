#!/usr/bin/env python3
"""A local, hilite.me-compatible highlighting service built on Pygments.

Highlighter's "remote" engine talks to a hilite.me-style service; this is
one for development and tests, so nothing depends on hilite.me itself:

    python3 tools/hilite_service.py --port 8090 [--host 127.0.0.1] [--spike]

    POST /api  (or POST /), application/x-www-form-urlencoded:
        code       the source (required)
        lexer      a Pygments lexer alias, e.g. python, rust, c [python]
        style      a Pygments style name [colorful]
        linenos    any non-empty value adds a line-number column
        divstyles  CSS for the outer <div> [hilite.me's border and padding]
      200 text/html: an inline-styled HTML fragment, as hilite.me answers
      400 text/plain: missing code, unknown lexer or unknown style
    GET /health -> 200 "ok"

--spike makes the service hostile, for sanitiser tests: every highlighted
answer also carries a <script>, an <img onerror>, a javascript: link and an
onclick attribute on the outer <div>.

Once it listens it prints exactly one line, "listening on HOST:PORT", to
stdout (never anything else; request logs go to stderr). SIGTERM, Ctrl-C
and the death of its parent stop it cleanly (a test that kills "python3"
may only have killed a wrapper, e.g. a pyenv shim). Needs Pygments.
"""

import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound

# What hilite.me puts on its outer <div> (defaults of its web form).
DEFAULT_DIVSTYLES = "border:solid gray;border-width:.1em .1em .1em .8em;padding:.2em .6em;"
SPIKES = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
          '<a href="javascript:alert(1)">x</a>')


class BadRequest(Exception):
    """A client error; the message is answered as plain text with a 400."""


def render(fields, spike=False):
    """The HTML fragment for the form `fields` (a dict of str -> str)."""
    if "code" not in fields:
        raise BadRequest("missing field: code")
    lexer_name = fields.get("lexer") or "python"
    style = fields.get("style") or "colorful"
    try:
        lexer = get_lexer_by_name(lexer_name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        raise BadRequest(f"unknown lexer: {lexer_name}") from None
    try:
        get_style_by_name(style)
    except ClassNotFound:
        raise BadRequest(f"unknown style: {style}") from None
    formatter = HtmlFormatter(
        style=style,
        noclasses=True,
        linenos="table" if fields.get("linenos") else False,
        cssclass="",
        cssstyles="overflow:auto;width:auto;" + fields.get("divstyles", DEFAULT_DIVSTYLES),
        prestyles="margin: 0",
    )
    html = highlight(fields["code"], lexer, formatter)
    if spike:
        # An onclick on the outer div; the rest inside it, after the code.
        html = html.replace("<div", '<div onclick="window.__pwned=3"', 1)
        end = html.rindex("</div>")
        html = html[:end] + SPIKES + html[end:]
    return "<!-- HTML generated using hilite_service.py -->" + html


class Handler(BaseHTTPRequestHandler):
    server_version = "hilite_service/1"
    spike = False

    def answer(self, status, body, content_type="text/plain; charset=utf-8"):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        found = self.path.split("?", 1)[0] == "/health"
        self.answer(200 if found else 404, "ok" if found else "not found")

    def do_POST(self):
        if self.path.split("?", 1)[0] not in ("/", "/api"):
            return self.answer(404, "not found")
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > 16 << 20:
            return self.answer(400, "bad or too large Content-Length")
        raw = self.rfile.read(int(length)).decode("utf-8", errors="replace")
        fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        try:
            html = render(fields, spike=self.spike)
        except BadRequest as e:
            return self.answer(400, str(e))
        self.answer(200, html, "text/html; charset=utf-8")

    def log_message(self, format, *args):
        sys.stderr.write(f"hilite_service: {self.address_string()} {format % args}\n")


def watch_parent(parent, stop):
    """Calls stop() once this process has been orphaned."""
    while os.getppid() == parent:
        time.sleep(0.5)
    stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--spike", action="store_true", help="add hostile markup to every answer")
    args = parser.parse_args(argv)

    Handler.spike = args.spike
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    # shutdown() waits for serve_forever() to return: call it off this thread.
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, args=(os.getppid(), stop), daemon=True).start()
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
