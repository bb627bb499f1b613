"""How a state looks: a colour, a shape and its name, so no one needs to tell colours apart.

The colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); each state type also has its own symbol, and the badge always says the state's
name (`Cached`, `TimedOut`, `Late`), so colour is never the only signal.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from mainspring.model import StateType


@dataclass(frozen=True, slots=True)
class StateLook:
    css: str  # the class suffix: .state-<css> in app.css holds the colour
    symbol: str  # a shape that differs between types (aria-hidden: the label says it)
    colour: str  # for charts, which cannot use the CSS class


LOOKS: dict[StateType, StateLook] = {
    StateType.COMPLETED: StateLook("completed", "\u2714", "#009E73"),  # check mark
    StateType.FAILED: StateLook("failed", "\u2716", "#D55E00"),  # heavy X
    StateType.CRASHED: StateLook("crashed", "\u26a0", "#CC79A7"),  # warning triangle
    StateType.RUNNING: StateLook("running", "\u25b6", "#0072B2"),  # play
    StateType.PENDING: StateLook("pending", "\u25cc", "#E69F00"),  # dotted circle
    StateType.SCHEDULED: StateLook("scheduled", "\u25f7", "#56B4E9"),  # clock face
    StateType.CANCELLING: StateLook("cancelling", "\u2298", "#7f7f7f"),  # circled slash
    StateType.CANCELLED: StateLook("cancelled", "\u2298", "#555555"),
    StateType.PAUSED: StateLook("paused", "\u2016", "#F0E442"),  # double bar
}
#: The names that deserve their own look within their type.
NAME_LOOKS: dict[str, StateLook] = {
    "Late": StateLook("late", "\u25d4", "#E69F00"),  # a quarter-filled clock
}

#: The order states are listed and stacked in charts: what needs attention first.
CHART_ORDER = [
    StateType.FAILED,
    StateType.CRASHED,
    StateType.RUNNING,
    StateType.PENDING,
    StateType.SCHEDULED,
    StateType.CANCELLING,
    StateType.CANCELLED,
    StateType.PAUSED,
    StateType.COMPLETED,
]


def look(state_type: StateType | str, state_name: str | None = None) -> StateLook:
    if state_name is not None and state_name in NAME_LOOKS:
        return NAME_LOOKS[state_name]
    return LOOKS[StateType(state_type)]


def state_badge(
    state_type: StateType | str, state_name: str | None = None, mini: bool = False
) -> Markup:
    """`<span class="badge state-failed">✖ Failed</span>`, the name escaped (`mini`: the
    symbol alone, for rows of many, with the name on hover and for screen readers)."""
    the_look = look(state_type, state_name)
    label = state_name or StateType(state_type).value.capitalize()
    if mini:
        template = (
            '<span class="badge mini state-{css}" title="{label}"><span aria-hidden="true">'
            '{symbol}</span><span class="visually-hidden">{label}</span></span>'
        )
    else:
        template = (
            '<span class="badge state-{css}"><span aria-hidden="true">{symbol}</span> '
            "{label}</span>"
        )
    return Markup(template).format(css=the_look.css, symbol=the_look.symbol, label=label)
