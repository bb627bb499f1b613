"""Mainspring: a Python-first workflow orchestrator."""

__version__ = "0.1.0"
