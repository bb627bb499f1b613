"""A tiny, deterministic stand-in for a paged JSON HTTP API, so the ETL example runs offline.

`GET /users?page=N` answers with one page of fake users:

    {"page": 1, "per_page": 10, "total": 23, "total_pages": 3, "users": [...]}

Only the standard library is used (`http.server`), the server listens on 127.0.0.1 on a port
the OS picks (port 0), and `serve_demo_api()` runs it in a background thread for as long as
its `with` block lasts. Run this file directly to poke at it with curl.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOTAL_USERS = 23
PER_PAGE = 10
CITIES = ("Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn")


def make_user(user_id: int) -> dict[str, Any]:
    """The same fake user every time, so the example's output can be checked by tests."""
    return {
        "id": user_id,
        "name": f"User {user_id:02d}",
        "email": f"User.{user_id:02d}@Example.COM",
        "address": {"city": CITIES[user_id % len(CITIES)]},
        "active": user_id % 4 != 0,
    }


def users_page(page: int) -> dict[str, Any]:
    """One page of the listing; a page past the end is empty, like most real APIs."""
    first = (page - 1) * PER_PAGE + 1
    last = min(page * PER_PAGE, TOTAL_USERS)
    return {
        "page": page,
        "per_page": PER_PAGE,
        "total": TOTAL_USERS,
        "total_pages": -(-TOTAL_USERS // PER_PAGE),
        "users": [make_user(i) for i in range(first, last + 1)],
    }


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/users":
            self._send(404, {"error": f"no route {url.path}"})
            return
        try:
            page = int(parse_qs(url.query).get("page", ["1"])[0])
        except ValueError:
            self._send(400, {"error": "page must be an integer"})
            return
        if page < 1:
            self._send(400, {"error": "page starts at 1"})
            return
        self._send(200, users_page(page))

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log: the example's output is about the flow."""


@contextmanager
def serve_demo_api(host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the API in a background thread; yield its base URL; stop it on exit."""
    server = ThreadingHTTPServer((host, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-api", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


if __name__ == "__main__":
    with serve_demo_api() as base_url:
        print(f"Demo API at {base_url}/users?page=1 (Ctrl-C to stop)")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
