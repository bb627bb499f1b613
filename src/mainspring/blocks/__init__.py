"""Blocks, secrets, variables and notifications: typed configuration saved in the store.

Above store/ and model/ (which it uses), below engine/ (which may resolve a
`result_storage="block:slug/name"` through it); it imports nothing of the engine.
"""

from mainspring.blocks.core import Block, SecretDict

__all__ = ["Block", "SecretDict"]
