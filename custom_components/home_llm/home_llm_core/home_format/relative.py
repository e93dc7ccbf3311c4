"""Changes asked for by an amount ("make the lamp a bit brighter", "nudge the heating down",
"it's boiling in here"): how big each step is, and the value it comes to from the device's
current one.

The data's expected call for "make the lamp a bit brighter" at 40 % is brightness 50: the new
value, not the step. Adding a step to a number it reads in the prompt is arithmetic a 135M model
gets wrong (Home LLM 135M v2.2 set 60 for "tone down the chandelier" at 51 %, and 4 degrees for
"nudge the split unit down a touch": the step itself). The model still picks the device and the
service; the agent puts in the value the words and the device's current one give. These steps and
amount words are the data generator's too.
"""

from __future__ import annotations

from .home import Entity
from .relevance import word_list

# The amount said -> the words for it ("" is a change said without one: "turn the lamp up").
AMOUNT_WORDS: dict[str, list[str]] = {"small": ["a bit", "a little", "slightly", "a touch"], "default": [""], "large": ["a lot"]}
BRIGHTNESS_STEPS = {"small": 10, "default": 20, "large": 40}
TEMPERATURE_STEPS = {"°C": {"small": 1, "default": 2, "large": 3}, "°F": {"small": 2, "default": 3, "large": 5}}

# Words that say which way, per kind of value (phrases as word sequences).
_UP = {
    "brightness": ("brighter", "brighten", "up"),
    "temperature": ("warmer", "up", "too cold", "freezing", "hotter", "heat up"),
}
_DOWN = {
    "brightness": ("dimmer", "dim", "down", "too bright", "darker"),
    "temperature": ("cooler", "colder", "down", "too warm", "too hot", "boiling"),
}


def amount_said(words: list[str]) -> str:
    """The amount the request says: "small", "large" or "default"."""
    for amount in ("small", "large"):
        if any(_says(words, word_list(phrase)) for phrase in AMOUNT_WORDS[amount]):
            return amount
    return "default"


def direction_said(words: list[str], kind: str, said: list[str] | None = None) -> int | None:
    """+1 or -1 for the way the words ask the value to move; None where they say no way or both.
    words: without the names said (an "Up Light" says no way); said: all of them, for phrases
    ("too bright" where a scene is called Bright)."""
    said = words if said is None else said
    up = any(_says(said if " " in p else words, word_list(p)) for p in _UP[kind])
    down = any(_says(said if " " in p else words, word_list(p)) for p in _DOWN[kind])
    down = down and not _says(said, ["shut", "down"])  # "shut down the lamp" is "off"
    return None if up == down else 1 if up else -1


def shown_brightness(entity: Entity) -> int | None:
    """A light's brightness in percent as the prompt shows it; None while it is off."""
    brightness = entity.attributes.get("brightness")
    return round(brightness * 100 / 255) if entity.state == "on" and isinstance(brightness, (int, float)) else None


def says_brightness(said: list[str]) -> bool:
    """Whether the words speak of brightness itself, not only of a way ("up")."""
    return any(_says(said, word_list(p)) for p in (*_UP["brightness"], *_DOWN["brightness"]) if p not in ("up", "down"))


def moved_value(
    entity: Entity, kind: str, words: list[str], temperature_unit: str, said: list[str] | None = None
) -> float | None:
    """The brightness percent or target temperature the words ask for, from the device's current
    one; None where the device shows none (a light that is off, a climate device that is off)
    or the words say no way."""
    sign = direction_said(words, kind, said)
    attrs = entity.attributes
    if sign is None:
        return None
    if kind == "brightness":
        if (current := shown_brightness(entity)) is None:
            return None
        return max(1, min(100, current + sign * BRIGHTNESS_STEPS[amount_said(said or words)]))
    if entity.state == "off" or not isinstance(attrs.get("temperature"), (int, float)):
        return None
    steps = TEMPERATURE_STEPS.get(temperature_unit, TEMPERATURE_STEPS["°C"])
    value = attrs["temperature"] + sign * steps[amount_said(said or words)]
    return int(value) if float(value).is_integer() else value


def _says(words: list[str], phrase: list[str]) -> bool:
    return bool(phrase) and any(words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))
