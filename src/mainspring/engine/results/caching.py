"""Cache policies: which key a task run's result is cached under, as in Prefect 3.

    from mainspring.cache_policies import INPUTS, TASK_SOURCE

    @task(cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(hours=1))
    def fetch(url: str) -> bytes: ...

A policy turns a task run's context and inputs into a key (or None: do not cache). Policies
compose with `+` (the key hashes every part's key) and `INPUTS - "name"` leaves an input out.
A hit ends the run Cached with the stored result; records live in result storage, so a hit
works from another process and after a restart.

Inputs that cannot be hashed (a lock, an open connection) are never guessed at: the run logs a
warning naming the input and its type and runs without caching (Prefect 3 does the same), so a
wrong hit is impossible. Leave such inputs out with `INPUTS - "conn"` or use a `cache_key_fn`.

Isolation: by default two runs racing for one key both compute and the last write wins.
`policy.configure(isolation_level="SERIALIZABLE")` makes them take a lock on the key first
(a file lock beside the record; see ResultStorage.lock), so the second waits and gets a hit.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class IsolationLevel(StrEnum):
    READ_COMMITTED = "READ_COMMITTED"  # racing runs both compute; the last write wins
    SERIALIZABLE = "SERIALIZABLE"  # racing runs take a lock on the key: one computes


class UnhashableInputs(Exception):
    """A cache key could not be computed from a task run's inputs."""


def hash_objects(*objects: Any) -> str:
    """A stable hex digest of `objects`: JSON where it can (sorted keys), else cloudpickle.

    Raises UnhashableInputs when neither can represent them.
    """
    import orjson  # lazy: orjson

    try:
        blob = orjson.dumps(objects, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        import cloudpickle  # lazy: cloudpickle

        try:
            blob = cloudpickle.dumps(objects)
        except Exception as exc:
            raise UnhashableInputs(f"{type(exc).__name__}: {exc}") from exc
    return hashlib.sha256(blob).hexdigest()


def _describe(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


@dataclass(frozen=True)
class CachePolicy:
    """Base of the policies; `compute_key` returns None when the run should not be cached."""

    isolation_level: IsolationLevel = IsolationLevel.READ_COMMITTED

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        raise NotImplementedError

    def configure(self, isolation_level: str | IsolationLevel | None = None, **_: Any) -> Any:
        """A copy with another isolation level (Prefect's other options are accepted, unused)."""
        if isolation_level is None:
            return self
        return replace(self, isolation_level=IsolationLevel(str(isolation_level).upper()))

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        parts = [*_parts(self), *_parts(other)]
        level = max(self.isolation_level, other.isolation_level, key=_LEVELS.index)
        return CompoundCachePolicy(isolation_level=level, policies=tuple(parts))

    def __sub__(self, name: str) -> CachePolicy:
        """`policy - "x"`: input `x` left out of the key (inputs are added if not part yet)."""
        if not isinstance(name, str):
            return NotImplemented
        return self + Inputs(exclude=(name,))


def _parts(policy: CachePolicy) -> tuple[CachePolicy, ...]:
    return policy.policies if isinstance(policy, CompoundCachePolicy) else (policy,)


_LEVELS = [IsolationLevel.READ_COMMITTED, IsolationLevel.SERIALIZABLE]


@dataclass(frozen=True)
class CompoundCachePolicy(CachePolicy):
    """Several policies at once: the key hashes each part's key (parts returning None skip)."""

    policies: tuple[CachePolicy, ...] = ()

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        keys = [p.compute_key(task_ctx, inputs, flow_parameters) for p in self.policies]
        keys = [k for k in keys if k is not None]
        return hash_objects(*keys) if keys else None

    def __sub__(self, name: str) -> CachePolicy:
        if not any(isinstance(p, Inputs) for p in self.policies):
            return super().__sub__(name)
        parts = tuple(p - name if isinstance(p, Inputs) else p for p in self.policies)
        return replace(self, policies=parts)


@dataclass(frozen=True)
class Inputs(CachePolicy):
    """The task run's arguments (those named in `exclude` left out)."""

    exclude: tuple[str, ...] = ()

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        kept = {k: v for k, v in inputs.items() if k not in self.exclude}
        try:
            return hash_objects(kept)
        except UnhashableInputs as exc:
            bad = [f"{k!r} ({_describe(v)})" for k, v in kept.items() if not _hashable(v)]
            which = ", ".join(bad) or "the inputs"
            raise UnhashableInputs(
                f"cannot compute a cache key from input {which}: {exc}. "
                f'Leave it out with cache_policy=INPUTS - "name", or give a cache_key_fn'
            ) from None

    def __sub__(self, name: str) -> CachePolicy:
        if not isinstance(name, str):
            return NotImplemented
        return replace(self, exclude=(*self.exclude, name))


def _hashable(value: Any) -> bool:
    try:
        hash_objects(value)
    except UnhashableInputs:
        return False
    return True


@dataclass(frozen=True)
class TaskSource(CachePolicy):
    """The task function's source code: editing the function invalidates its cache."""

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        fn = task_ctx.task.fn
        try:
            source: Any = inspect.getsource(fn)
        except (OSError, TypeError):  # defined in a REPL or exec'd: fall back to the bytecode
            code = getattr(fn, "__code__", None)
            source = code.co_code.hex() if code is not None else fn.__qualname__
        return hash_objects(source)


@dataclass(frozen=True)
class FlowParameters(CachePolicy):
    """The parameters of the flow run the task runs in."""

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        return hash_objects(flow_parameters)


@dataclass(frozen=True)
class RunId(CachePolicy):
    """The flow run's id (the task run's own outside a flow): caches within one flow run,
    which is what lets a resumed run reuse its results."""

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        run = task_ctx.task_run
        return run.flow_run_id or run.id


@dataclass(frozen=True)
class NoCache(CachePolicy):
    """Never cache."""

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        return None


@dataclass(frozen=True)
class CacheKeyFnPolicy(CachePolicy):
    """A user's `cache_key_fn(context, parameters) -> str | None`, as in Prefect."""

    cache_key_fn: Callable[[Any, dict[str, Any]], str | None] | None = field(default=None)

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any]
    ) -> str | None:
        assert self.cache_key_fn is not None
        key = self.cache_key_fn(task_ctx, inputs)
        return None if key is None else str(key)


INPUTS = Inputs()
TASK_SOURCE = TaskSource()
FLOW_PARAMETERS = FlowParameters()
RUN_ID = RunId()
NONE = NoCache()
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """Prefect's helper for `cache_key_fn=`: the task's name and code plus its arguments.

    Returns None (no caching) when the arguments cannot be hashed.
    """
    fn = context.task.fn
    code = getattr(fn, "__code__", None)
    try:
        return hash_objects(
            context.task.name, code.co_code.hex() if code is not None else "", arguments
        )
    except UnhashableInputs:
        return None


def build_policy(
    cache_policy: CachePolicy | Iterable[CachePolicy] | None,
    cache_key_fn: Callable[..., str | None] | None,
) -> CachePolicy | None:
    """The policy a task's options describe: `cache_key_fn` wins, as in Prefect."""
    if cache_key_fn is not None:
        return CacheKeyFnPolicy(cache_key_fn=cache_key_fn)
    if cache_policy is None or isinstance(cache_policy, NoCache):
        return None
    if isinstance(cache_policy, CachePolicy):
        return cache_policy
    policies = list(cache_policy)
    if not all(isinstance(p, CachePolicy) for p in policies):
        raise TypeError(f"cache_policy must be a CachePolicy, got {cache_policy!r}")
    combined = policies[0]
    for p in policies[1:]:
        combined = combined + p
    return combined
