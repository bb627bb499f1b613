"""Filters for reading runs back: pure data, interpreted by each store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mainspring.model.states import STATE_NAMES, StateType
from mainspring.model.text import storable_text


class FlowRunSort(StrEnum):
    START_TIME_DESC = "START_TIME_DESC"
    START_TIME_ASC = "START_TIME_ASC"
    CREATED_DESC = "CREATED_DESC"
    NAME_ASC = "NAME_ASC"


@dataclass(slots=True)
class FlowRunFilter:
    """Which flow runs to read. Empty lists mean "any"; all given conditions must hold.

    `states` matches a state's type (`"FAILED"`) or its name (`"TimedOut"`), case-insensitively.
    `tags` requires every listed tag. `parent_flow_run_id` selects the subflow runs of one run.
    `deployment_ids` selects runs of any of these deployments; `name_contains` runs whose name
    contains this text, ignoring case (the UI's search box).

    Text is compared as stores keep it (model/text.py): a name given with a lone surrogate (a
    non-UTF-8 byte in a command-line argument, `os.fsdecode`) matches the name stored with
    U+FFFD in its place, and no database driver is handed text it cannot encode.
    """

    flow_names: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    parent_flow_run_id: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    deployment_ids: list[str] = field(default_factory=list)
    name_contains: str | None = None

    def __post_init__(self) -> None:
        self.flow_names = [storable_text(name) for name in self.flow_names]
        self.tags = [storable_text(tag) for tag in self.tags]
        self.ids = [storable_text(id_) for id_ in self.ids]
        if self.parent_flow_run_id is not None:
            self.parent_flow_run_id = storable_text(self.parent_flow_run_id)
        self.deployment_ids = [storable_text(id_) for id_ in self.deployment_ids]
        if self.name_contains is not None:
            self.name_contains = storable_text(self.name_contains)

    def state_types_and_names(self) -> tuple[set[StateType], set[str]]:
        """Split `states` into state types and state names; unknown words raise ValueError."""
        types: set[StateType] = set()
        names: set[str] = set()
        by_lower_name = {n.lower(): n for n in STATE_NAMES}
        for word in self.states:
            upper = word.upper()
            if upper in StateType.__members__:
                types.add(StateType[upper])
            elif word.lower() in by_lower_name:
                names.add(by_lower_name[word.lower()])
            else:
                known = ", ".join([t.value for t in StateType] + list(STATE_NAMES))
                raise ValueError(f"Unknown state {word!r}; expected one of: {known}")
        return types, names
