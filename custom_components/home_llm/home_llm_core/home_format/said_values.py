"""Values a request says outright (a colour, a white, a percentage, a temperature, a duration,
a list item), read from its words, so that a call carries the value the user said.

A 135M model writes "coral" as [255, 255, 255], "seventy five percent" as 45 and "oat milk" as
"oat_milk"; what the words say needn't be its guess. Each call is matched to the clause of the
request that names its device (the whole request when it has one clause); a value that clause
says once, of a kind the call's service takes, replaces the model's. Words of a device's, room's
or floor's name don't count ("the Red Lamp", "Bedroom 2"). A number without a unit counts only
when it is the clause's one number; in a clause that asks for a change by an amount ("up by 2
degrees", "a bit brighter") only a number after "to" or "at" counts. A percentage said for a
cover, fan or media player whose call takes none ("close the blinds halfway", "put the fan on
full") makes the call its domain's setter (set_cover_position, set_percentage, volume_set) where
the device reports that value. An action said in so many words for the call's kind of device
("pause the tv", "skip this song", "send the mower home", "arm it away", "mute") makes the call
that service: a small model mixes up a domain's many similar services (media_play_pause for
"pause"). A change by an amount ("a bit brighter", "nudge it down", "it's boiling in here") comes
to the device's current value moved by the step the words say (relative.py). The model still
decides which device, and validation still checks the value and the service against the device.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .colors import COLOR_SYNONYMS, COLORS, WHITES
from .domains import ARGUMENTS, DOMAINS
from .home import Entity, Home
from .relative import moved_value, says_brightness
from .relevance import FILLERS, words
from .reply import ModelCall
from .validation import validate_calls

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|[%°,]")
_UNDER_TWENTY = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
    *("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
)
_ONES = {w: n for n, w in enumerate(_UNDER_TWENTY)}
_TENS = {w: 10 * n for n, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), 2)}
_SECONDS = {"hour": 3600, "hr": 3600, "minute": 60, "min": 60, "second": 1, "sec": 1}
_PERCENT = frozenset({"%", "percent", "pct", "brightness"})
_DEGREES = frozenset({"°", "degree", "degrees", "celsius", "fahrenheit"})
_KELVIN = frozenset({"k", "kelvin"})
# "speed 3", "track 2": a number after these is a step or an index, not a value.
_COUNTS_STEPS = frozenset({"speed", "level", "setting", "number", "track", "channel", "zone", "station", "step"})
# Amounts said in words: "put the fan on full", "close the blinds halfway".
_PERCENT_WORDS = {"full": 100, "half": 50, "halfway": 50}
_CLAUSE_BREAK = frozenset({",", "and", "then", "plus", "also"})
_FILLERS = FILLERS | {"thanks", "thx"}
# Arguments a change by an amount moves (each the kind of value relative.py moves).
_MOVED = frozenset({"brightness", "temperature"})
# A clause with one of these asks for a change by an amount, not for a value.
_BY_AN_AMOUNT = frozenset(
    {"by", "up", "down", "higher", "lower", "more", "less", "warmer", "cooler", "colder", "hotter", "brighter", "dimmer"}
    | {"darker", "louder", "quieter", "raise", "increase", "decrease", "bump", "nudge"}
)
# More words of requests for a change by an amount ("dim the lamp", "it's boiling in here").
_CHANGE_WORDS = frozenset({"dim", "brighten", "tone", "boiling", "freezing", "too"})
_BRIGHTNESS_WORDS = _BY_AN_AMOUNT | {"dim", "bright", "brightness", "full", "half", "max", "maximum", "minimum", "lowest"}
# Actions said in words, per kind of device: phrase -> (service, its arguments). A clause that
# says one of them (longest phrase first) gets that service on a device of that kind. English.
_ACTIONS: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "media_player": {
        **dict.fromkeys(("play pause", "play or pause"), ("media_play_pause", {})),
        **dict.fromkeys(("pause", "paused"), ("media_pause", {})),
        **dict.fromkeys(("resume", "unpause", "play again", "playing again", "continue playing"), ("media_play", {})),
        **dict.fromkeys(("stop", "stop playing", "stop the music"), ("media_stop", {})),
        **dict.fromkeys(("next track", "next song", "skip", "skip this song", "skip this track"), ("media_next_track", {})),
        **dict.fromkeys(
            ("previous track", "previous song", "last track", "last song", "go back a track", "go back a song"),
            ("media_previous_track", {}),
        ),
        **dict.fromkeys(("mute", "muted"), ("volume_mute", {"muted": True})),
        **dict.fromkeys(("unmute", "unmuted"), ("volume_mute", {"muted": False})),
        **dict.fromkeys(("louder", "volume up", "turn up the volume", "turn the volume up"), ("volume_up", {})),
        **dict.fromkeys(
            ("quieter", "softer", "volume down", "turn down the volume", "turn the volume down"), ("volume_down", {})
        ),
    },
    "vacuum": {
        **dict.fromkeys(("start", "start cleaning", "clean"), ("start", {})),
        **dict.fromkeys(("pause",), ("pause", {})),
        **dict.fromkeys(("stop",), ("stop", {})),
        **dict.fromkeys(("dock", "home", "base", "charger", "to charge"), ("return_to_base", {})),
    },
    "lawn_mower": {
        **dict.fromkeys(("start", "start mowing", "mow"), ("start_mowing", {})),
        **dict.fromkeys(("pause",), ("pause", {})),
        **dict.fromkeys(("dock", "home", "base", "charger", "to charge"), ("dock", {})),
    },
    "alarm_control_panel": {
        **dict.fromkeys(("disarm",), ("alarm_disarm", {})),
        **dict.fromkeys(("away", "arm away"), ("alarm_arm_away", {})),
        **dict.fromkeys(("arm home", "home mode", "stay", "arm stay"), ("alarm_arm_home", {})),
    },
    "fan": {
        **dict.fromkeys(("faster", "speed up"), ("increase_speed", {})),
        **dict.fromkeys(("slower", "slow down"), ("decrease_speed", {})),
    },
    "cover": {
        **dict.fromkeys(("open", "raise", "pull up", "roll up"), ("open_cover", {})),
        **dict.fromkeys(("close", "shut", "lower", "pull down", "roll down"), ("close_cover", {})),
        **dict.fromkeys(("stop",), ("stop_cover", {})),
    },
}
# On or off, for a call that switches a device (turn_on, turn_off, toggle) the other way or
# either way. A lone "on" is too often a preposition ("lights out on the porch").
_SWITCHES = {"turn_on", "turn_off", "toggle"}
_ON_OFF_ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    **dict.fromkeys(("turn on", "switch on", "power on"), ("turn_on", {})),
    **dict.fromkeys(("off", "shut down", "shut off"), ("turn_off", {})),
}
_PHRASES = sorted(
    [(name, ("colour", name)) for name in COLORS]
    + [(word, ("colour", name)) for word, name in COLOR_SYNONYMS.items()]
    + [(name, ("white", kelvin)) for name, kelvin in WHITES.items()],
    key=lambda phrase: -len(phrase[0].split()),
)


@dataclass(frozen=True)
class _Number:
    value: float
    spelled: bool  # written in words: a lone "one" is usually "the one in the kitchen"


@dataclass(frozen=True)
class _Duration:
    seconds: int


@dataclass
class _Clause:
    words: set[str]  # every word, for matching the clause to a call's device
    said: list[str] = field(default_factory=list)  # every word in order, names included
    text: list[str] = field(default_factory=list)  # the words, names taken out, for list items
    # By how the clause marks them: "percent", "degrees", "kelvin", "plain"; and "after_to" ("to 40").
    numbers: dict[str, list[float]] = field(default_factory=dict)
    colours: set[str] = field(default_factory=set)
    whites: set[int] = field(default_factory=set)
    durations: set[int] = field(default_factory=set)
    says_brightness: bool = False  # a number, or a word about brightness outside a colour's name
    by_an_amount: bool = False  # asks for a change by an amount ("a bit brighter", "nudge it down")
    step_said: bool = False  # says the amount as a number ("up by 2 degrees"): the model's to add
    actions: dict[str, list[str]] = field(default_factory=dict)  # kind of device or "switch" -> action phrases said


def with_said_values(home: Home, text: str, calls: Sequence[ModelCall]) -> list[ModelCall]:
    """The calls, each with the values its clause of the request says in place of the model's."""
    clauses = _clauses(home, text)
    colour_said = any(c.colours or c.whites for c in clauses)
    targets = [e for e in (home.get(c.target) for c in calls) if e is not None]
    out = []
    for call in calls:
        entity = home.get(call.target)
        # An action only from the clause that names the device itself: "turn off the bedroom
        # humidifier and dim the lamp to 33" says nothing about turning off the bedroom's lamp.
        if entity is not None and entity.domain in DOMAINS:
            named = _clause_of(home, entity, clauses, by_name=True)
            if named is not None and not _named_better(home, named, entity, targets):
                call = _as_said_action(home, call, named, entity)
        clause = _clause_of(home, entity, clauses)
        out.append(_with_values(call, clause, entity, home.temperature_unit, colour_said) if clause else call)
    return out


def _clause_of(home: Home, entity: Entity | None, clauses: list[_Clause], by_name: bool = False) -> _Clause | None:
    if len(clauses) == 1:
        return clauses[0]
    if entity is None or not clauses:
        return None
    own = _entity_words(home, entity, by_name)
    scores = [len(clause.words & own) for clause in clauses]
    best = max(scores)
    return clauses[scores.index(best)] if best and scores.count(best) == 1 else None


def _named_better(home: Home, clause: _Clause, entity: Entity, targets: list[Entity]) -> bool:
    """Whether another device the reply acts on shares more words with the clause: "close the
    drapes and open the master bedroom shades" names the shades, not the master bedroom curtains."""
    own = len(clause.words & _entity_words(home, entity, by_name=True))
    return any(len(clause.words & _entity_words(home, other, by_name=True)) > own for other in targets if other != entity)


def _entity_words(home: Home, entity: Entity, by_name: bool = False) -> set[str]:
    object_id = entity.entity_id.split(".", 1)[1].replace("_", " ")
    area = "" if by_name else entity.area or ""
    return words(" ".join((entity.name, object_id, *entity.aliases, area, home.floors.get(area, ""))))


def _with_values(
    call: ModelCall, clause: _Clause, entity: Entity | None, temperature_unit: str, colour_said: bool = True
) -> ModelCall:
    domain, _, service = call.service.partition(".")
    if domain == "climate" and entity is not None and (temperature := _temperature_instead(entity, call, clause)) is not None:
        return replace(call, service="climate.set_temperature", arguments={"temperature": temperature})
    takes = DOMAINS[domain].services.get(service) if domain in DOMAINS else None
    if takes == () and entity is not None and (setter := _setter_for(entity, service, clause)) is not None:
        service, takes = setter, DOMAINS[domain].services[setter]
        call = replace(call, service=f"{domain}.{setter}")
    if not takes:
        return call
    args = dict(call.arguments)
    for name in takes:
        kind = ARGUMENTS[name].kind
        if (
            name in _MOVED
            and entity is not None
            and clause.by_an_amount
            and not (clause.numbers.get("after_to") or clause.step_said)
        ):
            # "a bit brighter", "nudge it down": the current value moved by the step the words say
            moved = moved_value(entity, name, clause.text, temperature_unit, clause.said)
            # A call without the value gets it where the words are about brightness itself
            # ("the lamp needs to be brighter" answered with a plain turn_on of a lit lamp).
            if moved is not None and (name in args or service == "set_temperature" or says_brightness(clause.said)):
                args[name] = moved
                if name == "brightness" and not colour_said:
                    args.pop("rgb_color", None)  # "a bit brighter" asks for no new colour
                    args.pop("color_temp", None)
        elif kind in ("percent", "humidity", "temperature"):
            _set_number(args, name, kind, clause)
        elif kind == "duration" and len(clause.durations) == 1:
            (seconds,) = clause.durations
            args[name] = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        elif kind == "text" and isinstance(args.get(name), str):
            args[name] = _as_said(args[name], clause.text)
    if "rgb_color" in takes and "color_temp" in takes:
        whites = clause.whites | {round(k) for k in clause.numbers.get("kelvin", [])}
        if len(clause.colours) == 1 and not whites:
            args.pop("color_temp", None)
            args["rgb_color"] = list(COLORS[next(iter(clause.colours))])
        elif len(whites) == 1 and not clause.colours:
            args.pop("rgb_color", None)
            args["color_temp"] = next(iter(whites))
        if (clause.colours or whites) and not clause.says_brightness:
            args.pop("brightness", None)  # "the lamp at neutral": the model's brightness is its own idea
    return call if args == call.arguments else replace(call, arguments=args)


def _as_said_action(home: Home, call: ModelCall, clause: _Clause, entity: Entity) -> ModelCall:
    """The call as the one action its clause says for its kind of device, where the device takes it."""
    if call.service.partition(".")[2] in _SWITCHES and {"turn_on", "turn_off"} <= DOMAINS[entity.domain].services.keys():
        if call.arguments:
            return call  # "turn off the bed light and then set it to 50 percent": the 50 is the other clause's
        kind, actions = "switch", _ON_OFF_ACTIONS
    else:
        kind, actions = entity.domain, _ACTIONS.get(entity.domain, {})
    if len(clause.actions.get(kind, ())) != 1:
        return call
    service, arguments = actions[clause.actions[kind][0]]
    takes = DOMAINS[entity.domain].services[service]
    if any(k not in takes for k in call.arguments) and clause.numbers:
        return call  # "the screen 90 open": the model's setter carries the number said
    said = replace(
        call,
        service=f"{entity.domain}.{service}",
        arguments={**{k: v for k, v in call.arguments.items() if k in takes}, **arguments},
    )
    if said == call or not validate_calls(home, [said])[0]:
        return call
    return said


# Services a said percentage turns into its domain's setter, on a device that reports the value
# it sets: "open the blinds 30 percent", "put the fan on full", "the volume up to 40 %". The
# endpoints of a cover stay open and close.
_SETTERS = {
    "cover": ("set_cover_position", "current_position"),
    "fan": ("set_percentage", "percentage"),
    "media_player": ("volume_set", "volume_level"),
}
_BECOME_SETTERS = frozenset({"turn_on", "toggle", "open_cover", "close_cover", "volume_up", "volume_down"})


def _setter_for(entity: Entity, service: str, clause: _Clause) -> str | None:
    # Marked as a percentage, or for a cover after "to": "move it to 30"; "turn on the tv at 7" is no volume.
    found = set(clause.numbers.get("percent", []) or (clause.numbers.get("after_to", []) if entity.domain == "cover" else []))
    setter, reported = _SETTERS.get(entity.domain, (None, None))
    if setter is None or reported not in entity.attributes or service not in _BECOME_SETTERS or len(found) != 1:
        return None
    (value,) = found
    if (service, value) in (("open_cover", 100), ("close_cover", 0)):
        return None
    return setter


def _temperature_instead(entity: Entity, call: ModelCall, clause: _Clause) -> int | float | None:
    """The temperature a clause says where the model wrote a mode or on call that changes
    nothing: "set the heating to 23" answered with heat mode on a thermostat already heating."""
    service = call.service.partition(".")[2]
    mode = call.arguments.get("hvac_mode")
    idle = (service == "set_hvac_mode" and mode == entity.state) or (service == "turn_on" and entity.state != "off")
    low, high = entity.attributes.get("min_temp"), entity.attributes.get("max_temp")
    said = set(clause.numbers.get("degrees", []) or clause.numbers.get("after_to", []))
    if not idle or low is None or high is None or len(said) != 1:
        return None
    (value,) = said
    return (int(value) if float(value).is_integer() else value) if low <= value <= high else None


def _set_number(args: dict[str, Any], name: str, kind: str, clause: _Clause) -> None:
    marked = clause.numbers.get("degrees" if kind == "temperature" else "percent", [])
    found = set(marked or clause.numbers.get("plain", []))
    if len(found) != 1 or (name not in args and not marked and not clause.numbers.get("after_to")):
        return
    (value,) = found
    args[name] = int(value) if float(value).is_integer() else value


def _as_said(item: str, said: list[str]) -> str:
    """The list item in the user's words when the model's joins them with underscores or leaves
    some out ("oat_milk" for "oat milk", "pay electricity bill" for "pay the electricity bill")."""
    wanted = [w for w in re.split(r"[\W_]+", item.lower()) if w]
    if not wanted:
        return item
    for start in (i for i, w in enumerate(said) if w == wanted[0]):
        at, end = 1, start + 1
        while at < len(wanted) and end < len(said) and end - start <= 2 * len(wanted):
            at += said[end] == wanted[at]
            end += 1
        if at == len(wanted) and ("_" in item or end - start > len(wanted)):
            return " ".join(said[start:end])
    return item


def _clauses(home: Home, text: str) -> list[_Clause]:
    tokens = _TOKEN.findall(text.lower())
    names = _names(home)
    items = _with_durations(_with_numbers(tokens))
    clauses: list[_Clause] = []
    part: list[Any] = []
    for item in [*items, ","]:
        if isinstance(item, str) and item in _CLAUSE_BREAK:
            if any(isinstance(i, str) and i not in _FILLERS for i in part):  # "ok, i'm freezing": one clause
                clauses.append(_read(part, names))
            part = []
        else:
            part.append(item)
    return clauses


def _names(home: Home) -> list[list[str]]:
    """Every device, alias, room and floor name as words, longest first."""
    found = {
        tuple(_TOKEN.findall(n.lower()))
        for e in home.entities
        for n in (e.name, *e.aliases, e.area or "", home.floors.get(e.area or "", ""))
    }
    return sorted((list(n) for n in found if n), key=len, reverse=True)


def _read(part: list[Any], names: list[list[str]]) -> _Clause:
    said_words = [i for i in part if isinstance(i, str)]
    clause = _Clause(words=words(" ".join(said_words)), said=said_words)
    part = _without_names(part, names)
    clause.text = [i for i in part if isinstance(i, str)]
    by_amount = bool(_BY_AN_AMOUNT & set(clause.text))
    clause.by_an_amount = by_amount or bool(_CHANGE_WORDS & set(clause.text))
    for at, item in enumerate(part):
        if isinstance(item, _Duration):
            clause.durations.add(item.seconds)
        before = part[at - 1] if at else None
        if _PERCENT_WORDS.get(item) and (item == "halfway" or before in ("to", "at", "on")):
            clause.numbers.setdefault("percent", []).append(_PERCENT_WORDS[item])  # "on full", "to half"
            if before in ("to", "at"):
                clause.numbers.setdefault("after_to", []).append(_PERCENT_WORDS[item])  # "dim it to full": no step
        if not isinstance(item, _Number):
            continue
        after = part[at + 1] if at + 1 < len(part) else None
        after_to = before in ("to", "at")
        if by_amount and not after_to:
            clause.step_said = True
            continue
        kind = "percent" if after in _PERCENT else "degrees" if after in _DEGREES else "kelvin" if after in _KELVIN else "plain"
        if kind == "plain" and ((item.spelled and item.value == 1) or before in _COUNTS_STEPS):
            continue
        clause.numbers.setdefault(kind, []).append(item.value)
        if after_to:
            clause.numbers.setdefault("after_to", []).append(item.value)
    said = (" " + " ".join(clause.text) + " ").replace(" white of ", " | ")  # "the white of the lamp"
    for phrase, (kind, value) in _PHRASES:
        if f" {phrase} " in said:
            said = said.replace(f" {phrase} ", " | ")
            if kind == "colour":
                clause.colours.add(str(value))
            else:
                clause.whites.add(int(value))
    for kind, actions in (*_ACTIONS.items(), ("switch", _ON_OFF_ACTIONS)):
        _read_actions(clause, kind, actions)
    clause.says_brightness = bool(
        clause.numbers.get("percent") or clause.numbers.get("plain") or _BRIGHTNESS_WORDS & set(said.split())
    )
    return clause


def _read_actions(clause: _Clause, kind: str, actions: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """The clause's phrases for one kind of device's actions (or for switching), one per distinct action."""
    said = " " + " ".join(clause.text) + " "
    found: dict[tuple[str, bool], str] = {}
    for phrase in sorted(actions, key=lambda p: -len(p.split())):
        if f" {phrase} " in said:
            said = said.replace(f" {phrase} ", " | ")
            service, arguments = actions[phrase]
            found.setdefault((service, bool(arguments.get("muted"))), phrase)
    if found:
        clause.actions[kind] = list(found.values())


def _without_names(part: list[Any], names: list[list[str]]) -> list[Any]:
    """The clause with every device, room and floor name it says taken out (a name's own
    numbers and colours are not values): a placeholder stands in its place."""
    out = list(part)
    for name in names:
        at = 0
        while at + len(name) <= len(out):
            if [i if isinstance(i, str) else None for i in out[at : at + len(name)]] == name:
                out[at : at + len(name)] = ["|"]
            at += 1
    return out


def _merged(items: list[Any], read: Callable[[list[Any], int], tuple[Any, int]]) -> list[Any]:
    """The items with each run that `read` makes one value of (it returns the value, or None,
    and where the run ends) replaced by that value."""
    out: list[Any] = []
    at = 0
    while at < len(items):
        value, end = read(items, at)
        if value is None:
            out.append(items[at])
            at += 1
        else:
            out.append(value)
            at = end
    return out


def _with_numbers(tokens: list[str]) -> list[Any]:
    """The tokens with each number, in digits or words, as one _Number ("twenty two and a
    half" -> 22.5, "twenty seven hundred" -> 2700)."""
    return _merged(tokens, _number_run)


def _number_run(tokens: list[str], at: int) -> tuple[_Number | None, int]:
    value, end = _number_at(tokens, at)
    if value is None:
        return None, at
    if tokens[end : end + 3] == ["and", "a", "half"]:
        value, end = value + 0.5, end + 3
    elif tokens[end : end + 1] == ["point"] and end + 1 < len(tokens) and tokens[end + 1] in _ONES:
        value, end = value + _ONES[tokens[end + 1]] / 10, end + 2
    return _Number(value, spelled=not tokens[at][0].isdigit()), end


def _number_at(tokens: list[str], at: int) -> tuple[float | None, int]:
    if tokens[at][0].isdigit():
        return float(tokens[at]), at + 1
    total, current, end = 0, 0, at
    while end < len(tokens):
        word = tokens[end]
        if word in _TENS or word in _ONES:
            tens_and_ones = current % 100
            if tens_and_ones and (word in _TENS or tens_and_ones % 10 or tens_and_ones < 20):
                break  # "eighty eighty five", "seventy-five seventy-five": a word said twice, not one number
            current += _TENS.get(word, _ONES.get(word, 0))
        elif word == "hundred" and end > at:
            current *= 100
        elif word == "thousand" and end > at:
            total, current = total + current * 1000, 0
        elif word == "and" and end > at and tokens[end - 1] == "hundred" and _is_number_word(tokens, end + 1):
            pass
        else:
            break
        end += 1
    return (float(total + current), end) if end > at else (None, at)


def _is_number_word(tokens: list[str], at: int) -> bool:
    return at < len(tokens) and (tokens[at] in _ONES or tokens[at] in _TENS)


def _with_durations(items: list[Any]) -> list[Any]:
    """Amounts of time as one _Duration each: "1 hour and 15 minutes", "a minute and a half",
    "half an hour", "a quarter of an hour"."""
    return _merged(items, _duration_run)


def _duration_run(items: list[Any], at: int) -> tuple[_Duration | None, int]:
    seconds, end = _duration_at(items, at)
    if seconds is None:
        return None, at
    while end < len(items):  # "... and 15 minutes", "... 30 seconds"
        skip = 1 if items[end] == "and" else 0
        more, after = _duration_at(items, end + skip)
        if more is None:
            break
        seconds, end = seconds + more, after
    return _Duration(round(seconds)), end


def _duration_at(items: list[Any], at: int) -> tuple[float | None, int]:
    words_ahead = [i if isinstance(i, str) else None for i in items[at : at + 5]]
    if words_ahead[:3] == ["half", "an", "hour"]:
        return 1800, at + 3
    for quarter in (["a", "quarter", "of", "an", "hour"], ["quarter", "of", "an", "hour"]):
        if words_ahead[: len(quarter)] == quarter:
            return 900, at + len(quarter)
    if at + 1 >= len(items):
        return None, at
    first, unit = items[at], _unit(items[at + 1])
    amount = first.value if isinstance(first, _Number) else 1 if first in ("a", "an") else None
    if amount is None or unit is None:
        return None, at
    end = at + 2
    if [i if isinstance(i, str) else None for i in items[end : end + 3]] == ["and", "a", "half"]:
        amount, end = amount + 0.5, end + 3
    return amount * unit, end


def _unit(item: Any) -> int | None:
    if not isinstance(item, str):
        return None
    return _SECONDS.get(item.removesuffix("s") if item.endswith("s") and item != "s" else item)
