"""Calls a person should confirm before they run: unlocking a lock, opening a garage door or a
gate, disarming an alarm. A small model mishears; for these a wrong call opens the house, so the
agent asks "Unlock the Front Door?" and acts only on a yes in the same conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .home import Home, ServiceCall

# (domain, service) -> the verb of the question; covers only of the device classes below.
_RISKY_SERVICES = {
    ("lock", "unlock"): "unlock",
    ("lock", "open"): "open",
    ("alarm_control_panel", "alarm_disarm"): "disarm",
    ("cover", "open_cover"): "open",
    ("cover", "set_cover_position"): "open",
    ("cover", "toggle"): "open or close",
}
_RISKY_COVER_CLASSES = frozenset({"garage", "gate"})

_YES = frozenset(
    {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "do", "do it", "go ahead", "confirm", "confirmed", "correct"}
)
_NO = frozenset({"no", "nope", "cancel", "don't", "do not", "stop", "never mind", "nevermind", "not now"})
_FILLER = re.compile(r"\b(please|thanks|thank you)\b")


def risky_verb(home: Home, call: ServiceCall) -> str | None:
    """The verb to ask with ("unlock") when the call needs a yes first, else None."""
    verb = _RISKY_SERVICES.get((call.domain, call.service))
    if verb is None:
        return None
    if call.domain == "cover":
        entity = home.get(call.entity_id)
        if entity is None or entity.attributes.get("device_class") not in _RISKY_COVER_CLASSES:
            return None
        if call.service == "set_cover_position" and not call.data.get("position"):
            return None  # position 0 closes it
    return verb


def confirmation_question(home: Home, calls: Sequence[ServiceCall]) -> str:
    """'Unlock the Front Door and open the Garage Door?'"""
    parts = []
    for call in calls:
        entity = home.get(call.entity_id)
        name = entity.name if entity else call.entity_id
        parts.append(f"{risky_verb(home, call) or call.service} the {name}")
    sentence = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return sentence[:1].upper() + sentence[1:] + "?"


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None for anything else (a new request)."""
    words = " ".join(_FILLER.sub(" ", re.sub(r"[^\w' ]+", " ", text.lower())).split())
    if words in _YES:
        return True
    if words in _NO:
        return False
    return None
