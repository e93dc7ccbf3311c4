"""How an answer says a device's state, and a status answer held to the home's real states.

The data's answers to "is the X on?" say the state in words ("Yes, the Front Door is open." for a
door sensor that is "on"); those words are defined here, for the data generator and the agent
alike. A small model answers such a question with the right form and a wrong fact now and then:
Home LLM 135M v2.2 said "Yes, the Accent Light is off." to "tell me if the accent light is on"
(it was on) and "Yes, the Garage Door..."-style answers about another device than the one asked
about. An answer of the data's forms that names one device of the home is checked:
- "[Yes|No], the <name> is <state>.": the device a question names alone replaces another one,
  the state becomes the device's own, and yes or no follows from the state the question asks
  about ("already" to a question becomes that yes or no);
- "The <name> is at <value>." (brightness, volume, target, a sensor's reading): the device's value;
- "None of the lights are on." / "Only the <name> is on in the <area>.": the lights that are on there.
Answers of any other form, or about devices that share a name, are left as they are.
"""

from __future__ import annotations

import re

from .confirm import sounds_plural
from .home import Entity, Home
from .relative import shown_brightness
from .relevance import FILLERS, areas_named, named_alone, word_list

# 'domain.state' or 'domain.device_class.state' -> how an answer says it; any other state is said
# as itself, underscores as spaces.
STATE_WORDS: dict[str, str] = {
    "climate.heat": "set to heat",
    "climate.cool": "set to cool",
    "climate.heat_cool": "set to heat and cool",
    "climate.auto": "on auto",
    "climate.dry": "set to dry",
    "climate.fan_only": "running the fan only",
    "climate.off": "off",
    "vacuum.docked": "docked",
    "vacuum.cleaning": "cleaning",
    "vacuum.paused": "paused",
    "vacuum.returning": "returning to its dock",
    "vacuum.idle": "idle",
    "timer.active": "running",
    "timer.idle": "not running",
    "timer.paused": "paused",
    "media_player.playing": "playing",
    "media_player.paused": "paused",
    "media_player.idle": "idle",
    "media_player.on": "on",
    "media_player.off": "off",
    "cover.opening": "opening",
    "cover.closing": "closing",
    "binary_sensor.door.on": "open",
    "binary_sensor.door.off": "closed",
    "binary_sensor.window.on": "open",
    "binary_sensor.window.off": "closed",
    "binary_sensor.motion.on": "detecting motion",
    "binary_sensor.motion.off": "clear",
    "binary_sensor.moisture.on": "wet",
    "binary_sensor.moisture.off": "dry",
    "binary_sensor.smoke.on": "detecting smoke",
    "binary_sensor.smoke.off": "clear",
    "binary_sensor.gas.on": "detecting gas",
    "binary_sensor.gas.off": "clear",
    "script.on": "running",
    "script.off": "not running",
    "input_boolean.on": "on",
    "input_boolean.off": "off",
}

# The two answers of a yes/no question, as the question asks them: "is it on?", "is it off?".
YES_NO_PAIRS = (("on", "off"), ("open", "closed"), ("locked", "unlocked"))
# The words an answer starts with, by persona -> (its yes, its no).
_LEADS = {"Yes": ("Yes", "No"), "Yep": ("Yep", "Nope"), "Indeed": ("Indeed", "No"), "No": ("Yes", "No"), "Nope": ("Yep", "Nope")}

# The data's status answers: "Yes, the X is on.", "No, the X is currently off.", "The X are open."
# ("already" too, which a model writes to questions now and then).
_ANSWER = re.compile(
    r"^(?:(?P<lead>Yes|Yep|Indeed|No|Nope), the|The) (?P<name>.+?) (?P<be>is|are) (?P<currently>currently )?"
    r"(?P<already>already )?(?P<state>[^.]+)\.$"
)
# The data's answers to "which lights are on?", with the place they speak of.
_WHICH_ON = re.compile(
    r"^(?:None of the lights(?P<none> in the .+?)? are on|Only the (?P<one>.+?) (?:is|are) on(?P<one_where> in the .+?)?"
    r"|The (?P<many>.+?(?:,| and ).+?) are on(?P<many_where> in the .+?)?)\.$"
)
_QUESTION_STARTS = frozenset({"is", "are", "was", "were", "what", "whats", "which", "how", "hows", "does", "did", "has"})
_QUESTION_STARTS |= {"check", "tell", "list", "any", "anything"}  # not "can", "could", "have": "could you shut it"
_FILLERS = FILLERS | {"quick", "one"}
# "on" before these is no state: "give me an update on the lamp".
_DETERMINERS = frozenset({"the", "a", "an", "my", "this", "that", "your", "de", "da", "teh"})
# The states a device of each domain can be in, for telling a state from another fact ("at 40%").
_STATES = {
    "light": ("on", "off"),
    "switch": ("on", "off"),
    "fan": ("on", "off"),
    "input_boolean": ("on", "off"),
    "cover": ("open", "closed", "opening", "closing"),
    "lock": ("locked", "unlocked", "locking", "unlocking", "jammed"),
    "binary_sensor": ("on", "off"),
    "media_player": ("playing", "paused", "idle", "on", "off"),
    "vacuum": ("docked", "cleaning", "paused", "returning", "idle"),
    "timer": ("active", "idle", "paused"),
    "script": ("on", "off"),
    "climate": ("heat", "cool", "heat_cool", "auto", "dry", "fan_only", "off"),
}


# The data's answers that give a value: "The Desk Lamp is at 40%.", "The Speaker volume is at 30%.",
# "The Heating is set to 21°C.", "The Wind Speed is 34.7 km/h." (verb -> the value it gives).
_VALUE_ANSWER = re.compile(
    r"^The (?P<name>.+?) (?P<verb>volume is at|is shining at|are shining at|is at|are at|is set to|are set to|reads|is|are) "
    r"(?P<value>-?\d[^ ]*(?: [^ .]+)?)\.$"
)
_VALUE_VERBS = {
    "light": {"is at", "are at", "is shining at", "are shining at"},
    "media_player": {"volume is at"},
    "climate": {"is set to", "are set to"},
    "sensor": {"is", "are", "reads"},
}


def shown_value(entity: Entity, temperature_unit: str) -> str | None:
    """The value an answer gives for a device, as the prompt shows it: a light's brightness (None
    while off), a player's volume, a climate device's target (None while off), a sensor's reading."""
    attrs = entity.attributes
    if entity.domain == "light" and (brightness := shown_brightness(entity)) is not None:
        return f"{brightness}%"
    if entity.domain == "media_player" and isinstance(attrs.get("volume_level"), (int, float)):
        return f"{round(attrs['volume_level'] * 100)}%"
    if entity.domain == "climate" and entity.state != "off" and isinstance(attrs.get("temperature"), (int, float)):
        return f"{attrs['temperature']:g}{temperature_unit}"
    if entity.domain == "sensor" and attrs.get("unit_of_measurement"):
        return f"{entity.state} {attrs['unit_of_measurement']}"
    return None


def state_word(domain: str, device_class: str | None, state: str) -> str:
    """How an answer says the state ("open" for a door sensor that is "on")."""
    return STATE_WORDS.get(f"{domain}.{device_class}.{state}") or STATE_WORDS.get(f"{domain}.{state}") or state.replace("_", " ")


def entity_state_word(entity: Entity) -> str:
    return state_word(entity.domain, entity.attributes.get("device_class"), entity.state)


def _state_words_of(entity: Entity) -> set[str]:
    device_class = entity.attributes.get("device_class")
    return {state_word(entity.domain, device_class, state) for state in _STATES.get(entity.domain, ())}


def checked_status(home: Home, request: str, sentence: str) -> str | None:
    """The status answer made true to the home, or None when it is already (or is no status
    answer about a device of the home in the data's forms, or says nothing this can check)."""
    sentence = sentence.strip()
    checked = (
        _checked_value(home, request, sentence)
        or _checked_which_on(home, request, sentence)
        or _checked_state(home, request, sentence)
    )
    return None if checked is None or checked == sentence else checked


def _checked_state(home: Home, request: str, sentence: str) -> str | None:
    found = _ANSWER.match(sentence)
    question = _asks(request)
    if found is None or (found["already"] and not question):
        return None  # an "already" answer to a command is ask_back's
    if sum(e.name.lower() == found["name"].lower() for e in home.entities) > 1:
        return None  # devices that share the name: which one it means is twins.py's question
    asked = named_alone(home, request)
    device = named_device = _called(home, found["name"])
    if question and asked is not None and asked is not named_device and asked.domain in _STATES:
        device = asked  # "is the garage door open?" answered about the Front Door Lock
    elif device is None or found["state"] not in _state_words_of(device):
        return None  # another fact ("an Air Conditioner"): nothing to check it against
    state = entity_state_word(device)
    lead = _lead(home, found["lead"], state, request, swapped=device is not named_device, changed=state != found["state"])
    be = found["be"] if device is named_device else "is"
    start = f"{lead}, the" if lead else "The"
    return f"{start} {device.name} {be} {found['currently'] or ''}{state}."


def _asks(request: str) -> bool:
    """Whether the request is a question (not a command, nor a never-mind)."""
    first = next((w for w in word_list(request) if w not in _FILLERS), "")
    return "?" in request or first in _QUESTION_STARTS


def _called(home: Home, name: str) -> Entity | None:
    """The one device an answer calls by this name (of devices that share it, none: which one the
    answer means is twins.py's question)."""
    called = [e for e in home.entities if e.name.lower() == name.lower()]
    return called[0] if len(called) == 1 else None


def _checked_value(home: Home, request: str, sentence: str) -> str | None:
    """A value answer with the device's own value (or state, where it has no such value now), or
    None when the sentence is no value answer about one device of the home."""
    found = _VALUE_ANSWER.match(sentence)
    if found is None:
        return None
    device = _called(home, found["name"])
    if device is None or found["verb"] not in _VALUE_VERBS.get(device.domain, ()):
        return None
    value = shown_value(device, home.temperature_unit)
    if value is None:
        be = "are" if found["verb"].startswith("are") else "is"
        return f"The {found['name']} {be} {entity_state_word(device)}."
    return f"The {found['name']} {found['verb']} {value}."


def _checked_which_on(home: Home, request: str, sentence: str) -> str | None:
    """A "which lights are on" answer listing the lights on in the place it speaks of (the request's
    one area where the answer names none), in the data's forms."""
    found = _WHICH_ON.match(sentence)
    if found is None:
        return None
    where = (found["none"] or found["one_where"] or found["many_where"] or "").removeprefix(" in the ")
    areas = {e.area.lower(): e.area for e in home.entities if e.area}
    if where and where.lower() not in areas:
        return None
    said_areas = areas_named(home, request)
    area = areas[where.lower()] if where else said_areas[0] if len(said_areas) == 1 else None
    place = f" in the {area}" if area else ""
    lit = [e.name for e in home.entities if e.domain == "light" and e.state == "on" and (area is None or e.area == area)]
    if not lit:
        return f"None of the lights{place} are on."
    if len(lit) == 1:
        return f"Only the {lit[0]} {'are' if sounds_plural(lit[0]) else 'is'} on{place}."
    return f"The {', '.join(lit[:-1])} and {lit[-1]} are on{place}."


def _before_a_noun(following: list[str], home: Home) -> bool:
    """Whether "on" is a preposition here: before a determiner or a word of a name or an area
    ("an update on Vanity Light"), not a state ("is it on?", "is the lamp on in the hall")."""
    if not following:
        return False
    names = " ".join(" ".join((e.name, *e.aliases, e.area or "")) for e in home.entities)
    return following[0] in _DETERMINERS or following[0] in set(word_list(names))


def _lead(home: Home, lead: str | None, state: str, request: str, *, swapped: bool, changed: bool) -> str | None:
    """Yes or no for the state the question asks about ("has it been switched off?": off); where
    the question says no state of the pair, the model's word, turned round if the state changed,
    or none for an answer now about another device."""
    said = word_list(request)
    states_said = {w for i, w in enumerate(said) if w != "on" or not _before_a_noun(said[i + 1 : i + 2], home)}
    for pair in YES_NO_PAIRS:
        if state in pair and len(asked := states_said & set(pair)) == 1:
            yes = asked == {state}
            break
    else:
        if swapped or lead is None or not changed:
            return None if swapped else lead
        yes = lead == _LEADS[lead][1]
    return _LEADS[lead or "Yes"][0 if yes else 1]
