"""What a Mainspring server said when it refused a request, in one line."""

from __future__ import annotations

import httpx
import orjson


def detail(response: httpx.Response) -> str:
    """The server's explanation (FastAPI's `detail`), short enough for one line."""
    try:
        detail = orjson.loads(response.content).get("detail", response.text)
    except (orjson.JSONDecodeError, AttributeError):
        detail = response.text
    if isinstance(detail, list):  # a 422: [{"loc": [...], "msg": ...}, ...]
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in detail[:5]
        )
    text = str(detail)
    return text if len(text) <= 500 else text[:497] + "..."
