"""Dask collections returned by tasks: computed where the task ran, so results are data.

A lazy collection (a dask DataFrame, Bag, Array or Delayed) is a graph that names its inputs
and, on a distributed cluster, futures that die with it. Stored as a task's result, cached or
resumed it would compute again, or not at all. So the Dask and Ray runners compute a
collection a task returns, or one directly inside a returned list, tuple or dict, on the
cluster before the value travels back; everything else is returned untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def holds_collection(value: Any) -> bool:
    """Cheap: is `value` a Dask collection, or a list/tuple/dict directly holding one?"""
    if "dask" not in sys.modules:  # nothing made a collection in this process
        return False
    from dask import is_dask_collection

    if is_dask_collection(value):
        return True
    if isinstance(value, list | tuple):
        return any(is_dask_collection(item) for item in value)
    if isinstance(value, dict):
        return any(is_dask_collection(item) for item in value.values())
    return False


def compute_collections(value: Any, scheduler: Callable[..., Any] | str | None = None) -> Any:
    """`value` with the Dask collections it holds computed (see `holds_collection`)."""
    if not holds_collection(value):
        return value
    import dask

    (computed,) = dask.compute(value, traverse=True, scheduler=scheduler)
    return computed
