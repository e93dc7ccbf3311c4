"""Commands for every device of a kind in a place: "turn off the lights upstairs", "close the
blinds in here", "lights out everywhere".

Which devices such a command reaches is a fact of the home, not a guess. A small model that
gets the action right often lists the wrong members (Home LLM 135M v2.2 on the first 200 v2 test
cases: 7 of its 14 misses on area commands had the right service on the wrong lights). So when
the request says a group word ("lights", "blinds") and a place (an area, a floor, "upstairs",
"in here", "everywhere"), and the model's calls agree on one service of that group, the calls
become that service on every member of the group in that place that isn't in the asked state yet,
which is how the data generator writes the expected calls and how Home Assistant's own intents
treat an area or a floor. The model still decides whether to act and how; this decides on whom.
"""

from __future__ import annotations

from collections.abc import Sequence

from .domains import changes_nothing
from .home import Entity, Home
from .relevance import areas_named, distinctive_words, word_list
from .reply import ModelCall
from .validation import validate_calls

# A word for a group -> (domain, cover device class or None for the whole domain).
GROUP_WORDS: dict[str, tuple[str, str | None]] = {
    "lights": ("light", None),
    "lamps": ("light", None),
    "fans": ("fan", None),
    "blinds": ("cover", "blind"),
    "shades": ("cover", "shade"),
    "curtains": ("cover", "curtain"),
    "drapes": ("cover", "curtain"),
    "shutters": ("cover", "shutter"),
}
# "every light", "every single light": the singular after every/all means the whole group too.
_SINGULAR = {"light": "lights", "lamp": "lamps", "fan": "fans"}

# Floors from low to high: of a home's two floors, the higher one is "upstairs".
FLOOR_LEVELS = {"Basement": 0, "Lower Level": 0, "Downstairs": 1, "Ground Floor": 1, "Main Floor": 1}
FLOOR_LEVELS |= {"First Floor": 2, "Mezzanine": 2, "Upstairs": 2, "Upper Level": 2, "Second Floor": 3}

_WHOLE_HOUSE = frozenset({"everywhere", "house", "place", "home", "whole", "entire"})


def whole_group(home: Home, text: str, calls: Sequence[ModelCall], user_area: str | None = None) -> list[ModelCall] | None:
    """The calls a group command means, in prompt order; None when the request is no group
    command, names a device ("the fairy lights"), or the calls are not one service of its group."""
    said = word_list(text)
    group = _group_said(said)
    if group is None or not calls or _names_a_device(home, said):
        return None
    domain, device_class = GROUP_WORDS[group]
    in_place = _place(home, set(said), user_area)
    if in_place is None or _other_device_said(home, set(said), calls, domain, device_class):
        return None
    return on_every_member(home, _members(home, domain, device_class, in_place), calls)


def on_every_member(home: Home, members: Sequence[Entity], calls: Sequence[ModelCall]) -> list[ModelCall] | None:
    """The calls' one service on every member that can do it and isn't so yet; None when the calls
    are not one service (with the same arguments) of the members' domain, or no member is left."""
    if not calls or not members:
        return None
    service, arguments = calls[0].service, calls[0].arguments
    if any(c.service != service or c.arguments != arguments for c in calls) or service.split(".", 1)[0] != members[0].domain:
        return None
    grouped = []
    for member in members:
        # Members that can't do it (an on/off-only light can't dim) or are already so are left out.
        call = ModelCall(service, member.entity_id, dict(arguments))
        valid, _ = validate_calls(home, [call])
        if valid and not changes_nothing(member, valid[0]):
            grouped.append(call)
    return grouped or None


def whole_group_members(home: Home, text: str, user_area: str | None = None) -> list[Entity]:
    """The devices of the group in the place a group command names (whatever their state)."""
    said = word_list(text)
    group = _group_said(said)
    in_place = _place(home, set(said), user_area) if group else None
    return [] if group is None or in_place is None else _members(home, *GROUP_WORDS[group], in_place)


def _members(home: Home, domain: str, device_class: str | None, in_place) -> list[Entity]:
    return [
        e
        for e in home.entities
        if e.domain == domain and (device_class is None or e.attributes.get("device_class") == device_class) and in_place(e)
    ]


def group_elsewhere(home: Home, text: str, earlier: str) -> str | None:
    """The group command of the earlier turn, said for the one area a follow-up names instead
    ("the lights in the Balcony" after "turn off all the lights in the bedroom", for "do the same
    in the balcony"), or None: the follow-up names a device or a group of its own, names no one
    area, or the earlier turn was no group command in a place."""
    said, before = word_list(text), word_list(earlier)
    group = _group_said(before)
    areas = areas_named(home, text)
    if group is None or len(areas) != 1 or _group_said(said) or _names_a_device(home, before):
        return None
    if set(said) & {w for e in home.entities for w in distinctive_words(e)} - set(word_list(areas[0])):
        return None  # "and the desk lamp in the office": a device of its own
    if _place(home, set(before), None) is None:
        return None
    return f"{group} in the {areas[0]}"


def _group_said(said: list[str]) -> str | None:
    """The group word of the request: a plural ("the lights"; one letter off counts, as speech
    recognition and typing slip: "the ligths"), or a singular after every/all or with the whole
    house ("every light", "light up the whole place")."""
    for i, word in enumerate(said):
        group = next((g for g in GROUP_WORDS if word == g or (len(g) >= 5 and word != g[:-1] and _one_off(word, g))), None)
        if group:
            return group
        before = {w if not _one_off(w, "every") else "every" for w in said[max(0, i - 2) : i]}
        if word in _SINGULAR and ({"every", "all"} & before or _WHOLE_HOUSE & set(said)):
            return _SINGULAR[word]
    return None


def _one_off(word: str, target: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] and word[diff[1]] == target[diff[0]]
        )
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _other_device_said(home: Home, said: set[str], calls: Sequence[ModelCall], domain: str, device_class: str | None) -> bool:
    """Whether a call is on a device outside the group that the request names by a word of its
    own ("open the kitchen shutters and the awning"): then the request is more than the group."""
    for call in calls:
        entity = home.get(call.target)
        if entity is None or (entity.domain == domain and device_class in (None, entity.attributes.get("device_class"))):
            continue
        if distinctive_words(entity) & said:
            return True
    return False


def _names_a_device(home: Home, said: list[str]) -> bool:
    """Whether the words hold a whole device name that ends in a group word ("Garden Lights",
    "Fairy Lights"): then they mean that device, not a group."""
    said_set = set(said)
    for entity in home.entities:
        for name in (entity.name, *entity.aliases):
            named = word_list(name)
            if named and named[-1] in GROUP_WORDS and len(named) > 1 and set(named) <= said_set:
                return True
    return False


def _place(home: Home, said: set[str], user_area: str | None):
    """A test for "in the place the request means", or None when it means none. An area named
    wins over a floor, a floor over the whole house; with no place said, the speaker's area."""
    named = areas_named(home, " ".join(said))
    if len(named) > 1:  # two rooms are no one place
        return None
    if named:
        return lambda e: e.area == named[0]
    floor = floor_said(home, said)
    if floor is not None:
        return lambda e: home.floors.get(e.area or "") == floor
    if user_area and "here" in said:
        return lambda e: e.area == user_area
    if said & _WHOLE_HOUSE or (said & {"all", "every"} and "in" not in said):  # "in" + no place known: a misheard one
        return lambda e: True
    if user_area:
        return lambda e: e.area == user_area
    return None


def floor_said(home: Home, said: set[str]) -> str | None:
    """The one floor the words name, by its name or, in a home of two floors, "upstairs"/"downstairs"."""
    floors = sorted(set(home.floors.values()))
    named = [f for f in floors if set(word_list(f)) <= said]
    if len(named) == 1:
        return named[0]
    if len(floors) == 2 and said & {"upstairs", "downstairs"}:
        low, high = sorted(floors, key=lambda f: FLOOR_LEVELS.get(f, 1))
        if FLOOR_LEVELS.get(low, 1) != FLOOR_LEVELS.get(high, 1):
            return high if "upstairs" in said else low
    return None
