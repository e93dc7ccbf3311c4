"""The prompt: a system message (persona, services, devices, states) and the turns after
it (in-context examples, earlier exchanges, the request), in three presets.

`home_v3` reproduces the format the published Home models (Home-3B-v3, Home-1B-v3) were
trained on. `home_llm` is our own (Home LLM v1's): it carries areas, aliases and the speaker's
area, and orders everything by how often it changes, so the worker's KV cache of the long
stable head survives: persona, services and devices first; then the states, oldest change
first (a change re-processes only from that entity's line on); then the time and the
speaker's area. The user's words always come alone in the last turn: small untuned models
follow the in-context examples only when the request looks like the examples' requests.

`home_llm_v2` is for a model trained on it (Home LLM v2). Its first decision is act or answer:
a command gets its calls only, one JSON object per line (the integration confirms what ran,
confirm.py), anything else one sentence. Its prompt is compact: no service list (the model
learns the services; the grammar allows only the right ones), each device once with the
capabilities a refusal depends on (dims, colour, temperature limits, modes), floors as well
as areas, states without the colour's RGB. It keeps v1's order (what changes often last):
after a state change only that state's line onwards is processed again, where any other
order would re-process most of the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .chat_templates import Turn
from .colors import COLOR_MODES, nearest_color_name
from .domains import DOMAINS
from .home import Entity, Home
from .reply import ModelCall, render_reply
from .services import SERVICES, services_for

DEFAULT_PERSONA = "Al"
PERSONA_TEMPLATE = (
    "You are '{name}', a helpful AI Assistant that controls the devices in a house. "
    "Complete the following task as instructed with the information provided only."
)
PERSONA_TEMPLATE_V2 = (
    "You are '{name}', the voice assistant of this home. "
    "For a command write only its calls, one JSON object per line; otherwise answer in one sentence."
)

# Attributes shown on device lines unless the user configures others.
DEFAULT_ATTRIBUTES = (
    "brightness",
    "rgb_color",
    "color_temp_kelvin",
    "temperature",
    "current_temperature",
    "humidity",
    "fan_mode",
    "percentage",
    "current_position",
    "media_title",
    "volume_level",
    "unit_of_measurement",
    "mode",
)


@dataclass(frozen=True)
class PromptPreset:
    id: str
    compat: bool  # True: exactly what the published Home models saw
    calls_only: bool = False  # True: a command's reply is its calls, without a sentence (v2)
    floors: bool = False  # True: the prompt says which floor each area is on
    capabilities: bool = False  # True: device lines say what a device can do (dims, colour, limits)


PRESETS: dict[str, PromptPreset] = {
    "home_llm": PromptPreset("home_llm", compat=False),
    "home_llm_v2": PromptPreset("home_llm_v2", compat=False, calls_only=True, floors=True, capabilities=True),
    "home_v3": PromptPreset("home_v3", compat=True),
}
DEFAULT_PRESET = "home_llm"

_UNSAFE = re.compile(r"[`\r\n\t]+|\s{2,}")


def clean_text(text: str) -> str:
    """Names come from users and integrations: keep them on one line and free of fences."""
    return _UNSAFE.sub(" ", str(text)).strip()


def format_time(now: datetime) -> str:
    return now.strftime("%I:%M %p on %A %B %d, %Y").replace(" 0", " ")


def render_state(
    entity: Entity, attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES, temperature_unit: str = "°C", *, compact: bool = False
) -> str:
    """`on;80%;red (255, 0, 0)`: the state, then the shown attributes the way Home models read
    them; compact (v2): `on 80% red`."""
    attrs = entity.attributes
    parts = [clean_text(entity.state)]

    def text(key: str) -> str | None:
        """The attribute as one clean line if it is a string (or a whole number), else None."""
        value = attrs.get(key) if key in attributes else None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        return clean_text(str(value)) or None

    def number(key: str, low: float = -1e6, high: float = 1e6) -> float | None:
        """The attribute if it is a real number in [low, high], else None: attributes come from
        third-party integrations, and a value of another type or range is left out."""
        value = attrs.get(key) if key in attributes else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            return None  # also NaN, which no comparison admits
        return value

    if (brightness := number("brightness", 0, 255)) is not None:
        parts.append(f"{round(brightness * 100 / 255)}%")
    if (rgb := _rgb(attrs.get("rgb_color") if "rgb_color" in attributes else None)) is not None:
        parts.append(nearest_color_name(rgb) if compact else f"{nearest_color_name(rgb)} {rgb}")
    if (kelvin := number("color_temp_kelvin", 0, 100_000)) is not None:
        parts.append(f"{_number(kelvin)}K")
    if (percentage := number("percentage", 0, 100)) is not None:
        parts.append(f"{_number(percentage)}%")
    if (position := number("current_position", 0, 100)) is not None:
        parts.append(f"{'at' if compact else 'position'} {_number(position)}%")
    if (target := number("temperature")) is not None:
        parts.append(f"{_number(target)}{temperature_unit}")
    if (current := number("current_temperature")) is not None:
        parts.append(f"{'now' if compact else 'currently'} {_number(current)}{temperature_unit}")
    if (humidity := number("humidity", 0, 100)) is not None:
        parts.append(f"{_number(humidity)}%")
    if (fan_mode := text("fan_mode")) is not None:
        parts.append(f"fan {fan_mode}")
    if (mode := text("mode")) is not None:
        parts.append(f"mode {mode}")
    if (title := text("media_title")) is not None:
        parts.append(f"'{title}'")
    if (volume := number("volume_level", 0, 1)) is not None:
        parts.append(f"vol={round(volume * 100)}")
    if (unit := text("unit_of_measurement")) is not None:
        parts[0] = f"{parts[0]} {unit}"
    known = set(DEFAULT_ATTRIBUTES)
    for key in attributes:  # extra attributes the user chose to expose
        if key not in known and attrs.get(key) is not None:
            parts.append(f"{key}={clean_text(attrs[key])}")
    return (" " if compact else ";").join(parts)


def _rgb(value: object) -> tuple[int, int, int] | None:
    """An (r, g, b) colour of three numbers 0-255, else None."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c <= 255 for c in value):
        return None
    red, green, blue = (int(c) for c in value)
    return red, green, blue


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_services(home: Home, *, compat: bool) -> str:
    domains = list(dict.fromkeys(e.domain for e in home.entities if e.domain in SERVICES))
    calls = [
        f"{domain}.{service}({','.join(args)})"
        for domain in domains
        for service, args in services_for(domain, compat=compat).items()
    ]
    return "Services: " + ", ".join(calls)


def _device_label(entity: Entity, *, compat: bool) -> str:
    label = f"{entity.entity_id} '{clean_text(entity.name)}'"
    if compat:
        return label
    if entity.area:
        label += f" ({clean_text(entity.area)})"
    if entity.aliases:
        label += " aliases: " + ", ".join(clean_text(a) for a in entity.aliases)
    return label


def render_system_prompt(
    home: Home,
    *,
    now: datetime,
    preset: str = DEFAULT_PRESET,
    persona: str = DEFAULT_PERSONA,
    user_area: str | None = None,
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES,
) -> str:
    persona_line = PERSONA_TEMPLATE.format(name=clean_text(persona))
    state = {e.entity_id: render_state(e, attributes, home.temperature_unit) for e in home.entities}

    if PRESETS[preset].compat:
        lines = [persona_line, _time_line(now), render_services(home, compat=True), "Devices:"]
        lines += [f"{_device_label(e, compat=True)} = {state[e.entity_id]}" for e in home.entities]
        return "\n".join(lines)
    if PRESETS[preset].calls_only:
        return _render_v2(home, now=now, persona=persona, user_area=user_area, attributes=attributes)

    lines = [persona_line, render_services(home, compat=False), "Devices:"]
    lines += [_device_label(e, compat=False) for e in home.entities]
    lines.append("States:")
    by_age = sorted(home.entities, key=lambda e: e.last_changed)  # stable: ties keep device order
    lines += [f"{e.entity_id} = {state[e.entity_id]}" for e in by_age]
    lines.append(_time_line(now))
    if user_area:
        lines.append(f"The user is in the {clean_text(user_area)}.")
    return "\n".join(lines)


# Their state is a time stamp or "unknown": nothing a request depends on.
_STATELESS_DOMAINS = frozenset({"button", "input_button", "scene"})


def _render_v2(home: Home, *, now: datetime, persona: str, user_area: str | None, attributes: tuple[str, ...]) -> str:
    lines = [PERSONA_TEMPLATE_V2.format(name=clean_text(persona)), "Devices:"]
    area: object = object()  # devices come grouped by area (in_prompt_order): one heading per area
    for entity in home.entities:
        if entity.area != area:
            area = entity.area
            floor = home.floors.get(entity.area) if entity.area else None
            heading = clean_text(entity.area) if entity.area else "No area"
            lines.append(f"{heading} ({clean_text(floor)}):" if floor else f"{heading}:")
        label = entity.entity_id
        if _slug(entity.name) != entity.entity_id.split(".", 1)[1]:  # a name the id doesn't already spell
            label += f" '{clean_text(entity.name)}'"
        if entity.aliases:
            label += " aliases: " + ", ".join(clean_text(a) for a in entity.aliases)
        abilities = capabilities(entity, home.temperature_unit)
        lines.append(f"{label} [{', '.join(abilities)}]" if abilities else label)
    lines.append("States:")
    for entity in sorted(home.entities, key=lambda e: e.last_changed):  # stable: ties keep device order
        if entity.domain not in _STATELESS_DOMAINS:
            lines.append(f"{entity.entity_id} {render_state(entity, attributes, home.temperature_unit, compact=True)}")
    lines.append(f"Time: {format_time(now)}")
    if user_area:
        lines.append(f"The user is in the {clean_text(user_area)}.")
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def capabilities(entity: Entity, temperature_unit: str = "°C") -> list[str]:
    """What a device can do beyond on and off, as far as a request may depend on it: whether
    a light dims and takes colours, a thermostat's limits and modes. They change rarely, so
    they sit on the cached device line."""
    attrs = entity.attributes
    found: list[str] = []
    modes = attrs.get("supported_color_modes")
    if entity.domain == "light" and isinstance(modes, (list, tuple, set)):
        modes = set(modes)
        if modes <= {"onoff"}:
            found.append("on/off only")
        else:
            found.append("dims")
        if modes & COLOR_MODES:
            found.append("colour")
        if "color_temp" in modes and _numbers(attrs, "min_color_temp_kelvin", "max_color_temp_kelvin"):
            found.append(f"white {_number(attrs['min_color_temp_kelvin'])}-{_number(attrs['max_color_temp_kelvin'])}K")
    if _numbers(attrs, "min_temp", "max_temp"):
        found.append(f"{_number(attrs['min_temp'])}-{_number(attrs['max_temp'])}{temperature_unit}")
    if _numbers(attrs, "min_humidity", "max_humidity"):
        found.append(f"humidity {_number(attrs['min_humidity'])}-{_number(attrs['max_humidity'])}%")
    if "current_position" in attrs and entity.domain in ("cover", "valve"):
        found.append("position")
    for key, word in (
        ("hvac_modes", "modes"),
        ("operation_list", "modes"),
        ("available_modes", "modes"),
        ("fan_modes", "fan"),
        ("preset_modes", "presets"),
    ):
        choices = attrs.get(key)
        if isinstance(choices, (list, tuple)) and choices:
            found.append(f"{word} {'/'.join(clean_text(c) for c in choices)}")
    return found


def _numbers(attrs: Mapping[str, Any], *keys: str) -> bool:
    return all(isinstance(attrs.get(k), (int, float)) and not isinstance(attrs.get(k), bool) for k in keys)


def render_turns(
    text: str, *, home: Home, examples: int = 0, history: Sequence[Turn] = (), calls_only: bool = False
) -> list[Turn]:
    """Everything after the system message: in-context examples, earlier exchanges of this
    conversation, then the user's words."""
    return [*render_examples(home, examples, calls_only=calls_only), *history, ("user", text)]


def _time_line(now: datetime) -> str:
    return f"The current time and date is {format_time(now)}"


def render_examples(home: Home, count: int, *, calls_only: bool = False) -> list[Turn]:
    """In-context examples built from this home, one per domain in device order, as chat
    turns (small untuned models imitate turns far better than examples in prose).

    They depend only on names (never on states), so they stay in the cached prompt head.
    One shows a refusal, so the model learns that "no call" is an answer too.
    """
    if count <= 0:
        return []
    chosen: dict[str, Entity] = {}
    for entity in home.entities:
        entry = DOMAINS.get(entity.domain)
        if entry is not None and entry.example is not None and entity.domain not in chosen:
            chosen[entity.domain] = entity
    # The refusal goes first: small models copy the example nearest the request most.
    turns: list[Turn] = [("user", "turn on the sauna"), ("assistant", render_reply("There is no sauna in this house.", []))]
    for domain, entity in list(chosen.items())[: max(count - 1, 0)]:
        example = DOMAINS[domain].example
        assert example is not None
        name = clean_text(entity.name)
        call = ModelCall(f"{domain}.{example.service}", entity.entity_id, dict(example.arguments))
        turns.append(("user", example.words.format(name=name)))
        turns.append(("assistant", render_reply(example.reply.format(name=name), [call], calls_only=calls_only)))
    return turns
