"""Prefect's import path for secret dict fields:
`from mainspring.blocks.fields import SecretDict`."""

from mainspring.blocks.core import SecretDict

__all__ = ["SecretDict"]
