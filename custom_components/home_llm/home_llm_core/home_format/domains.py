"""The domain table: everything the format knows about each Home Assistant domain, in one entry.

An entry gives the services the model may call with their arguments (the arguments themselves,
with their ranges and defaults, are in ARGUMENTS), the services the published Home models never
saw, how the reply says what a service did, what a call does to the state (effects.py), and the
in-context example. The prompt, grammar, validator, replies and the data generator all read it:
adding a domain is one entry here plus its piles (data/README.md).

How states and attributes render is per attribute, not per domain (prompt.render_state): a
domain's entities show whichever of the shown attributes they carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from . import effects
from .effects import Effect
from .home import Entity, ServiceCall


@dataclass(frozen=True)
class Argument:
    name: str  # as the model writes it
    ha_field: str  # as Home Assistant's service expects it
    kind: str  # percent | rgb | kelvin | temperature | humidity | option | text | duration | boolean
    options_attribute: str | None = None  # for kind "option": the entity attribute listing choices
    # For numbers: the entity attributes holding its limits, and the limits when it has none.
    limit_attributes: tuple[str, str] | None = None
    default_limits: tuple[float, float] | None = None


ARGUMENTS: dict[str, Argument] = {
    a.name: a
    for a in (
        Argument("brightness", "brightness_pct", "percent"),
        Argument("rgb_color", "rgb_color", "rgb"),
        Argument(
            "color_temp", "color_temp_kelvin", "kelvin", None, ("min_color_temp_kelvin", "max_color_temp_kelvin"), (1500, 9000)
        ),
        Argument("temperature", "temperature", "temperature", None, ("min_temp", "max_temp"), (-50, 100)),
        Argument("humidity", "humidity", "humidity", None, ("min_humidity", "max_humidity"), (0, 100)),
        Argument("fan_mode", "fan_mode", "option", "fan_modes"),
        Argument("hvac_mode", "hvac_mode", "option", "hvac_modes"),
        Argument("preset_mode", "preset_mode", "option", "preset_modes"),
        Argument("percentage", "percentage", "percent"),
        Argument("position", "position", "percent"),
        Argument("volume", "volume_level", "percent"),
        Argument("item", "item", "text"),
        Argument("duration", "duration", "duration"),
        Argument("muted", "is_volume_muted", "boolean"),
        Argument("mode", "mode", "option", "available_modes"),
        Argument("operation_mode", "operation_mode", "option", "operation_list"),
    )
}

# The argument names the published Home models (v3) were trained with.
COMPAT_ARGUMENTS = frozenset(
    {"brightness", "rgb_color", "temperature", "humidity", "fan_mode", "hvac_mode", "preset_mode", "item", "duration"}
)


@dataclass(frozen=True)
class Example:
    """An in-context example: the user's words, the call and the reply; {name} is the device's."""

    words: str
    service: str
    arguments: Mapping[str, Any]
    reply: str


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Domain:
    services: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # service -> argument names
    done: Mapping[str, str] = field(default_factory=dict)  # service -> how a reply says it ("turned off")
    effect: Effect | None = None  # what a call does to (state, attributes)
    new_services: frozenset[str] = frozenset()  # ones the published Home models never saw
    example: Example | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", _frozen(self.services))
        object.__setattr__(self, "done", _frozen(self.done))
        unknown = (set(self.done) | self.new_services) - set(self.services)
        assert not unknown, f"not a service of this domain: {sorted(unknown)}"
        assert all(a in ARGUMENTS for args in self.services.values() for a in args)


_ON_OFF = {"turn_on": (), "turn_off": (), "toggle": ()}
_ON_OFF_DONE = {"turn_on": "turned on", "turn_off": "turned off", "toggle": "toggled"}

DOMAINS: dict[str, Domain] = {
    "light": Domain(
        {"turn_on": ("brightness", "rgb_color", "color_temp"), "turn_off": (), "toggle": ()},
        _ON_OFF_DONE,
        effects.light,
        example=Example("turn on the {name}", "turn_on", {}, "Turning on the {name}."),
    ),
    "switch": Domain(
        _ON_OFF,
        _ON_OFF_DONE,
        effects.on_off,
        example=Example("switch off the {name}", "turn_off", {}, "Switching off the {name}."),
    ),
    "input_boolean": Domain(_ON_OFF, _ON_OFF_DONE, effects.on_off),
    "fan": Domain(
        {
            **_ON_OFF,
            "increase_speed": (),
            "decrease_speed": (),
            "set_percentage": ("percentage",),
            "set_preset_mode": ("preset_mode",),
        },
        {**_ON_OFF_DONE, "set_percentage": "set the speed of"},
        effects.fan,
        new_services=frozenset({"set_percentage"}),
        example=Example("turn on the {name}", "turn_on", {}, "Turning on the {name}."),
    ),
    "cover": Domain(
        {"open_cover": (), "close_cover": (), "stop_cover": (), "toggle": (), "set_cover_position": ("position",)},
        {
            "open_cover": "opened",
            "close_cover": "closed",
            "stop_cover": "stopped",
            "set_cover_position": "moved",
            "toggle": "toggled",
        },
        effects.cover,
        new_services=frozenset({"set_cover_position"}),
        example=Example("open the {name}", "open_cover", {}, "Opening the {name}."),
    ),
    "lock": Domain(
        {"lock": (), "unlock": ()},
        {"lock": "locked", "unlock": "unlocked"},
        effects.lock,
        example=Example("lock the {name}", "lock", {}, "Locking the {name}."),
    ),
    "climate": Domain(
        {
            "turn_on": (),
            "turn_off": (),
            "set_temperature": ("temperature",),
            "set_humidity": ("humidity",),
            "set_fan_mode": ("fan_mode",),
            "set_hvac_mode": ("hvac_mode",),
            "set_preset_mode": ("preset_mode",),
        },
        {
            "turn_on": "turned on",
            "turn_off": "turned off",
            "set_temperature": "set the temperature of",
            "set_hvac_mode": "changed the mode of",
        },
        effects.climate,
        example=Example(
            "set the {name} to 21 degrees", "set_temperature", {"temperature": 21}, "Setting the {name} to 21 degrees."
        ),
    ),
    "media_player": Domain(
        {
            **_ON_OFF,
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
        {**_ON_OFF_DONE, "media_play": "played", "media_pause": "paused", "media_stop": "stopped"},
        effects.media_player,
        new_services=frozenset({"volume_set", "volume_mute"}),
        example=Example("pause the {name}", "media_pause", {}, "Pausing the {name}."),
    ),
    "vacuum": Domain(
        {"start": (), "stop": (), "pause": (), "return_to_base": ()},
        {"start": "started"},
        effects.vacuum,
        example=Example("start the {name}", "start", {}, "Starting the {name}."),
    ),
    "todo": Domain({"add_item": ("item",)}, {"add_item": "added to"}, effects.todo),
    "timer": Domain({"start": ("duration",), "cancel": (), "pause": ()}, {"start": "started"}, effects.timer),
    "script": Domain({"turn_on": ()}, {"turn_on": "turned on"}, example=Example("run {name}", "turn_on", {}, "Running {name}.")),
    "scene": Domain(
        {"turn_on": ()}, {"turn_on": "turned on"}, example=Example("activate {name}", "turn_on", {}, "Activating {name}.")
    ),
    "button": Domain({"press": ()}, {"press": "pressed"}),
    "input_button": Domain({"press": ()}, {"press": "pressed"}),
    # Domains the published Home models never saw: all their services are new.
    "valve": Domain(
        {"open_valve": (), "close_valve": (), "set_valve_position": ("position",)},
        {"open_valve": "opened", "close_valve": "closed", "set_valve_position": "moved"},
        effects.valve,
        new_services=frozenset({"open_valve", "close_valve", "set_valve_position"}),
    ),
    "humidifier": Domain(
        {"turn_on": (), "turn_off": (), "set_humidity": ("humidity",), "set_mode": ("mode",)},
        {
            "turn_on": "turned on",
            "turn_off": "turned off",
            "set_humidity": "set the humidity of",
            "set_mode": "changed the mode of",
        },
        effects.humidifier,
        new_services=frozenset({"turn_on", "turn_off", "set_humidity", "set_mode"}),
    ),
    "water_heater": Domain(
        {"set_temperature": ("temperature",), "set_operation_mode": ("operation_mode",)},
        {"set_temperature": "set the temperature of", "set_operation_mode": "changed the mode of"},
        effects.water_heater,
        new_services=frozenset({"set_temperature", "set_operation_mode"}),
    ),
    "alarm_control_panel": Domain(
        {"alarm_arm_home": (), "alarm_arm_away": (), "alarm_disarm": ()},
        {"alarm_arm_home": "armed", "alarm_arm_away": "armed", "alarm_disarm": "disarmed"},
        effects.alarm_control_panel,
        new_services=frozenset({"alarm_arm_home", "alarm_arm_away", "alarm_disarm"}),
    ),
    "lawn_mower": Domain(
        {"start_mowing": (), "pause": (), "dock": ()},
        {"start_mowing": "started", "pause": "paused", "dock": "docked"},
        effects.lawn_mower,
        new_services=frozenset({"start_mowing", "pause", "dock"}),
    ),
}


# Services that set a state: on the device already in it, they change nothing.
_SETS_STATE = frozenset(
    {
        "turn_on",
        "turn_off",
        "lock",
        "unlock",
        "open_cover",
        "close_cover",
        "open_valve",
        "close_valve",
        "media_play",
        "media_pause",
    }
)


# Services that change nothing in these states, where the effect alone can't tell: a vacuum
# sent home shows "returning" until it is "docked"; a playing player is on already.
_ALREADY_IN = {
    ("vacuum", "return_to_base"): frozenset({"docked"}),
    ("vacuum", "start"): frozenset({"cleaning"}),
    ("vacuum", "pause"): frozenset({"paused"}),
    ("lawn_mower", "dock"): frozenset({"docked"}),
    ("lawn_mower", "start_mowing"): frozenset({"mowing"}),
    ("lawn_mower", "pause"): frozenset({"paused"}),
    ("timer", "pause"): frozenset({"paused"}),
    ("alarm_control_panel", "alarm_arm_home"): frozenset({"armed_home"}),
    ("alarm_control_panel", "alarm_arm_away"): frozenset({"armed_away"}),
    ("alarm_control_panel", "alarm_disarm"): frozenset({"disarmed"}),
    ("media_player", "turn_on"): frozenset({"on", "playing", "paused", "idle", "buffering"}),
}


def changes_nothing(entity: Entity, call: ServiceCall) -> bool:
    """Whether the call only asks for the state the device is in ("turn off" on an off light),
    by the domain's own effect; calls with arguments, or whose effect isn't modelled, may change something."""
    domain = DOMAINS.get(call.domain)
    if call.data or domain is None:
        return False
    if (call.domain, call.service) in _ALREADY_IN:
        return entity.state in _ALREADY_IN[(call.domain, call.service)]
    if call.service not in _SETS_STATE or domain.effect is None:
        return False
    return apply_call(entity, call, 0).state == entity.state  # attributes: HA's off light lists brightness None


def apply_call(entity: Entity, call: ServiceCall, now_ts: int) -> Entity:
    """The entity after `call` ran, as Home Assistant would report it (changed at now_ts)."""
    state, attrs = entity.state, dict(entity.attributes)
    service = call.service
    if service == "toggle":
        if call.domain == "cover":
            service = "close_cover" if state == "open" else "open_cover"
        else:
            service = "turn_off" if state != "off" else "turn_on"
    domain = DOMAINS.get(call.domain)
    if domain is not None and domain.effect is not None:
        state, attrs = domain.effect(service, dict(call.data), state, attrs)
    if state == entity.state and attrs == dict(entity.attributes):
        return entity
    return replace(entity, state=state, attributes=attrs, last_changed=now_ts)
