"""Checks every call the model wrote before anything runs, and translates it into Home
Assistant's own service and field names. The model is untrusted: a call runs only if it
names an exposed entity, a service allowed for that entity's domain and in-range arguments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .colors import COLOR_MODES, COLORS, rgb_of
from .home import Entity, Home, ServiceCall
from .reply import ModelCall
from .services import ARGUMENTS, SERVICES, Argument, required_arguments


@dataclass(frozen=True)
class Rejection:
    call: ModelCall
    reason: str  # a plain sentence for the user


class _Invalid(Exception):
    """A reason to reject a call, phrased for the user."""


def validate_calls(home: Home, calls: list[ModelCall]) -> tuple[list[ServiceCall], list[Rejection]]:
    valid: list[ServiceCall] = []
    rejected: list[Rejection] = []
    for call in calls:
        try:
            checked = validate_call(home, call)
        except _Invalid as err:
            rejected.append(Rejection(call, str(err)))
            continue
        if checked not in valid:  # the same call written twice runs once (twice would undo a toggle)
            valid.append(checked)
    return valid, rejected


def validate_call(home: Home, call: ModelCall) -> ServiceCall:
    """The HA service call for `call`, or _Invalid saying why it must not run."""
    entity = _resolve_target(home, call.target)
    domain, _, service = call.service.partition(".")
    if not service:  # "turn_on" alone: the target's domain is meant
        domain, service = entity.domain, domain
    if domain != entity.domain:
        raise _Invalid(f"{entity.name} is a {_domain_word(entity.domain)}, so I can't use {call.service} on it.")
    allowed = SERVICES.get(domain, {})
    if service not in allowed:
        raise _Invalid(f"I can't do {domain}.{service} on {entity.name}.")
    data: dict[str, Any] = {}
    for key, value in call.arguments.items():
        if key not in allowed[service]:
            raise _Invalid(f"{domain}.{service} doesn't take '{key}', so I didn't change {entity.name}.")
        argument = ARGUMENTS[key]
        data[argument.ha_field] = _check_value(argument, value, entity)
    missing = [a for a in required_arguments(domain, service) if a not in call.arguments]
    if missing:
        raise _Invalid(f"{domain}.{service} needs a {missing[0].replace('_', ' ')}, so I didn't change {entity.name}.")
    _check_capabilities(entity, data)
    return ServiceCall(domain, service, entity.entity_id, data)


def to_model_call(call: ServiceCall) -> ModelCall:
    """The inverse translation: how the model should write a given HA call (for training data)."""
    by_field = {a.ha_field: a for a in ARGUMENTS.values()}
    arguments = {}
    for ha_field, value in call.data.items():
        argument = by_field[ha_field]
        if argument.ha_field == "volume_level":
            value = round(value * 100)
        arguments[argument.name] = list(value) if isinstance(value, tuple) else value
    return ModelCall(call.name, call.entity_id, arguments)


def find_target(home: Home, target: str) -> Entity | None:
    """The device a call names: its entity id or, unambiguously, its name or an alias
    (without grammar, models sometimes write the name instead of the id)."""
    entity = home.get(target)
    if entity is not None:
        return entity
    wanted = target.strip().lower()
    matches = [e for e in home.entities if wanted in {e.name.lower(), *(a.lower() for a in e.aliases)}]
    return matches[0] if len(matches) == 1 else None


def _resolve_target(home: Home, target: str) -> Entity:
    entity = find_target(home, target)
    if entity is None:
        raise _Invalid(f"I can't find a device called {target!r} among the devices I can control.")
    return entity


def _domain_word(domain: str) -> str:
    return domain.replace("_", " ")


def _check_value(argument: Argument, value: Any, entity: Entity) -> Any:
    attrs = entity.attributes
    name = argument.name.replace("_", " ")
    match argument.kind:
        case "percent":
            pct = _percent(value, name)
            return round(pct / 100, 2) if argument.ha_field == "volume_level" else pct
        case "rgb":
            return _rgb(value)
        case "kelvin":
            return round(_in_range(_number(value, name), *_limits(argument, attrs), name, "K"))
        case "temperature":
            return _in_range(_number(value, name), *_limits(argument, attrs), name, "°")
        case "humidity":
            return _in_range(_number(value, name), *_limits(argument, attrs), name, "%")
        case "option":
            return _option(value, choices_of(entity, argument.options_attribute or ""), name, entity)
        case "text":
            if not isinstance(value, str) or not value.strip() or len(value) > 255:
                raise _Invalid(f"The {name} must be a short piece of text.")
            return value.strip()
        case "duration":
            return _duration(value)
        case "boolean":
            if not isinstance(value, bool):
                raise _Invalid(f"'{name}' must be true or false, not {value!r}.")
            return value
    raise AssertionError(f"unknown argument kind {argument.kind}")


def _limits(argument: Argument, attrs: Mapping[str, Any]) -> tuple[float, float]:
    """The entity's own limits for a number (min_temp/max_temp, ...), else the argument's."""
    assert argument.limit_attributes is not None and argument.default_limits is not None
    (low_key, high_key), (low, high) = argument.limit_attributes, argument.default_limits
    own = attrs.get(low_key), attrs.get(high_key)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in own):
        return own  # type: ignore[return-value]
    return low, high  # none, or ones a third-party integration got wrong


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise _Invalid(f"The {name} must be a number, not {value!r}.")
    if isinstance(value, str):
        value = value.strip().rstrip("%°CFK ").strip()
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past float's range
        raise _Invalid(f"The {name} must be a number, not {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _Invalid(f"The {name} must be a number, not {value!r}.")
    return number


def _percent(value: Any, name: str) -> int:
    number = _number(value, name)
    # Models trained on 0-1 fractions write 0.5 for half; an integer 1 still means 1 %.
    if isinstance(value, float) and 0 <= value <= 1:
        number *= 100
    return round(_in_range(number, 0, 100, name, "%"))


def _in_range(number: float, low: float, high: float, name: str, unit: str) -> float:
    if not low <= number <= high:
        raise _Invalid(f"The {name} must be between {_fmt(low)}{unit} and {_fmt(high)}{unit}, not {_fmt(number)}{unit}.")
    return int(number) if number.is_integer() else number


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _rgb(value: Any) -> list[int]:
    if isinstance(value, str):
        named = rgb_of(value)
        if named is not None:
            return list(named)
        value = re.findall(r"-?\d+(?:\.\d+)?", value)
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise _Invalid(f"I don't know the colour {value!r}; try one of: {', '.join(sorted(COLORS))}.")
    channels = [_number(c, "colour") for c in value]
    if not all(0 <= c <= 255 for c in channels):
        raise _Invalid("Each colour channel must be between 0 and 255.")
    return [round(c) for c in channels]


def _option(value: Any, choices: list[str], name: str, entity: Entity) -> str:
    if not choices:
        raise _Invalid(f"{entity.name} has no {name}s to choose from.")
    for choice in choices:
        if isinstance(value, str) and value.strip().lower() == str(choice).lower():
            return choice
    raise _Invalid(f"{entity.name} can't use {name} {value!r}; it offers {', '.join(map(str, choices))}.")


_UNITS = {"h": 3600, "hour": 3600, "m": 60, "min": 60, "minute": 60, "s": 1, "sec": 1, "second": 1}


def _duration(value: Any) -> str:
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d{1,2}(:\d{1,2}){1,2}", text):
            parts = [int(p) for p in text.split(":")]
            parts = [0] * (3 - len(parts)) + parts
            seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
        else:
            found = re.findall(r"(\d+(?:\.\d+)?)\s*(hour|h|minute|min|m|second|sec|s)s?\b", text)
            if found:
                seconds = sum(float(n) * _UNITS[u] for n, u in found)
    if seconds is not None and math.isfinite(seconds):
        seconds = round(seconds)  # before the check: 0.4 s would be a timer of 00:00:00
    if seconds is None or not 0 < seconds <= 24 * 3600:
        raise _Invalid(f"A timer needs a duration between 1 second and 24 hours, not {value!r}.")
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def choices_of(entity: Entity, attribute: str) -> list[str]:
    """The choices an entity lists in an attribute (hvac_modes, ...): strings of a list, else none."""
    value = entity.attributes.get(attribute)
    if not isinstance(value, (list, tuple)):
        return []
    return [c for c in value if isinstance(c, str) and c.strip()]


def _check_capabilities(entity: Entity, data: dict[str, Any]) -> None:
    modes = entity.attributes.get("supported_color_modes")
    if entity.domain != "light" or not isinstance(modes, (list, tuple, set, frozenset)):
        return
    modes = {m for m in modes if isinstance(m, str)}
    if "brightness_pct" in data and modes <= {"onoff"}:
        raise _Invalid(f"{entity.name} can only be switched on and off, not dimmed.")
    if "rgb_color" in data and not modes & COLOR_MODES:
        raise _Invalid(f"{entity.name} can't change colour.")
    if "color_temp_kelvin" in data and "color_temp" not in modes:
        raise _Invalid(f"{entity.name} can't change its colour temperature.")
