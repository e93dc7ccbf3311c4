"""The sentence that confirms what ran, as a person would say it: "Turned off the 3 lights in
the Kitchen." The integration says it after running the model's calls (the v2 format's model
writes calls and no sentence), and the data generator puts it in earlier turns, where the
model sees what the user heard."""

from __future__ import annotations

from collections.abc import Sequence

from .domains import DOMAINS
from .home import Home, ServiceCall

# Names that are already proper nouns read badly with "the" in front.
_NO_ARTICLE_DOMAINS = frozenset({"scene", "script"})
_PLURALS = {"switch": "switches", "input_boolean": "switches", "media_player": "media players", "binary_sensor": "sensors"}


def confirmation(home: Home, calls: Sequence[ServiceCall]) -> str:
    """One sentence for all the calls: the devices of one service in one area counted
    together ("the 3 lights in the Kitchen"), single devices by name."""
    groups: dict[tuple[str, str, str | None], list[str]] = {}
    for call in calls:
        entity = home.get(call.entity_id)
        area = entity.area if entity else None
        groups.setdefault((call.domain, call.service, area), []).append(call.entity_id)
    parts = []
    for (domain, service, area), entity_ids in groups.items():
        verb = did(domain, service)
        if len(entity_ids) > 1 and area:
            parts.append(f"{verb} the {len(entity_ids)} {plural(domain)} in the {area}")
        else:
            parts.append(f"{verb} {_join([_device(home, domain, e) for e in entity_ids])}")
    sentence = _join(parts)
    return sentence[:1].upper() + sentence[1:] + "."


def already(home: Home, calls: Sequence[ServiceCall]) -> str:
    """The sentence for calls that would change nothing ("The Kitchen Light is already off.")."""
    names = [_device(home, call.domain, call.entity_id) for call in calls]
    states = {entity.state.replace("_", " ") for call in calls if (entity := home.get(call.entity_id)) is not None}
    plural = len(names) > 1 or sounds_plural(names[0])
    sentence = f"{_join(names)} {'are' if plural else 'is'} already {' or '.join(sorted(states))}."
    return sentence[:1].upper() + sentence[1:]


def sounds_plural(name: str) -> bool:
    last = name.split()[-1].lower() if name.split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def did(domain: str, service: str) -> str:
    """How to say what a service did ("turned off"); one the domain table doesn't phrase reads
    as "used <domain.service> on"."""
    entry = DOMAINS.get(domain)
    return (entry.done.get(service) if entry else None) or f"used {domain}.{service} on"


def plural(domain: str) -> str:
    return _PLURALS.get(domain, domain.replace("_", " ") + "s")


def _device(home: Home, domain: str, entity_id: str) -> str:
    entity = home.get(entity_id)
    name = entity.name if entity else entity_id
    if domain in _NO_ARTICLE_DOMAINS or name.lower().startswith("the "):
        return name
    return f"the {name}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
