#!/usr/bin/env python3
"""What schemathesis does not send: HEAD requests, and a foreign Host.

    python3 tools/probe_edges.py http://127.0.0.1:PORT

For every operation of the server's OpenAPI document, with the ids of
real snippets put in for `{id}`:

  - HEAD on every GET path (event streams aside, which stay open by
    design): never a server error, never a body, and a
    burn-after-reading snippet is still there afterwards (a HEAD reads
    nothing, so it burns nothing);
  - every method with `Host: evil.example` (a DNS-rebinding page): 421
    with a JSON `{"error"}` sentence, before anything runs.

Prints one line per failure and exits 1 if there was any; standard
library only.
"""

import http.client
import json
import sys
import urllib.parse


def request(base, method, path, body=None, headers=None, host=None):
    """(status, headers, body) of one request on a fresh connection."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def new_snippet(base, **fields):
    body = json.dumps({"code": "fn main() { println!(\"probe\"); }\n", "language": "rust", **fields}).encode()
    status, _, answer = request(base, "POST", "/api/snippets", body, {"Content-Type": "application/json"})
    if status != 201:
        sys.exit(f"could not create a snippet: {status} {answer[:200]!r}")
    return json.loads(answer)


def main():
    base = sys.argv[1].rstrip("/")
    status, _, document = request(base, "GET", "/api/openapi.json")
    if status != 200:
        sys.exit(f"no OpenAPI document: {status}")
    paths = json.loads(document)["paths"]
    failures = []
    plain = new_snippet(base)
    burning = new_snippet(base, burn_after_reading=True)
    heads = 0
    for template, operations in sorted(paths.items()):
        for method in operations:
            method = method.upper()
            # A stream's HEAD would be answered with a stream's head, and
            # stay open: streams get the foreign Host only.
            if method == "GET" and not template.endswith("/events"):
                for snippet in (plain, burning):
                    path = template.replace("{id}", snippet["id"])
                    status, _, body = request(base, "HEAD", path)
                    heads += 1
                    if status >= 500:
                        failures.append(f"HEAD {path}: {status}")
                    if body:
                        failures.append(f"HEAD {path}: a body of {len(body)} bytes")
            path = template.replace("{id}", plain["id"])
            status, headers, body = request(
                base, method, path, b"" if method in ("POST", "PUT", "DELETE") else None,
                {"Authorization": f"Bearer {plain['owner_token']}"}, host="evil.example",
            )
            content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
            if status != 421 or not content_type.startswith("application/json") or "error" not in json.loads(body or b"{}"):
                failures.append(f"{method} {path} with a foreign Host: {status} {content_type} {body[:120]!r}")
    # Every HEAD left the burn-after-reading snippet unread: it is read now,
    # once, and only then gone.
    status, _, body = request(base, "GET", f"/s/{burning['id']}/raw")
    if status != 200:
        failures.append(f"the burn-after-reading snippet was burned by a HEAD: {status}")
    status, _, _ = request(base, "GET", f"/s/{burning['id']}/raw")
    if status != 410:
        failures.append(f"the burn-after-reading snippet was not burned by its reading: {status}")
    for failure in failures:
        print(failure)
    print(f"{heads} HEAD requests, {sum(len(o) for o in paths.values())} operations with a foreign Host: "
          f"{len(failures)} failures", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
