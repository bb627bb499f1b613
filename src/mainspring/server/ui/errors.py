"""Errors of the UI's pages, shown as pages (the API's are JSON)."""

from __future__ import annotations


class UiError(Exception):
    """Answer with an error page: `status` and a message for a person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UiRedirect(Exception):
    """Not an error but control flow: answer with a redirect (303) to `location`, e.g. to
    sign in first."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location
