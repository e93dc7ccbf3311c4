"""Sentences a model of the v2 format writes where it should have written calls.

A small model sometimes answers "turn off the kitchen light" with "Which kitchen light do you
mean: ...?" although exactly one exposed device is called Kitchen Light: asking which X is only
right when the words fit several devices (the training data asks back only then: a device's
exact name or alias always means that device). And it sometimes writes the confirmation the
user hears after a command ("Turned on the Bed Light.", which it sees in earlier turns) instead
of the command's calls, so nothing would run. Both name the device the user meant; the agent
then asks the model again about that device alone (generation.py says how).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .confirm import confirmation
from .domains import DOMAINS
from .home import Entity, Home, ServiceCall
from .relative import direction_said
from .relevance import FILLERS, areas_named

# The reply styles of a question back that name what they ask about.
_ASKED = re.compile(
    r"^\s*(?:which (?P<which>.+?) (?:do you mean|would you like)\b|there's more than one (?P<more>.+?)[.!?])",
    re.IGNORECASE,
)


def question_back(noun: str, labels: Sequence[str]) -> str:
    """The question the data's v2 replies ask back with ("Which lamp do you mean: the Desk Lamp or
    the Floor Lamp?"), the way _ASKED reads it."""
    choices = [f"the {label}" for label in labels]
    offered = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else "".join(choices)
    return f"Which {noun} do you mean: {offered}?"


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


# The words a one-call confirmation starts with ("turned on", "set the speed of", "used ... on").
_CONFIRMATION_STARTS = tuple({_words(done) for domain in DOMAINS.values() for done in domain.done.values()} | {"used"})
# Asked again after an unwarranted question back, the model may act or answer the way a status
# answer or a refusal begins ("The Kitchen Light is already on.", "No, the Front Door is
# locked."), not ask back again nor claim an action in words ("Turned on the Bed Light." and no
# call): a small model tried both ("WhichBed Light...", "Turned ON the Bed Light.") when only
# those two were ruled out.
ANSWER_STARTS = ("The ", "Yes, ", "No, ", "It's ", "I can", "Nothing ")
# Asked again after a sentence about nothing in the home, the model may only say so: given "The ",
# v2.2 answered "turn on the sauna" (no sauna) with "The Sauna is already on.".
NOT_FOUND_STARTS = ("I can't find ",)


def named_device(home: Home, sentence: str) -> Entity | None:
    """The one device a question back asks about by that device's own name, alias or entity id
    ("which kitchen light" with one Kitchen Light); None when the question is warranted or the
    sentence is no question back."""
    asked = _ASKED.match(sentence)
    if asked is None:
        return None
    words = _words(asked.group("which") or asked.group("more"))
    found = [
        entity
        for entity in home.entities
        if words in {_words(entity.name), _words(entity.entity_id.split(".", 1)[1]), *(_words(a) for a in entity.aliases)}
    ]
    return found[0] if len(found) == 1 else None


# The choices a question back offers: "...: the Desk Lamp or the Floor Lamp in the Den?"
_CHOICES = re.compile(r"(?::|\bmean)\s+(?P<choices>.+?)\?\s*$", re.IGNORECASE)
_CHOICE = re.compile(r"^(?:the\s+)?(?P<name>.+?)(?:\s+in the\s+(?P<area>.+))?$", re.IGNORECASE)


def settled_device(home: Home, sentence: str, request: str, user_area: str | None = None) -> Entity | None:
    """The one device a question back is about that the home settles, by the first that finds
    exactly one: the choices in the place the request names, else the speaker's area ("Which fan
    do you mean: the Living Room Fan or the Bedroom Fan?" asked in the living room); the devices
    of the choices' kind there that the asked word fits ("which light", asked about the kitchen's
    only light); those anywhere in the home (the model offered a twin that doesn't exist). The
    data generator asks back only when the words fit several devices and the place doesn't settle it."""
    asked, offered = _ASKED.match(sentence), _CHOICES.search(sentence)
    if asked is None or offered is None:
        return None
    choices = _choices(home, offered.group("choices"))
    if not choices:
        return None
    named = areas_named(home, request)
    place = named[0] if len(named) == 1 else None if named else user_area
    noun = set(_words(asked.group("which") or asked.group("more")).split())
    kinds = {e.domain for e in choices}
    of_kind = [e for e in home.entities if e.domain in kinds]
    for found in (
        [e for e in choices if e.area == place] if place else [],
        [e for e in of_kind if e.area == place and noun <= _name_words(e)] if place else [],  # "light": no Fairy Lights
        [
            e for e in of_kind if _stems(noun) <= _stems(_name_words(e))
        ],  # anywhere; plurals fit here, so "light" among Ceiling Lights stays a question
    ):
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _choices(home: Home, offered: str) -> list[Entity]:
    """The devices named by "the A, the B or the C in the Den", each label matched by name (and
    area where it says one); a label without an area may match several."""
    found: list[Entity] = []
    for label in _labels(offered):
        choice = _CHOICE.match(label.strip())
        if choice is None:
            continue
        name, area = _words(choice.group("name")), _words(choice.group("area") or "")
        for entity in home.entities:
            if _words(entity.name) == name and (not area or _words(entity.area or "") == area) and entity not in found:
                found.append(entity)
    return found


def _labels(offered: str) -> list[str]:
    return [label.strip() for label in re.split(r",\s*(?:or\s+)?|\s+or\s+", offered)]


def _name_words(entity: Entity) -> set[str]:
    """The words of a device's name and aliases ("light" fits a Porch Light, not Fairy Lights)."""
    return set(_words(" ".join((entity.name, *entity.aliases))).split())


def baseless(home: Home, sentence: str) -> bool:
    """Whether the sentence is about nothing in the home: a question back whose choices the asked
    word fits none of ("Which dishwasher do you mean: the Desk Shaker or the Desk Fan?"), or a
    confirmation of an action on no device ("Turned on the Sauna." with no sauna). The integration
    composes every confirmation itself, so one the model writes is never true."""
    asked, offered = _ASKED.match(sentence), _CHOICES.search(sentence)
    if asked is not None and offered is not None:
        noun = _stems(_words(asked.group("which") or asked.group("more")).split())
        named = {_words(choice.group("name")) for label in _labels(offered.group("choices")) if (choice := _CHOICE.match(label))}
        return not any(noun <= _stems(_name_words(e)) for e in home.entities if _words(e.name) in named)
    return _words(sentence).startswith(_CONFIRMATION_STARTS) and claimed_device(home, sentence) is None


def _stems(found) -> set[str]:
    """Words by their first four letters: "light" and "lights" meet."""
    return {w[:4] for w in found}


def claimed_device(home: Home, sentence: str) -> Entity | None:
    """The device of an action the sentence says was done ("Turned on the Bed Light.", word for
    word as the integration confirms one call; or a confirmation that names one device's whole
    name with another verb: "Turned off the Focus." for a scene), which no call did."""
    said = _words(sentence)
    # Most sentences are answers: only one that begins as a confirmation is worth the search.
    if not said.startswith(_CONFIRMATION_STARTS):
        return None
    for entity in home.entities:
        domain = DOMAINS.get(entity.domain)
        for service in domain.done if domain else ():
            if _words(confirmation(home, [ServiceCall(entity.domain, service, entity.entity_id)])) == said:
                return entity
    named = _named_in(home, said)
    return named[0] if len(named) == 1 else None


def _named_in(home: Home, sentence: str) -> list[Entity]:
    """The devices whose whole name the sentence says."""
    padded = f" {_words(sentence)} "
    return [e for e in home.entities if f" {_words(e.name)} " in padded]


_ALREADY = re.compile(r"\balready (?P<state>[a-z][a-z ]*?)\s*(?:[.!,;]|$)", re.IGNORECASE)
_ALREADY_VALUE = re.compile(r"\balready (?:at|set to|shining at) -?\d", re.IGNORECASE)


# A state, and the words of a request that ask for the other state: "already off" is no answer to
# "turn on the fan", whatever the fan's state.
_ASKS_AWAY_FROM = {
    "off": {"on"},
    "on": {"off"},
    "locked": {"unlock"},
    "unlocked": {"lock"},
    "closed": {"open"},
    "open": {"close", "shut"},
}


# The words of a request that ask for a state: "already off" answers "shut the fan off" or "kill
# the fan", not "make it brighter" or "invert the fan" (an action on a device in that state).
# Said as they are or inflected ("opened", "locking", not "playback").
_ASKS_FOR = {
    "on": {"on", "activate", "start", "going", "enable", "power", "up", "run"},
    "off": {"off", "deactivate", "kill", "stop", "disable", "down", "shut", "done", "out"},
    "open": {"open", "up", "raise", "lift"},
    "closed": {"close", "shut", "down", "lower", "block"},
    "locked": {"lock", "bolt", "secure"},
    "unlocked": {"unlock", "unbolt", "release"},
    "playing": {"play", "resume", "continue", "unpause", "start"},
    "paused": {"pause", "hold", "freeze"},
}
_INFLECTIONS = ("", "s", "d", "ed", "ing", "ning", "ting", "ped", "ged")
# States a device is "on" in: a playing TV, a heating thermostat.
_NOT_ON = {"off", "unavailable", "unknown", "standby", "closed", "locked", "unlocked", "open", "docked", "idle"}
# How a question or a never-mind begins ("check that the fan is off", "leave it"): answered,
# "already off" or not. Filler words before it don't count ("so, is the fan on").
_NO_COMMAND_STARTS = {"is", "are", "was", "were", "what", "whats", "which", "how", "does", "did", "who", "where", "when"}
_NO_COMMAND_STARTS |= {"why", "check", "tell", "list", "any", "anything", "leave", "never", "nevermind", "forget", "no"}
_FILLERS = FILLERS | {"and"}


def unfit_already(home: Home, sentence: str, request: str, earlier: Sequence[str] = ()) -> Entity | None:
    """The one device an "already" answer to a command names, when the answer doesn't fit: the
    device is in another state, or the request asks for no such state
    ("The Portable Speaker is already playing." to "end the playback", "The Chandelier is already
    on." to "invert the chandelier"). earlier: the user's earlier turns ("the bathroom needs it
    too" asks for what they asked for). None for a question, or an answer about no one device."""
    said = _ALREADY.search(sentence)
    value_said = _ALREADY_VALUE.search(sentence)
    if (said is None and value_said is None) or not is_command(request):
        return None
    named = _named_in(home, sentence)
    named = [e for e in named if not any(o is not e and f" {_words(e.name)} " in f" {_words(o.name)} " for o in named)]
    if len(named) != 1:
        return None
    (device,) = named
    if said is None:  # "already at 88%" to "make it a bit dimmer": a change by an amount is never done already
        request_words = _words(request).split()
        return device if any(direction_said(request_words, kind) for kind in ("brightness", "temperature")) else None
    claimed, actual = _words(said.group("state")), _words(device.state)
    holds = actual.startswith(claimed) or claimed.startswith(actual) or (claimed == "on" and actual not in _NOT_ON)
    wanted = _asking_for(claimed)
    asked = set(_words(" ".join((request, *earlier))).split())
    return device if not holds or (claimed in _ASKS_FOR and not asked & wanted) else None


# The state opposite each one an "already" answer may name.
_OPPOSITE = {"on": "off", "open": "closed", "locked": "unlocked", "playing": "paused"}
_OPPOSITE |= {after: before for before, after in _OPPOSITE.items()}


def asks_the_opposite(sentence: str, request: str) -> bool:
    """Whether the request's words ask for the state opposite the one an "already" answer names,
    and not for that one ("bolt the patio door" answered "The Patio Door is already unlocked.")."""
    said = _ALREADY.search(sentence)
    opposite = _OPPOSITE.get(_words(said.group("state"))) if said is not None else None
    if opposite is None:
        return False
    request_words = set(_words(request).split())
    return bool(request_words & _asking_for(opposite)) and not request_words & _asking_for(_OPPOSITE[opposite])


def _asking_for(state: str) -> set[str]:
    """The words, with their endings, that ask for a state ("locked": lock, bolted, securing, ...)."""
    return {word + ending for word in _ASKS_FOR.get(state, ()) for ending in _INFLECTIONS}


def is_command(request: str) -> bool:
    """Whether the words ask for an action: no question and no never-mind."""
    first = next((w for w in _words(request).split() if w not in _FILLERS), None)
    return first is not None and first not in _NO_COMMAND_STARTS and "?" not in request


_MISSING = re.compile(r"\bcan'?t find (?:a|an|any|the) (?P<what>[^\W\d_][\w ]*?)(?: in\b| here\b|\s*[.!?,]|$)", re.IGNORECASE)


def false_missing(entity: Entity, sentence: str) -> bool:
    """Whether the sentence says there is no such device while the words fit this one ("I can't
    find a fan in this house." about the Living Room Fan)."""
    said = _MISSING.search(sentence)
    return said is not None and set(_words(said.group("what")).split()) <= _name_words(entity)


def missing_yet_there(home: Home, sentence: str, request: str) -> Entity | None:
    """The one device that a "there is no such device" answer to a command is about: the words
    it says it can't find are the request's own and fit that device's name and area ("I can't
    find a kitchen light in this house." with one light, the Pendant Light, in the Kitchen)."""
    said = _MISSING.search(sentence)
    if said is None or not is_command(request):
        return None
    missing = _stems(_words(said.group("what")).split())
    if not missing or not missing <= _stems(_words(request).split()):
        return None
    fits = [e for e in home.entities if missing <= _stems(_words(" ".join((e.name, e.area or "", *e.aliases))).split())]
    return fits[0] if len(fits) == 1 else None


def false_already(entity: Entity, sentence: str, request: str = "") -> bool:
    """Whether the sentence says the device is already in a state it isn't in ("The Front Door
    is already locked." while it is unlocked), or in the state the request asks to leave
    ("already locked" to "unlock the front door"): a refusal the home or the request contradicts."""
    said = _ALREADY.search(sentence)
    if said is None:
        return False
    claimed, actual = _words(said.group("state")), _words(entity.state)
    if set(_words(request).split()) & _ASKS_AWAY_FROM.get(claimed, set()):
        return True
    return not (actual.startswith(claimed) or claimed.startswith(actual))
