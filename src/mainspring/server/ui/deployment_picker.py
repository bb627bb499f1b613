"""The runs list's deployment filter: a text field, not a list of every deployment.

With 1,000 deployments a `<select>` of them all was 140 KB of every /runs page. The field
takes a deployment's id (the links from deployment pages), its 'flow/name', or part of one
(a plain text filter that works without JavaScript); with JavaScript, htmx fills its datalist
with the deployments matching what is typed (`/runs/deployment-options`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mainspring.server.ui.reading import UiStore

#: Deployments a typed part of a name may stand for; more are cut off, with a notice.
MATCHED = 100
#: Suggestions in the datalist.
SUGGESTED = 20


@dataclass(slots=True)
class DeploymentChoice:
    """What the field's values resolve to: the ids to filter by, the text each field shows,
    and what to tell the user."""

    ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def resolve(store: UiStore, values: list[str]) -> DeploymentChoice:
    """Each value as an id, else as an exact 'flow/name', else as part of names."""
    choice = DeploymentChoice()
    by_id = store.read_deployments_by_id(values) if values else {}
    for value in values:
        known = by_id.get(value)
        if known is not None:
            choice.ids.append(known.id)
            choice.labels.append(known.full_name)
            continue
        choice.labels.append(value)
        matches = store.find_deployments(value, MATCHED + 1)
        exact = [d for d in matches if d.full_name.lower() == value.lower()]
        if exact or matches:
            choice.ids.extend(d.id for d in (exact or matches[:MATCHED]))
            if not exact and len(matches) > MATCHED:
                choice.notices.append(
                    f"{value!r} matches more than {MATCHED} deployments: showing the runs of "
                    f"the first {MATCHED}; type more of the name to narrow it."
                )
        else:  # maybe the id of a deleted deployment, whose runs stay: filter by it as is
            choice.ids.append(value)
            choice.notices.append(f"No deployment has the id {value!r} or a name containing it.")
    return choice


def suggestions(store: UiStore, text: str) -> list[str]:
    """'flow/name' of the first deployments matching `text`, for the datalist."""
    return [d.full_name for d in store.find_deployments(text.strip(), SUGGESTED)]
