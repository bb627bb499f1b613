"""Value edges of the run graph: which task run produced an object that the flow passes on.

A future passed to a task names its upstream run; a plain value does not. So that
`x = a(); b(x)` (or `a.submit().result()`, or `b([x])`) shows an edge a -> b as Prefect 3
shows it, each flow run keeps a map from the identity of a task's return value to the run
that returned it (filled when a run completes in this process) and looks a task's arguments
up in it before they are resolved. The items of a returned list, tuple or dict are entered
too (up to MAX_ITEMS), as Prefect does, so that `a, b = task()` and `for row in rows:`
make edges as well.

Identity is only trustworthy while the object lives, since CPython reuses ids: an entry
holds a weak reference where the type allows one (instances, data frames, arrays), so the
map does not keep such results alive and drops the entry when they die; other values
(lists, dicts, strings, numbers) are held, and let go once nothing else refers to them
(nothing can then pass them on): a sweep, each time the map has doubled, drops them, so a loop
of `rows = extract(); load(rows)` holds only its live rows, not every batch until the flow
run ends (when the map is cleared).

Values that many unrelated places share claim no edge: None, booleans, small ints, empty
strings/bytes/tuples, one-character strings and short strings of letters, digits and
underscores (Python interns such literals in every module that writes them). A value that
several runs returned (a constant of the task's code, or an argument passed through) names
the last of them.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from mainspring.engine.futures import CONTAINERS

_SHARED_TYPES = frozenset({type(None), bool, type(...), type(NotImplemented)})
#: how deep arguments are searched: `b({"k": [x]})` finds x, at depth 2
MAX_DEPTH = 3
#: the items of a returned container are remembered up to this many (a bound on the cost
#: of a run's completion; a larger one is still an edge when passed on whole)
MAX_ITEMS = 1024
#: strings of name characters shorter than this may be interned literals; longer ones are
#: more often computed keys and digests, worth an edge
_INTERNABLE_LENGTH = 32
#: the least size at which the map looks for held values nothing else refers to (then at
#: twice what it kept: at most this many, or as many as live ones, are kept past their use)
_FIRST_SWEEP = 8


def is_trackable(value: Any) -> bool:
    """Whether `value`'s identity can say which run produced it (not a shared singleton)."""
    kind = type(value)
    if kind is int:
        return not -5 <= value <= 256  # CPython's cached small ints
    if kind is str:
        return len(value) > 1 and not (
            len(value) < _INTERNABLE_LENGTH and value.isascii() and _name_chars(value)
        )
    if kind in _SHARED_TYPES:
        return False
    if kind is tuple or kind is bytes or kind is frozenset:
        return len(value) > (1 if kind is bytes else 0)  # (), b"", b"x" are cached
    return True


def _name_chars(text: str) -> bool:
    return text.replace("_", "a").isalnum()


class ProducedValues(dict[int, tuple[Any, "weakref.ref | None", str]]):
    """id(value) -> (the value held, or None; a weak reference to it, or None; the id of the
    task run that returned it), for one flow run (see the module doc). The run's id, not its
    record: the record's state holds the value itself.

    A dict itself, and the common cases (None, a number, an argument found in no entry)
    written out inline: adding and searching cost a task run well under a microsecond.
    """

    __slots__ = ("__weakref__", "_self", "_sweep_at")

    def __init__(self) -> None:
        super().__init__()
        #: what the callbacks of its weak references hold: they must not keep it alive
        self._self = weakref.ref(self)
        #: the size at which `_hold` next sweeps (doubling: amortized O(1) a value)
        self._sweep_at = _FIRST_SWEEP

    def add(self, value: Any, producer: str) -> None:
        """Remember that `producer` returned `value`, and the items of a returned list, tuple
        or dict (`a, b = task()` passes items on); called from the thread that ran it."""
        kind = type(value)
        if kind is int:  # not weakly referencable: held
            if not -5 <= value <= 256:
                self._hold(value, producer)
            return
        if kind in _SHARED_TYPES:
            return
        self._enter(value, producer)
        if (kind is tuple or kind is list or kind is dict) and len(value) <= MAX_ITEMS:
            for item in value.values() if kind is dict else value:
                self._enter(item, producer)

    def _enter(self, value: Any, producer: str) -> None:
        if not is_trackable(value):
            return
        key = id(value)
        if type(value).__weakrefoffset__:
            try:
                ref = weakref.ref(value, _Forget(self._self, key))
            except TypeError:  # a type that reserves the slot yet refuses (rare)
                pass
            else:
                self[key] = (None, ref, producer)
                return
        self._hold(value, producer)

    def _hold(self, value: Any, producer: str) -> None:
        self[id(value)] = (value, None, producer)
        if len(self) >= self._sweep_at:
            self._sweep()
            self._sweep_at = max(_FIRST_SWEEP, 2 * len(self))

    def _sweep(self) -> None:
        """Drop the held values only this map refers to: no one can pass them on now. Twice:
        a list let go frees its items for the second look."""
        for _ in range(2):
            unused = [
                (key, entry)
                for key, entry in list(self.items())
                if entry[0] is not None and _references(entry) <= _ONLY_THE_MAPS
            ]
            for key, entry in unused:
                if self.get(key) is entry:  # not replaced meanwhile (another thread)
                    self.pop(key, None)
            if not unused:
                return

    def producer(self, value: Any) -> str | None:
        """The id of the run that returned this very object, if one of this flow run's did."""
        entry = self.get(id(value))
        if entry is None:
            return None
        held, ref, producer = entry
        if held is value or (ref is not None and ref() is value):
            return producer
        return None

    def producers_in(self, args: tuple[Any, ...], kwargs: dict[str, Any], found: list[str]) -> None:
        """Append to `found` the ids of the runs that produced values among a call's arguments."""
        for value in args:
            if id(value) in self or isinstance(value, CONTAINERS):
                self._search(value, found, 0)
        if kwargs:
            for value in kwargs.values():
                if id(value) in self or isinstance(value, CONTAINERS):
                    self._search(value, found, 0)

    def _search(self, value: Any, found: list[str], depth: int) -> None:
        producer = self.producer(value)
        if producer is not None:
            found.append(producer)  # repeats are recorded once (TaskRunEngine._record_edges)
            return  # a produced container's items came with it: not searched one by one
        if depth < MAX_DEPTH and isinstance(value, CONTAINERS):
            for item in value.values() if isinstance(value, dict) else value:
                self._search(item, found, depth + 1)


def _references(entry: tuple[Any, Any, str]) -> int:
    """References to an entry's held value (the entry's own included)."""
    return sys.getrefcount(entry[0])


#: what `_references` counts for a value only an entry refers to
_ONLY_THE_MAPS = _references((object(), None, ""))


class _Forget:
    """Weak reference callback: drop the entry of a value that died, unless a newer object
    with the same id has taken its place already."""

    __slots__ = ("key", "values")

    def __init__(self, values: weakref.ref[ProducedValues], key: int) -> None:
        self.values = values
        self.key = key

    def __call__(self, ref: weakref.ref) -> None:
        values = self.values()
        if values is None:
            return
        entry = values.get(self.key)
        if entry is not None and entry[1] is ref:
            values.pop(self.key, None)
