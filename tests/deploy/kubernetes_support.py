"""A Kubernetes API on loopback that answers from prepared responses (tests/deploy/kubernetes_api/),
so the real `kubernetes` client's HTTP and deserialization run in the kubernetes runner's tests.

The responses were written by hand in the shapes the API server returns (fields a real server
fills in: uid, resourceVersion, managedFields, defaults, conditions, container states), not
captured from a live cluster; test_kubernetes_manifest.py checks each strictly against the
official schemas and the client's models.

Only the four calls the runner makes are served: create a Job, list a run's pods, read a Job,
delete a Job. Each list of pods answers with the next response of a script (the last repeats);
after a delete the pods list is empty and the Job is gone (404), as the garbage collector
would leave them. Every request is kept for the test to look at.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "kubernetes_api"


def fixture(name: str, run_id: str = "RUN_ID") -> Any:
    """A recorded response, with the run's id in it."""
    return json.loads((FIXTURES / name).read_text().replace("RUN_ID", run_id))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeKubernetes:
    """What the API answers (file names under kubernetes_api/) and what it was asked."""

    pods: list[str] = field(default_factory=lambda: ["pods-none.json"])
    create: tuple[int, str] = (201, "job-created.json")
    run_id: str = "RUN_ID"
    requests: list[Request] = field(default_factory=list)
    deleted: bool = False
    _served: int = 0

    def answer(self, request: Request) -> tuple[int, Any]:
        self.requests.append(request)
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts[-1] == "jobs":
            status, name = self.create
            return status, fixture(name, self.run_id)
        if request.method == "GET" and parts[-1] == "pods":
            if self.deleted:
                return 200, fixture("pods-none.json", self.run_id)
            name = self.pods[min(self._served, len(self.pods) - 1)]
            self._served += 1
            return 200, fixture(name, self.run_id)
        if request.method == "GET" and parts[-2] == "jobs":
            if self.deleted:
                return 404, fixture("job-not-found.json", self.run_id)
            return 200, fixture("job-created.json", self.run_id)
        if request.method == "DELETE" and parts[-2] == "jobs":
            self.deleted = True
            return 200, fixture("job-deleted.json", self.run_id)
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}

    def calls(self, method: str, last: str) -> list[Request]:
        return [
            r for r in self.requests if r.method == method and r.path.rstrip("/").endswith(last)
        ]


@contextmanager
def serve(fake: FakeKubernetes) -> Iterator[Any]:
    """The fake API on 127.0.0.1; yields a real `kubernetes.client.ApiClient` talking to it."""
    from kubernetes import client

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, answer = fake.answer(Request(self.command, url.path, parse_qs(url.query), body))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    api_client = client.ApiClient(configuration)
    try:
        yield api_client
    finally:
        api_client.close()
        server.shutdown()
        server.server_close()
