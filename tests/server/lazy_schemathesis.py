"""Schemathesis's pytest tests, built when they run rather than when they are collected.

`@schema.parametrize()` builds each API operation's Hypothesis test at collection, coverage
cases and all (some 25 s of CPU for our API). Under pytest-xdist every worker collects every
file, so each paid that for tests only one of them runs. Here the collected item holds a
placeholder with the same signature, marks and settings, and the real test is built in that
item's run, in the one process that runs it. Item ids, and everything schemathesis's plugin
does around the call (its error reports, skips and warnings), stay as they were.

This leans on schemathesis's collector (`SchemathesisCase._gen_items`); should that change, the
hook below finds no such collector and collection falls back to the eager build.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from schemathesis.core.result import Ok
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.pytest.plugin import SchemathesisCase

_BUILD = "_mainspring_build_schemathesis_test"


class LazySchemathesisCase(SchemathesisCase):
    """Collects the same items as SchemathesisCase, each building its test when it is run."""

    def _gen_items(self, result: Any, feedback: Any) -> Iterator[pytest.Function]:
        if self.is_invalid_test or not isinstance(result, Ok):
            yield from super()._gen_items(result, feedback)  # an error to report: as before
            return
        operation = result.ok()
        build = functools.partial(
            build_operation_test,
            config=self.schema.config,
            operation=operation,
            test_func=self.test_function,
            given_kwargs=self.given_kwargs,
            feedback=feedback,
        )
        yield from self._make_items(
            _placeholder(self.test_function, build),
            self._get_test_name(operation),
            operation.label,
            operation.tags,
        )


def _placeholder(test_function: Callable[..., Any], build: Callable[[], Any]) -> Callable[..., Any]:
    """What pytest reads at collection (name, marks, fixtures asked for) without the cases:
    the built test takes every argument but `case`, which its strategy provides."""

    @functools.wraps(test_function)
    def placeholder(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the schemathesis test was not built before its run")

    signature = inspect.signature(test_function)
    placeholder.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for name, p in signature.parameters.items() if name != "case"]
    )
    setattr(placeholder, _BUILD, build)
    return placeholder


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object):  # type: ignore[no-untyped-def]
    """Outside schemathesis's own wrapper: swap the collector it chose for the lazy one."""
    outcome = yield
    chosen = outcome.get_result()
    if type(chosen) is SchemathesisCase:
        outcome.force_result(
            LazySchemathesisCase.from_parent(
                collector, test_function=obj, name=name, schema=chosen.schema
            )
        )


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item):  # type: ignore[no-untyped-def]
    """Build the test before pytest-timeout's clock starts, as collection did: building one
    operation's cases can take a while, running them has the timeout it always had."""
    build = getattr(getattr(item, "obj", None), _BUILD, None)
    if build is not None:
        item.obj = _built(build)  # type: ignore[attr-defined]
    yield


def _built(build: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    """The built test; if building fails, a test raising that error (it fails the item, as a
    failure while collecting failed the collection)."""
    try:
        return build()
    except Exception as exc:
        error = exc  # `exc` is unbound once the except block ends

        def failing(*args: Any, **kwargs: Any) -> None:
            raise error

        return failing
