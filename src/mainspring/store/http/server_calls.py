"""ServerCalls: what ApiStore's mixins (one per protocol, store/http/*.py) call of ApiStore and
of each other, declared once for the type checker.

Nothing here at run time: ApiStore (store.py) defines `url`, `_request`, `_json` and `_fail`,
ApiDeployments (deployments.py) `_call`, and ServerOnly (server_only.py) `_needs_database`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import httpx


class ServerCalls:
    if TYPE_CHECKING:
        url: str

        def _request(
            self,
            method: str,
            path: str,
            *,
            params: Any = None,
            content: bytes | None = None,
            timeout: httpx.Timeout | None = None,
            retry: bool = True,
        ) -> httpx.Response: ...

        def _json(self, path: str, params: Any = None, *, missing: Any = ...) -> Any: ...

        def _fail(self, response: httpx.Response) -> NoReturn: ...

        def _call(
            self,
            method: str,
            path: str,
            body: Any = None,
            *,
            params: Any = None,
            missing: Any = ...,
            timeout: httpx.Timeout | None = None,
            retry: bool = True,
        ) -> Any: ...

        def _needs_database(self, what: str) -> NoReturn: ...
