"""The prompt: a system message (persona, services, devices, states) and the turns after
it (in-context examples, earlier exchanges, the request), in two presets.

`home_v3` reproduces the format the published Home models (Home-3B-v3, Home-1B-v3) were
trained on. `home_llm` is our own: it carries areas, aliases and the speaker's area, and
orders everything by how often it changes, so the worker's KV cache of the long stable
head survives: persona, services and devices first; then the states, oldest change first
(a change re-processes only from that entity's line on); then the time and the speaker's
area. The user's words always come alone in the last turn: small untuned models follow the
in-context examples only when the request looks like the examples' requests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .chat_templates import Turn
from .colors import nearest_color_name
from .domains import DOMAINS
from .home import Entity, Home
from .reply import ModelCall, render_reply
from .services import SERVICES, services_for

DEFAULT_PERSONA = "Al"
PERSONA_TEMPLATE = (
    "You are '{name}', a helpful AI Assistant that controls the devices in a house. "
    "Complete the following task as instructed with the information provided only."
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


PRESETS: dict[str, PromptPreset] = {
    "home_llm": PromptPreset("home_llm", compat=False),
    "home_v3": PromptPreset("home_v3", compat=True),
}
DEFAULT_PRESET = "home_llm"

_UNSAFE = re.compile(r"[`\r\n\t]+|\s{2,}")


def clean_text(text: str) -> str:
    """Names come from users and integrations: keep them on one line and free of fences."""
    return _UNSAFE.sub(" ", str(text)).strip()


def format_time(now: datetime) -> str:
    return now.strftime("%I:%M %p on %A %B %d, %Y").replace(" 0", " ")


def render_state(entity: Entity, attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES, temperature_unit: str = "°C") -> str:
    """`on;80%;red (255, 0, 0)`: the state, then the shown attributes the way Home models read them."""
    attrs = entity.attributes
    parts = [clean_text(entity.state)]

    def show(key: str) -> bool:
        return key in attributes and attrs.get(key) is not None

    if show("brightness"):
        parts.append(f"{round(attrs['brightness'] * 100 / 255)}%")
    if show("rgb_color"):
        red, green, blue = (int(c) for c in attrs["rgb_color"])
        rgb = (red, green, blue)
        parts.append(f"{nearest_color_name(rgb)} {rgb}")
    if show("color_temp_kelvin"):
        parts.append(f"{attrs['color_temp_kelvin']}K")
    if show("percentage"):
        parts.append(f"{attrs['percentage']}%")
    if show("current_position"):
        parts.append(f"position {attrs['current_position']}%")
    if show("temperature"):
        parts.append(f"{_number(attrs['temperature'])}{temperature_unit}")
    if show("current_temperature"):
        parts.append(f"currently {_number(attrs['current_temperature'])}{temperature_unit}")
    if show("humidity"):
        parts.append(f"{_number(attrs['humidity'])}%")
    if show("fan_mode"):
        parts.append(f"fan {clean_text(attrs['fan_mode'])}")
    if show("mode"):
        parts.append(f"mode {clean_text(attrs['mode'])}")
    if show("media_title"):
        parts.append(f"'{clean_text(attrs['media_title'])}'")
    if show("volume_level"):
        parts.append(f"vol={round(attrs['volume_level'] * 100)}")
    if show("unit_of_measurement"):
        parts[0] = f"{parts[0]} {clean_text(attrs['unit_of_measurement'])}"
    known = set(DEFAULT_ATTRIBUTES)
    for key in attributes:  # extra attributes the user chose to expose
        if key not in known and attrs.get(key) is not None:
            parts.append(f"{key}={clean_text(attrs[key])}")
    return ";".join(parts)


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

    lines = [persona_line, render_services(home, compat=False), "Devices:"]
    lines += [_device_label(e, compat=False) for e in home.entities]
    lines.append("States:")
    by_age = sorted(home.entities, key=lambda e: e.last_changed)  # stable: ties keep device order
    lines += [f"{e.entity_id} = {state[e.entity_id]}" for e in by_age]
    lines.append(_time_line(now))
    if user_area:
        lines.append(f"The user is in the {clean_text(user_area)}.")
    return "\n".join(lines)


def render_turns(text: str, *, home: Home, examples: int = 0, history: Sequence[Turn] = ()) -> list[Turn]:
    """Everything after the system message: in-context examples, earlier exchanges of this
    conversation, then the user's words."""
    return [*render_examples(home, examples), *history, ("user", text)]


def _time_line(now: datetime) -> str:
    return f"The current time and date is {format_time(now)}"


def render_examples(home: Home, count: int) -> list[Turn]:
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
        turns.append(("assistant", render_reply(example.reply.format(name=name), [call])))
    return turns
