"""A slow image registry on loopback, so a docker worker's pull is genuinely slow here (no
registry is reachable from this machine, and a local image pulls in no time).

It speaks enough of the Docker Registry HTTP API v2 for the real Docker engine to pull one
image from it: the test runtime image's layer (docker_support.py) plus a small layer made
anew for each registry, so the engine has never seen it and must download it. That layer's
download is held (its first bytes sent, the rest not) until `release()`: the engine's pull,
and whatever waits on it, waits for the test, however loaded the machine is. Docker treats
127.0.0.0/8 as an insecure registry by default, so plain HTTP is enough.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["SlowRegistry", "slow_registry"]

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _saved_image(client: Any, tag: str) -> tuple[dict[str, Any], list[bytes]]:
    """`docker save` of `tag`: its config and its layers (uncompressed tars), in order."""
    saved = io.BytesIO(b"".join(client.images.get(tag).save()))
    with tarfile.open(fileobj=saved) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))
        config = json.load(tar.extractfile(entry["Config"]))
        layers = [tar.extractfile(name).read() for name in entry["Layers"]]
    return config, layers


def _marker_layer() -> bytes:
    """An uncompressed layer no engine has seen: one file with a fresh token."""
    token = secrets.token_hex(16).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("slow-registry-token")
        info.size = len(token)
        tar.addfile(info, io.BytesIO(token))
    return buffer.getvalue()


@dataclass
class SlowRegistry:
    """The registry's one image (`image`, to pull) and its held download."""

    image: str = ""
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifest: bytes = b""
    held_digest: str = ""
    #: set when the engine started downloading the held layer: the pull is under way
    pulling: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let the held download finish (the pull then completes)."""
        self._released.set()

    def load(self, client: Any, base_tag: str) -> None:
        """Serve `base_tag`'s layers plus a fresh marker layer, as one image."""
        config, layers = _saved_image(client, base_tag)
        marker = _marker_layer()
        config["rootfs"]["diff_ids"] = [*config["rootfs"]["diff_ids"], _digest(marker)]
        config["history"] = [*config.get("history", []), {"comment": "slow-registry marker"}]
        config_bytes = json.dumps(config).encode()
        served = [gzip.compress(layer, compresslevel=1) for layer in [*layers, marker]]
        self.held_digest = _digest(served[-1])
        self.blobs = {_digest(config_bytes): config_bytes, **{_digest(b): b for b in served}}
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {
                    "mediaType": CONFIG_TYPE,
                    "size": len(config_bytes),
                    "digest": _digest(config_bytes),
                },
                "layers": [
                    {"mediaType": LAYER_TYPE, "size": len(b), "digest": _digest(b)} for b in served
                ],
            }
        ).encode()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """One request of the engine's pull: the API check, the manifest, a blob (the marker
        layer's half sent, then held until `release`)."""
        path = handler.path.split("?")[0]
        head = handler.command == "HEAD"
        if path in ("/v2", "/v2/"):
            return _send(handler, 200, b"{}", "application/json", head)
        if "/manifests/" in path:
            return _send(handler, 200, self.manifest, MANIFEST_TYPE, head)
        digest = path.rsplit("/", 1)[-1]
        if "/blobs/" in path and digest in self.blobs:
            data = self.blobs[digest]
            if digest != self.held_digest or head:
                return _send(handler, 200, data, "application/octet-stream", head)
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Docker-Content-Digest", digest)
            handler.end_headers()
            half = len(data) // 2
            handler.wfile.write(data[:half])
            handler.wfile.flush()
            self.pulling.set()
            self._released.wait(600)
            handler.wfile.write(data[half:])
            return None
        return _send(handler, 404, b'{"errors": [{"code": "BLOB_UNKNOWN"}]}', "application/json")


def _send(
    handler: BaseHTTPRequestHandler, status: int, data: bytes, kind: str, head: bool = False
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Docker-Distribution-API-Version", "registry/2.0")
    if status == 200 and kind != "application/json":
        handler.send_header("Docker-Content-Digest", _digest(data))
    handler.end_headers()
    if not head:
        handler.wfile.write(data)


@contextmanager
def slow_registry(client: Any, base_tag: str) -> Iterator[SlowRegistry]:
    """A registry on 127.0.0.1 serving `base_tag` (plus a held layer) as `registry.image`;
    released, stopped and the pulled image removed afterwards."""
    registry = SlowRegistry()
    registry.load(client, base_tag)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            registry.answer(self)

        do_HEAD = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.image = f"127.0.0.1:{server.server_address[1]}/mainspring-slow:1"
    try:
        yield registry
    finally:
        registry.release()
        server.shutdown()
        server.server_close()
        for image in client.images.list(name=registry.image.rsplit(":", 1)[0]):
            client.images.remove(image.id, force=True)
