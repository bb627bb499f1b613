"""Prefect's import path for variables: `from mainspring.variables import Variable`."""

from mainspring.blocks.variables import Variable

__all__ = ["Variable"]
