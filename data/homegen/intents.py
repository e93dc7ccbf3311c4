"""Intents: what a request asks one device to do. For each: the domains it fits, the Home
Assistant call it expects (HA's own service and field names) and when the device is
already in the asked state, so a refusal says so instead of calling anything."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from home_llm_core.home_format import ServiceCall, to_model_call
from home_llm_core.home_format.colors import COLOR_MODES, COLORS
from home_llm_core.home_format.domains import DOMAINS
from home_llm_core.home_format.relative import BRIGHTNESS_STEPS, TEMPERATURE_STEPS
from home_llm_core.home_format.services import services_for

from .homes import Device
from .languages.en import English

# Domains switched on and off with turn_on / turn_off (scripts and scenes only start).
ON_OFF_DOMAINS = frozenset(name for name, d in DOMAINS.items() if {"turn_on", "turn_off"} <= set(d.services))
# Relative changes ("a bit brighter") move a value by the format module's steps (relative.py),
# which the agent computes the same way.


@dataclass(frozen=True)
class Action:
    """One device, one intent, the call it expects (None: already in that state)."""

    intent: str
    device: Device
    call: ServiceCall | None
    slots: dict[str, tuple[str, object]] = field(default_factory=dict)  # template slot -> (value kind, raw value)
    reply_value: str | None = None  # the value as a reply writes it ("40%")
    state_word: str | None = None  # the state an "already" refusal names ("on", "locked")

    @property
    def already(self) -> bool:
        return self.call is None


@dataclass
class Context:
    rng: random.Random
    unit: str
    lang: English
    words: dict
    amount: str | None = None  # a relative change's size when the template fixes it


Planner = Callable[[Context, Device], "Action | None"]


@dataclass(frozen=True)
class Intent:
    name: str
    domains: frozenset[str]
    plan: Planner  # None when the intent doesn't fit this device (capability or state)
    weight: float = 1.0


INTENTS: dict[str, Intent] = {}


def intent(name: str, domains, weight: float = 1.0):
    def register(plan: Planner) -> Planner:
        INTENTS[name] = Intent(name, frozenset(domains), plan, weight)
        return plan

    return register


def allowed(call: ServiceCall, preset_compat: bool) -> bool:
    """Whether the preset's prompt offers this service with these arguments."""
    offered = _offered(call.domain, preset_compat)
    return call.service in offered and set(to_model_call(call).arguments) <= offered[call.service]


@cache
def _offered(domain: str, compat: bool) -> dict[str, frozenset[str]]:
    return {service: frozenset(args) for service, args in services_for(domain, compat=compat).items()}


def _call(device: Device, service: str, **data) -> ServiceCall:
    return ServiceCall(device.domain, service, device.entity.entity_id, data)


def _setting(name: str, device: Device, service: str, slot: tuple[str, str, object], reply: str, **data) -> Action:
    """An action that sets a value the user says in one slot: (slot, value kind, raw value)."""
    slot_name, kind, value = slot
    return Action(name, device, _call(device, service, **data), {slot_name: (kind, value)}, reply)


def _state_switch(name: str, service: str | dict[str, str], target_states: set[str], word: str) -> Planner:
    """A command that puts a device in one state; `service` may differ by domain."""

    def plan(ctx: Context, device: Device) -> Action:
        if device.state in target_states:
            return Action(name, device, None, state_word=word)
        called = service if isinstance(service, str) else service[device.domain]
        return Action(name, device, _call(device, called), state_word=word)

    return plan


# ---- capabilities read from attributes, as Home Assistant reports them --------------------


def color_modes(device: Device) -> set[str]:
    return set(device.attributes.get("supported_color_modes") or [])


def dimmable(device: Device) -> bool:
    return device.domain == "light" and not color_modes(device) <= {"onoff"}


def colorful(device: Device) -> bool:
    return device.domain == "light" and bool(color_modes(device) & COLOR_MODES)


def shown_brightness(device: Device) -> int | None:
    """The brightness percent the prompt shows (None while off)."""
    raw = device.attributes.get("brightness")
    return None if raw is None else round(raw * 100 / 255)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# ---- on, off, toggle -----------------------------------------------------------------------

intent("on", ON_OFF_DOMAINS, 3)(
    lambda ctx, d: Action("on", d, None if d.state != "off" else _call(d, "turn_on"), state_word="on")
)
intent("off", ON_OFF_DOMAINS, 3)(
    lambda ctx, d: Action("off", d, None if d.state == "off" else _call(d, "turn_off"), state_word="off")
)


@intent("toggle", {"light", "switch", "input_boolean", "fan", "media_player", "cover"}, 0.6)
def _toggle(ctx, device):
    if device.domain == "cover" and device.state not in ("open", "closed"):
        return None
    return Action("toggle", device, _call(device, "toggle"))


# ---- lights --------------------------------------------------------------------------------


@intent("brightness", {"light"}, 2)
def _brightness(ctx, device):
    if not dimmable(device):
        return None
    current = shown_brightness(device)
    value = ctx.rng.choice(
        [v for v in [1, 5, 10, 15, 20, 25, 30, 33, 40, 45, 50, 60, 65, 70, 75, 80, 85, 90, 95, 100] if v != current]
    )
    return _setting(
        "brightness", device, "turn_on", ("brightness", "percent", value), ctx.lang.percent_text(value), brightness_pct=value
    )


def _relative_brightness(name: str, sign: int) -> Planner:
    def plan(ctx, device):
        current = shown_brightness(device)
        if current is None or not dimmable(device):
            return None
        amount = ctx.amount or ctx.rng.choice(list(BRIGHTNESS_STEPS))
        value = max(1, min(100, current + sign * BRIGHTNESS_STEPS[amount]))
        if value == current:
            return None
        return _setting(name, device, "turn_on", ("amount", "amount", amount), ctx.lang.percent_text(value), brightness_pct=value)

    return plan


intent("brighter", {"light"})(_relative_brightness("brighter", +1))
intent("dimmer", {"light"})(_relative_brightness("dimmer", -1))


@intent("color", {"light"}, 1.5)
def _color(ctx, device):
    if not colorful(device):
        return None
    current = device.attributes.get("rgb_color")
    name = ctx.rng.choice([n for n, rgb in COLORS.items() if list(rgb) != current])
    return _setting("color", device, "turn_on", ("color", "color", name), name, rgb_color=list(COLORS[name]))


@intent("color_temp", {"light"})
def _color_temp(ctx, device):
    if "color_temp" not in color_modes(device):
        return None
    low, high = device.attributes["min_color_temp_kelvin"], device.attributes["max_color_temp_kelvin"]
    named = [int(k) for k in ctx.words["kelvin_names"] if low <= int(k) <= high]
    kelvin = ctx.rng.choice(named) if named and ctx.rng.random() < 0.5 else ctx.rng.randrange(low, high + 1, 100)
    if kelvin == device.attributes.get("color_temp_kelvin"):
        return None
    return _setting("color_temp", device, "turn_on", ("kelvin", "kelvin", kelvin), f"{kelvin}K", color_temp_kelvin=kelvin)


# ---- fans ----------------------------------------------------------------------------------


@intent("fan_speed", {"fan"})
def _fan_speed(ctx, device):
    value = ctx.rng.choice(
        [v for v in (10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100) if v != device.attributes.get("percentage")]
    )
    return _setting(
        "fan_speed", device, "set_percentage", ("percentage", "percent", value), ctx.lang.percent_text(value), percentage=value
    )


@intent("faster", {"fan"}, 0.7)
def _faster(ctx, device):
    if device.state != "on" or device.attributes.get("percentage", 0) >= 100:
        return None
    return Action("faster", device, _call(device, "increase_speed"))


@intent("slower", {"fan"}, 0.7)
def _slower(ctx, device):
    if device.state != "on" or device.attributes.get("percentage", 0) <= 0:
        return None
    return Action("slower", device, _call(device, "decrease_speed"))


def _option(name: str, service: str, field_name: str, options_key: str, current_key: str | None) -> Planner:
    """Set one of the entity's own choices (hvac_modes, fan_modes, preset_modes)."""

    def plan(ctx, device):
        current = device.state if current_key is None else device.attributes.get(current_key)
        # "off" is the off intent's job; "none" isn't something people ask for
        choices = [c for c in device.attributes.get(options_key) or [] if c not in (current, "none", "off")]
        if not choices:
            return None
        choice = ctx.rng.choice(choices)
        spoken = ctx.words["modes"].get(choice, [choice.replace("_", " ")])[0]
        return _setting(name, device, service, ("mode", "mode", choice), spoken, **{field_name: choice})

    return plan


intent("fan_preset", {"fan"}, 0.7)(_option("fan_preset", "set_preset_mode", "preset_mode", "preset_modes", "preset_mode"))

# ---- covers and locks ------------------------------------------------------------------------

_OPEN = {"cover": "open_cover", "valve": "open_valve"}
_CLOSE = {"cover": "close_cover", "valve": "close_valve"}
_SET_POSITION = {"cover": "set_cover_position", "valve": "set_valve_position"}
intent("open", set(_OPEN), 2)(_state_switch("open", _OPEN, {"open"}, "open"))
intent("close", set(_CLOSE), 2)(_state_switch("close", _CLOSE, {"closed"}, "closed"))


@intent("stop", {"cover"}, 0.5)
def _stop(ctx, device):
    return Action("stop", device, _call(device, "stop_cover")) if device.state in ("opening", "closing") else None


@intent("position", set(_SET_POSITION))
def _position(ctx, device):
    if "current_position" not in device.attributes:
        return None
    value = ctx.rng.choice(
        [v for v in (0, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100) if v != device.attributes["current_position"]]
    )
    return _setting(
        "position",
        device,
        _SET_POSITION[device.domain],
        ("position", "percent", value),
        ctx.lang.percent_text(value),
        position=value,
    )


intent("lock", {"lock"}, 1.5)(_state_switch("lock", "lock", {"locked"}, "locked"))
intent("unlock", {"lock"}, 1.5)(_state_switch("unlock", "unlock", {"unlocked"}, "unlocked"))

# ---- climate -------------------------------------------------------------------------------


@intent("temperature", {"climate", "water_heater"}, 2)
def _temperature(ctx, device):
    attrs = device.attributes
    if attrs.get("temperature") is None:
        return None
    if device.domain == "water_heater":  # hot water: its own whole range
        low, high = attrs["min_temp"], attrs["max_temp"]
    else:  # rooms: what people set a thermostat to
        low, high = (62, 78) if ctx.unit == "°F" else (16, 26)
    values = [v / 2 for v in range(low * 2, high * 2 + 1)] if attrs.get("target_temp_step") == 0.5 else list(range(low, high + 1))
    values = [_number(v) for v in values if attrs["min_temp"] <= v <= attrs["max_temp"] and v != attrs["temperature"]]
    value = ctx.rng.choice([v for v in values if float(v).is_integer()] if ctx.rng.random() < 0.7 else values)
    return _setting(
        "temperature",
        device,
        "set_temperature",
        ("temperature", "temperature", value),
        ctx.lang.temperature_text(value, ctx.unit),
        temperature=value,
    )


def _relative_temperature(name: str, sign: int) -> Planner:
    def plan(ctx, device):
        attrs = device.attributes
        if attrs.get("temperature") is None or device.state == "off":
            return None
        steps = TEMPERATURE_STEPS[ctx.unit]
        amount = ctx.amount or ctx.rng.choice(list(steps))
        value = _number(attrs["temperature"] + sign * steps[amount])
        if not attrs["min_temp"] <= value <= attrs["max_temp"]:
            return None
        return _setting(
            name,
            device,
            "set_temperature",
            ("amount", "amount", amount),
            ctx.lang.temperature_text(value, ctx.unit),
            temperature=value,
        )

    return plan


intent("warmer", {"climate"})(_relative_temperature("warmer", +1))
intent("cooler", {"climate"})(_relative_temperature("cooler", -1))
intent("hvac_mode", {"climate"}, 1.2)(_option("hvac_mode", "set_hvac_mode", "hvac_mode", "hvac_modes", None))
intent("climate_fan_mode", {"climate"}, 0.7)(_option("climate_fan_mode", "set_fan_mode", "fan_mode", "fan_modes", "fan_mode"))
intent("climate_preset", {"climate"}, 0.7)(
    _option("climate_preset", "set_preset_mode", "preset_mode", "preset_modes", "preset_mode")
)


@intent("humidity", {"climate", "humidifier"}, 1.5)
def _humidity(ctx, device):
    attrs = device.attributes
    if attrs.get("humidity") is None:
        return None
    value = ctx.rng.choice([v for v in range(attrs["min_humidity"], attrs["max_humidity"] + 1, 5) if v != attrs["humidity"]])
    return _setting(
        "humidity", device, "set_humidity", ("humidity", "percent", value), ctx.lang.percent_text(value), humidity=value
    )


intent("humidifier_mode", {"humidifier"}, 0.8)(_option("humidifier_mode", "set_mode", "mode", "available_modes", "mode"))
intent("water_heater_mode", {"water_heater"}, 0.8)(
    _option("water_heater_mode", "set_operation_mode", "operation_mode", "operation_list", None)
)

# ---- media players --------------------------------------------------------------------------

intent("play", {"media_player"})(
    lambda ctx, d: (
        None
        if d.state in ("off", "on", "idle")
        else Action("play", d, None if d.state == "playing" else _call(d, "media_play"), state_word="playing")
    )
)
intent("pause", {"media_player"}, 1.2)(
    lambda ctx, d: (
        None
        if d.state in ("off", "on", "idle")
        else Action("pause", d, None if d.state == "paused" else _call(d, "media_pause"), state_word="paused")
    )
)


def _media(name: str, service: str, states: tuple[str, ...], weight: float = 1.0) -> None:
    intent(name, {"media_player"}, weight)(lambda ctx, d: Action(name, d, _call(d, service)) if d.state in states else None)


_media("media_stop", "media_stop", ("playing", "paused"), 0.7)
_media("play_pause", "media_play_pause", ("playing", "paused"), 0.4)
_media("next_track", "media_next_track", ("playing",))
_media("previous_track", "media_previous_track", ("playing",), 0.7)
_media("volume_up", "volume_up", ("playing", "paused", "idle", "on"))
_media("volume_down", "volume_down", ("playing", "paused", "idle", "on"))


@intent("volume_set", {"media_player"})
def _volume_set(ctx, device):
    if device.state == "off":
        return None
    current = round(device.attributes.get("volume_level", 0) * 100)
    value = ctx.rng.choice([v for v in range(5, 101, 5) if v != current])
    return _setting(
        "volume_set", device, "volume_set", ("volume", "percent", value), ctx.lang.percent_text(value), volume_level=value / 100
    )


# Whether a player is muted isn't in the prompt, so mute and unmute are never "already".
intent("mute", {"media_player"}, 0.6)(
    lambda ctx, d: (
        None
        if d.state == "off" or d.attributes.get("is_volume_muted")
        else Action("mute", d, _call(d, "volume_mute", is_volume_muted=True))
    )
)
intent("unmute", {"media_player"}, 0.4)(
    lambda ctx, d: (
        Action("unmute", d, _call(d, "volume_mute", is_volume_muted=False)) if d.attributes.get("is_volume_muted") else None
    )
)

# ---- vacuums, lists, timers, scenes, buttons ---------------------------------------------------

intent("vacuum_start", {"vacuum"})(_state_switch("vacuum_start", "start", {"cleaning"}, "cleaning"))
intent("vacuum_stop", {"vacuum"}, 1.2)(
    lambda ctx, d: Action("vacuum_stop", d, _call(d, "stop")) if d.state in ("cleaning", "paused", "returning") else None
)
intent("vacuum_pause", {"vacuum"}, 1.2)(
    lambda ctx, d: (
        None
        if d.state not in ("cleaning", "paused")
        else Action("vacuum_pause", d, None if d.state == "paused" else _call(d, "pause"), state_word="paused")
    )
)
intent("vacuum_dock", {"vacuum"})(_state_switch("vacuum_dock", "return_to_base", {"docked"}, "docked"))


@intent("todo_add", {"todo"}, 1.5)
def _todo_add(ctx, device):
    item = ctx.rng.choice(ctx.words["todo_items"])
    return _setting("todo_add", device, "add_item", ("item", "item", item), item, item=item)


# Timer lengths in seconds, as people set them.
_DURATIONS = [30, 60, 90, 120, 180, 300, 420, 600, 720, 900, 1200, 1500, 1800, 2700, 3600, 4500, 5400, 7200, 10800]


@intent("timer_start", {"timer"}, 1.5)
def _timer_start(ctx, device):
    seconds = ctx.rng.choice(_DURATIONS)
    duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return _setting(
        "timer_start", device, "start", ("duration", "duration", seconds), ctx.lang.duration_text(seconds), duration=duration
    )


intent("timer_cancel", {"timer"})(
    lambda ctx, d: Action("timer_cancel", d, _call(d, "cancel")) if d.state in ("active", "paused") else None
)
intent("timer_pause", {"timer"}, 1.2)(
    lambda ctx, d: (
        None
        if d.state == "idle"
        else Action("timer_pause", d, None if d.state == "paused" else _call(d, "pause"), state_word="paused")
    )
)
# ---- alarms and lawn mowers --------------------------------------------------------------------

intent("arm_home", {"alarm_control_panel"})(_state_switch("arm_home", "alarm_arm_home", {"armed_home"}, "armed"))
intent("arm_away", {"alarm_control_panel"})(_state_switch("arm_away", "alarm_arm_away", {"armed_away"}, "armed"))
intent("disarm", {"alarm_control_panel"}, 1.5)(_state_switch("disarm", "alarm_disarm", {"disarmed"}, "disarmed"))
intent("mower_start", {"lawn_mower"})(_state_switch("mower_start", "start_mowing", {"mowing"}, "mowing"))
intent("mower_dock", {"lawn_mower"})(_state_switch("mower_dock", "dock", {"docked"}, "docked"))
intent("mower_pause", {"lawn_mower"}, 1.5)(
    lambda ctx, d: (
        None
        if d.state not in ("mowing", "paused")
        else Action("mower_pause", d, None if d.state == "paused" else _call(d, "pause"), state_word="paused")
    )
)

intent("activate", {"scene", "script"}, 2)(lambda ctx, d: Action("activate", d, _call(d, "turn_on")))
intent("press", {"button", "input_button"}, 1.2)(lambda ctx, d: Action("press", d, _call(d, "press")))

# Intents whose second turn can undo the first ("turn it off again").
OPPOSITES = {
    "on": "off",
    "off": "on",
    "open": "close",
    "close": "open",
    "lock": "unlock",
    "unlock": "lock",
    "play": "pause",
    "pause": "play",
    "mute": "unmute",
    "unmute": "mute",
}
