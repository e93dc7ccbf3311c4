"""Which devices matter to one request: for homes too big for the model's context, and to
tell a call the request asked for from one it didn't.

A home whose prompt doesn't fit is shown in part: the devices ranked by what the request says
(names and aliases, areas, floors, kinds of device), then the speaker's area, then what changed
most recently. The ranking is a pure function of the home and the words, so the same request in
the same home always shows the same devices. The kept devices stay in prompt order.

A device the request points at by none of these (nor the conversation's earlier turns) is
unrelated to it: a call on it is the model's guess, not the user's wish ("arm the house alarm
fully" answered by unlocking the gate).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from .home import Entity, Home

_WORD = re.compile(r"[^\W_]+")
_T = TypeVar("_T")

# Words that are in many names and say nothing about which device is meant.
_NOISE = frozenset({"the", "a", "an", "in", "on", "of", "to", "and", "my", "is", "it", "at", "all", "room"})

# Words said around a request that say nothing about it ("ok", "please"); modules add their own.
FILLERS = frozenset({"so", "ok", "okay", "um", "uh", "hey", "hi", "yo", "alright", "well", "oh", "please"})

# Where one request of several clauses ends a clause: "put the lamp on, and then close the blinds".
_CLAUSE_BREAK = re.compile(r",|\b(?:and|then|plus|also)\b")

# English words that name a kind of device ("turn off the lights", "is anything playing").
DOMAIN_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset({"light", "lights", "lamp", "lamps", "bright", "brighter", "dim", "dimmer", "dark", "colour", "color"}),
    "switch": frozenset({"switch", "plug", "socket", "outlet", "power"}),
    "fan": frozenset({"fan", "fans", "breeze"}),
    "cover": frozenset(
        {"blind", "blinds", "shade", "shades", "curtain", "curtains", "shutter", "shutters", "garage", "gate", "open", "close"}
    ),
    "lock": frozenset({"lock", "locks", "locked", "unlock", "door", "doors"}),
    "climate": frozenset(
        {"heating", "heat", "thermostat", "temperature", "warm", "warmer", "cold", "colder", "cool", "cooler", "ac", "hot"}
    ),
    "media_player": frozenset({"music", "play", "playing", "pause", "song", "track", "volume", "tv", "speaker", "louder"}),
    "sensor": frozenset({"temperature", "humidity", "battery", "energy", "power", "reading"}),
    "binary_sensor": frozenset({"motion", "open", "door", "window", "detected"}),
    "alarm_control_panel": frozenset({"alarm", "arm", "disarm", "security"}),
    "vacuum": frozenset({"vacuum", "clean", "mop", "hoover", "robot"}),
    "lawn_mower": frozenset({"mow", "mower", "lawn", "grass"}),
    "todo": frozenset({"list", "add", "shopping", "todo"}),
    "timer": frozenset({"timer", "minutes", "seconds", "hours"}),
    "scene": frozenset({"scene", "mood"}),
    "script": frozenset({"script", "run"}),
    "water_heater": frozenset({"water", "boiler", "hot"}),
    "humidifier": frozenset({"humidifier", "humidity", "dry"}),
}

# Cover words that speak of one family of covers only: "the blinds" point at no gate or garage
# door. A cover without a device class may be any of them.
_COVER_FAMILIES: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (
        frozenset({"blind", "blinds", "shade", "shades", "curtain", "curtains", "shutter", "shutters"}),
        frozenset({"blind", "shade", "curtain", "shutter", "awning", "window"}),
    ),
    (frozenset({"garage"}), frozenset({"garage"})),
    (frozenset({"gate"}), frozenset({"gate"})),
)


def word_list(text: str) -> list[str]:
    """The words of a text, lower case, in order."""
    return _WORD.findall(text.lower())


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _NOISE


def rank_by_relevance(home: Home, text: str, *, user_area: str | None = None, history: Sequence[str] = ()) -> list[Entity]:
    """The home's devices, most relevant to the request first (ties: most recently changed,
    then prompt order)."""
    said, earlier = words(text), words(" ".join(history))
    order = {entity.entity_id: i for i, entity in enumerate(home.entities)}
    return sorted(
        home.entities,
        key=lambda e: (-_score(home, e, said, earlier, user_area), -e.last_changed, order[e.entity_id]),
    )


def related_devices(home: Home, text: str, *, user_area: str | None = None, history: Sequence[str] = ()) -> frozenset[str]:
    """The entity ids the request points at, by its words or the conversation's (a word also
    counts for its longer or shorter forms: "leaving" for a "Leave Home" script), or by the
    speaker's area. Where the request says one device's whole name ("run the Tea Timer") and no
    clause speaks of that kind without a name ("and the light"), the other devices of that kind
    need a word of their own (name, area, floor, earlier turns): the kind's word ("timer") and the
    speaker's area no longer point at them. A request whose every clause names an area is about
    those, not the speaker's."""
    said, earlier = _with_stems(words(text)), _with_stems(words(" ".join(history)))
    named_kinds = _kinds_named_only(home, text)
    if all(areas_named(home, clause) for clause in _CLAUSE_BREAK.split(text.lower()) if words(clause)):
        user_area = None  # "the bathroom needs it too", said in the family room
    # The words of a device of another kind named in full are that device's: "open the garage
    # door" points at no Front Door Lock ("door").
    in_full = _named_outermost(home, text)
    # Per kind: the words (and stems) of the devices of other kinds named in full (a kind's own
    # devices named in full are _kinds_named_only's).
    others = {
        domain: _with_stems(set().union(*(words(e.name) for e in in_full if e.domain != domain)))
        for domain in {e.domain for e in home.entities}
    }
    return frozenset(
        e.entity_id
        for e in home.entities
        if (
            _own_words_said(home, e, said - others[e.domain], earlier)
            if e.domain in named_kinds
            else _score(home, e, said - others[e.domain], earlier, user_area, stems=True) > 0
        )
    )


def _named_outermost(home: Home, text: str) -> list[Entity]:
    """The devices whose whole name the text says word for word, not inside a longer name it says
    ("the reading lamp" names no Reading scene)."""
    said = word_list(text)
    spans = []
    for entity in home.entities:
        name = word_list(entity.name)
        spans += [
            (at, at + len(name), entity) for at in range(len(said) - len(name) + 1) if name and said[at : at + len(name)] == name
        ]
    return _outermost(spans)


def _outermost(spans: Sequence[tuple[int, int, _T]]) -> list[_T]:  # noqa: UP047 (runs on Python 3.11 too)
    """What the (start, end, what) spans say, but for those inside a longer span."""
    return [what for start, end, what in spans if not any(a <= start and end <= b and b - a > end - start for a, b, _ in spans)]


def _kinds_named_only(home: Home, text: str) -> set[str]:
    """The kinds of device that some clause names a device of in full and no clause speaks of
    by the kind's word alone."""
    named: set[str] = set()
    generic: set[str] = set()
    for clause in _CLAUSE_BREAK.split(text.lower()):
        plain = words(clause)
        here = {e.domain for e in home.entities if _named_in_full(e, plain)}
        named |= here
        generic |= {domain for domain, found in _DOMAIN_STEMS.items() if domain not in here and found & _with_stems(plain)}
    return named - generic


def _distinctive(name: str, domain: str) -> set[str]:
    """The words of a name that tell it from others of its kind: "Tea Timer" -> {"tea"}."""
    return words(name) - DOMAIN_WORDS.get(domain, frozenset())


def distinctive_words(entity: Entity) -> set[str]:
    """The words of a device's name and aliases that tell it from others of its kind."""
    return _distinctive(" ".join((entity.name, *entity.aliases)), entity.domain)


def _named_in_full(entity: Entity, said: set[str]) -> bool:
    return any((own := _distinctive(name, entity.domain)) and own <= said for name in (entity.name, *entity.aliases))


def _own_words_said(home: Home, entity: Entity, said: set[str], earlier: set[str]) -> bool:
    own = _with_stems(
        _distinctive(" ".join((entity.name, entity.entity_id.split(".", 1)[1].replace("_", " "), *entity.aliases)), entity.domain)
    )
    area, floor = words(entity.area or ""), words(home.floors.get(entity.area or "", ""))
    return bool(own & (said | earlier)) or bool(area and area <= said) or bool(floor and floor <= said)


def _score(home: Home, entity: Entity, said: set[str], earlier: set[str], user_area: str | None, stems: bool = False) -> int:
    names = words(" ".join((entity.name, entity.entity_id.split(".", 1)[1].replace("_", " "), *entity.aliases)))
    names = _with_stems(names) if stems else names
    kind_words = (_DOMAIN_STEMS if stems else DOMAIN_WORDS).get(entity.domain, frozenset())
    area, floor = words(entity.area or ""), words(home.floors.get(entity.area or "", ""))
    points = 8 * len(said & names) + 2 * len(earlier & names)
    points += 6 if area and area <= said else 0
    points += 4 if floor and floor <= said else 0
    points += 3 if _kind_said(entity, said & kind_words) else 0
    points += 3 if user_area and entity.area == user_area else 0
    return points


def _kind_said(entity: Entity, kind_said: set[str]) -> bool:
    """Whether the words said of the device's kind speak of it: where a cover family's word is
    said, of that family only ("shut the gate": no blind; "open", "close" alone: any cover)."""
    device_class = entity.attributes.get("device_class")
    if entity.domain != "cover" or not device_class or not kind_said:
        return bool(kind_said)
    # "shut" is also the stem of "shutters": it says "close".
    said_of = [classes for found, classes in _COVER_FAMILIES if kind_said & (_with_stems(set(found)) - {"shut"})]
    return not said_of or any(device_class in classes for classes in said_of)


def _with_stems(found: set[str]) -> set[str]:
    """The words and their first four letters: "lamps", "leaving" and "darker" meet "lamp",
    "leave" and "dark"."""
    return found | {w[:4] for w in found if len(w) >= 4}


_DOMAIN_STEMS = {domain: frozenset(_with_stems(set(found))) for domain, found in DOMAIN_WORDS.items()}


def areas_named(home: Home, text: str) -> list[str]:
    """The areas whose whole name the words hold; of nested names the longer one ("the kitchen"
    inside "the kitchen diner")."""
    said = set(_WORD.findall(text.lower()))
    named = {a: set(_WORD.findall(a.lower())) for a in {e.area for e in home.entities if e.area}}
    named = {a: w for a, w in named.items() if w <= said}
    return sorted(a for a, w in named.items() if not any(w < other for other in named.values()))


def named_without_call(home: Home, text: str, called: set[str]) -> list[Entity]:
    """Devices that a request of several clauses names word for word (name or alias, no other
    device of that name) in a clause that names no called device, while no call is on them:
    "put the security light on and colour the bedside lamp coral" answered with the lamp's call
    alone. A name said inside a clause about another device ("the lamp by the TV") doesn't count."""
    clauses = [_WORD.findall(c) for c in _CLAUSE_BREAK.split(text.lower())]
    clauses = [c for c in clauses if c]
    if len(clauses) < 2:
        return []
    phrases = {e.entity_id: [_WORD.findall(n.lower()) for n in (e.name, *e.aliases)] for e in home.entities}
    said_in = {
        e.entity_id: {i for i, clause in enumerate(clauses) if any(p and within(p, clause) for p in phrases[e.entity_id])}
        for e in home.entities
    }
    with_call = set().union(*(said_in[i] for i in called if i in said_in))
    missing = []
    for entity in home.entities:
        own = said_in[entity.entity_id] - with_call
        twins = [e for e in home.entities if e.name.lower() == entity.name.lower()]
        if entity.entity_id not in called and own and len(twins) == 1:
            missing.append(entity)
    return missing


def named_alone(home: Home, text: str) -> Entity | None:
    """The device a request of one clause names word for word by a name or alias that no other
    device has, when it names no other device ("turn off the office light"); a name inside a longer
    one said there doesn't count ("the reading lamp" names no Reading scene)."""
    clauses = [c for c in (_WORD.findall(c) for c in _CLAUSE_BREAK.split(text.lower())) if c]
    if len(clauses) != 1:
        return None
    (clause,) = clauses
    owners: dict[tuple[str, ...], list[Entity]] = {}
    for entity in home.entities:
        for name in {tuple(_WORD.findall(n.lower())) for n in (entity.name, *entity.aliases)} - {()}:
            owners.setdefault(name, []).append(entity)
    said = [
        (at, at + len(name), owners[name])
        for name in owners
        for at in range(len(clause) - len(name) + 1)
        if tuple(clause[at : at + len(name)]) == name
    ]
    outermost = _outermost(said)
    named = {entity.entity_id: entity for devices in outermost for entity in devices}
    return next(iter(named.values())) if len(named) == 1 and all(len(d) == 1 for d in outermost) else None


def within(phrase: list[str], clause: list[str]) -> bool:
    return any(clause[i : i + len(phrase)] == phrase for i in range(len(clause) - len(phrase) + 1))


def keep_only(home: Home, kept: Sequence[Entity]) -> Home:
    """The home with only these devices, in the home's own order."""
    ids = {entity.entity_id for entity in kept}
    return Home(tuple(e for e in home.entities if e.entity_id in ids), home.temperature_unit, home.floors)
