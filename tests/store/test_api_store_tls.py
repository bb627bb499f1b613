"""ApiStore's certificate checking: an https:// server is verified as httpx does by default;
a plain-HTTP client is given a TLS context that trusts nothing (cheap to make, where httpx's
default loads the CA bundle, ~80 ms of a short command), so it can never accept an unchecked
TLS peer either."""

from __future__ import annotations

import ssl

from mainspring.store.http import ApiStore
from mainspring.store.http.store import _verify


def test_https_servers_are_verified_with_httpx_defaults() -> None:
    assert _verify("https://mainspring.example/api") is True
    assert _verify("HTTPS://mainspring.example/api") is True


def test_a_plain_http_client_trusts_no_certificate() -> None:
    context = _verify("http://127.0.0.1:4200/api")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == []  # no trust roots: every TLS peer is refused


def test_an_http_api_store_uses_that_context() -> None:
    store = ApiStore("http://127.0.0.1:9/api")
    try:
        client = store._http()
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.get_ca_certs() == []
    finally:
        store.close()
