"""Which services the model may call, per domain, and the arguments each takes.

The names are the Home format's (what the model writes); `Argument.ha_field` is what Home
Assistant receives after validation. The published Home models know only the arguments in
COMPAT_ARGUMENTS and the services outside EXTENDED_SERVICES; the compatible prompt preset
shows them nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Argument:
    name: str  # as the model writes it
    ha_field: str  # as Home Assistant's service expects it
    kind: str  # percent | rgb | kelvin | temperature | humidity | option | text | duration | boolean
    options_attribute: str | None = None  # for kind "option": the entity attribute listing choices


ARGUMENTS: dict[str, Argument] = {
    a.name: a
    for a in (
        Argument("brightness", "brightness_pct", "percent"),
        Argument("rgb_color", "rgb_color", "rgb"),
        Argument("color_temp", "color_temp_kelvin", "kelvin"),
        Argument("temperature", "temperature", "temperature"),
        Argument("humidity", "humidity", "humidity"),
        Argument("fan_mode", "fan_mode", "option", "fan_modes"),
        Argument("hvac_mode", "hvac_mode", "option", "hvac_modes"),
        Argument("preset_mode", "preset_mode", "option", "preset_modes"),
        Argument("percentage", "percentage", "percent"),
        Argument("position", "position", "percent"),
        Argument("volume", "volume_level", "percent"),
        Argument("item", "item", "text"),
        Argument("duration", "duration", "duration"),
        Argument("muted", "is_volume_muted", "boolean"),
    )
}

# The argument names the published Home models (v3) were trained with.
COMPAT_ARGUMENTS = frozenset(
    {"brightness", "rgb_color", "temperature", "humidity", "fan_mode", "hvac_mode", "preset_mode", "item", "duration"}
)

_TOGGLES = {"turn_on": (), "turn_off": (), "toggle": ()}

SERVICES: dict[str, dict[str, tuple[str, ...]]] = {
    "light": {"turn_on": ("brightness", "rgb_color", "color_temp"), "turn_off": (), "toggle": ()},
    "switch": dict(_TOGGLES),
    "input_boolean": dict(_TOGGLES),
    "fan": {
        **_TOGGLES,
        "increase_speed": (),
        "decrease_speed": (),
        "set_percentage": ("percentage",),
        "set_preset_mode": ("preset_mode",),
    },
    "cover": {
        "open_cover": (),
        "close_cover": (),
        "stop_cover": (),
        "toggle": (),
        "set_cover_position": ("position",),
    },
    "lock": {"lock": (), "unlock": ()},
    "climate": {
        "turn_on": (),
        "turn_off": (),
        "set_temperature": ("temperature",),
        "set_humidity": ("humidity",),
        "set_fan_mode": ("fan_mode",),
        "set_hvac_mode": ("hvac_mode",),
        "set_preset_mode": ("preset_mode",),
    },
    "media_player": {
        **_TOGGLES,
        "volume_up": (),
        "volume_down": (),
        "volume_set": ("volume",),
        "volume_mute": ("muted",),
        "media_play": (),
        "media_pause": (),
        "media_stop": (),
        "media_play_pause": (),
        "media_next_track": (),
        "media_previous_track": (),
    },
    "vacuum": {"start": (), "stop": (), "pause": (), "return_to_base": ()},
    "todo": {"add_item": ("item",)},
    "timer": {"start": ("duration",), "cancel": (), "pause": ()},
    "script": {"turn_on": ()},
    "scene": {"turn_on": ()},
    "button": {"press": ()},
    "input_button": {"press": ()},
}

# Services the published Home models never saw; the compatible preset leaves them out.
EXTENDED_SERVICES = frozenset(
    {"fan.set_percentage", "cover.set_cover_position", "media_player.volume_set", "media_player.volume_mute"}
)

SUPPORTED_DOMAINS = frozenset(SERVICES)


# For these services every argument is optional (light.turn_on alone switches on); for all
# others the arguments are the point of the call (set_temperature needs a temperature).
_OPTIONAL_ARGUMENT_SERVICES = frozenset({"turn_on", "start"})


def required_arguments(domain: str, service: str) -> tuple[str, ...]:
    return () if service in _OPTIONAL_ARGUMENT_SERVICES else SERVICES[domain][service]


def services_for(domain: str, *, compat: bool = False) -> dict[str, tuple[str, ...]]:
    """Services of a domain with their argument names, as the given preset shows them."""
    result = {}
    for service, args in SERVICES.get(domain, {}).items():
        if compat and f"{domain}.{service}" in EXTENDED_SERVICES:
            continue
        result[service] = tuple(a for a in args if not compat or a in COMPAT_ARGUMENTS)
    return result
