"""The HTTP store: ApiStore, a Mainspring server's client, and the wire codec."""

from mainspring.store.http.store import ApiStore

__all__ = ["ApiStore"]
