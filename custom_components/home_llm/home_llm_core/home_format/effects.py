"""What a call does to a device's state and attributes, as Home Assistant would report them
afterwards: the data generator's second turns show the home after the first turn ran (as the
integration re-renders it from Home Assistant's states). One function per domain; the domain
table (domains.py) says which."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .colors import kelvin_to_rgb

# (service, HA call data, state, attributes) -> (new state, new attributes)
Effect = Callable[[str, dict[str, Any], str, dict[str, Any]], tuple[str, dict[str, Any]]]


def light(service, data, state, attrs):
    if service == "turn_off":
        for key in ("brightness", "color_mode", "rgb_color", "color_temp_kelvin"):
            attrs.pop(key, None)
        return "off", attrs
    modes = set(attrs.get("supported_color_modes") or [])
    if modes - {"onoff"}:
        if "brightness_pct" in data:
            attrs["brightness"] = round(data["brightness_pct"] * 255 / 100)
        else:
            attrs.setdefault("brightness", 255)
    if "rgb_color" in data:
        attrs.update(
            color_mode=next(iter(sorted(modes - {"color_temp", "brightness", "onoff"})), "rgb"), rgb_color=list(data["rgb_color"])
        )
        attrs.pop("color_temp_kelvin", None)
    if "color_temp_kelvin" in data:
        attrs.update(
            color_mode="color_temp",
            color_temp_kelvin=data["color_temp_kelvin"],
            rgb_color=kelvin_to_rgb(data["color_temp_kelvin"]),
        )
    return "on", attrs


def on_off(service, data, state, attrs):
    return ("off" if service == "turn_off" else "on"), attrs


def fan(service, data, state, attrs):
    step = attrs.get("percentage_step", 1)
    step = 10 if step == 1 else step
    pct = attrs.get("percentage", 0) or 0
    if service == "turn_off":
        return "off", {**attrs, "percentage": 0}
    if service == "turn_on":
        return "on", {**attrs, "percentage": pct or 50}
    if service == "set_percentage":
        return ("on" if data["percentage"] else "off"), {**attrs, "percentage": data["percentage"]}
    if service in ("increase_speed", "decrease_speed"):
        pct = max(0, min(100, round(pct + (step if service == "increase_speed" else -step))))
        return ("on" if pct else "off"), {**attrs, "percentage": pct}
    if service == "set_preset_mode":
        return "on", {**attrs, "preset_mode": data["preset_mode"]}
    return state, attrs


def cover(service, data, state, attrs):
    has_position = "current_position" in attrs
    if service == "open_cover":
        return "open", ({**attrs, "current_position": 100} if has_position else attrs)
    if service == "close_cover":
        return "closed", ({**attrs, "current_position": 0} if has_position else attrs)
    if service == "set_cover_position":
        return ("open" if data["position"] else "closed"), {**attrs, "current_position": data["position"]}
    if service == "stop_cover":
        return "open", attrs
    return state, attrs


def lock(service, data, state, attrs):
    return ("locked" if service == "lock" else "unlocked"), attrs


def climate(service, data, state, attrs):
    if service == "turn_off":
        return "off", attrs
    if service == "turn_on":
        return next((m for m in attrs.get("hvac_modes", []) if m != "off"), "heat"), attrs
    if service == "set_hvac_mode":
        return data["hvac_mode"], attrs
    if service == "set_temperature":
        return state, {**attrs, "temperature": data["temperature"]}
    if service == "set_fan_mode":
        return state, {**attrs, "fan_mode": data["fan_mode"]}
    if service == "set_preset_mode":
        return state, {**attrs, "preset_mode": data["preset_mode"]}
    if service == "set_humidity":
        return state, {**attrs, "humidity": data["humidity"]}
    return state, attrs


def media_player(service, data, state, attrs):
    if service == "turn_off":
        return "off", {k: v for k, v in attrs.items() if k == "device_class"}
    if service == "turn_on":
        return "on", {**attrs, "volume_level": attrs.get("volume_level", 0.3), "is_volume_muted": False}
    if service in ("media_play", "media_play_pause") and state != "playing":
        return "playing", attrs
    if service in ("media_pause", "media_play_pause"):
        return "paused", attrs
    if service == "media_stop":
        return "idle", {k: v for k, v in attrs.items() if k != "media_title"}
    if service in ("volume_up", "volume_down"):
        level = attrs.get("volume_level", 0.3) + (0.1 if service == "volume_up" else -0.1)
        return state, {**attrs, "volume_level": round(max(0.0, min(1.0, level)), 2)}
    if service == "volume_set":
        return state, {**attrs, "volume_level": data["volume_level"]}
    if service == "volume_mute":
        return state, {**attrs, "is_volume_muted": data["is_volume_muted"]}
    return state, attrs


def vacuum(service, data, state, attrs):
    return {"start": "cleaning", "stop": "idle", "pause": "paused", "return_to_base": "returning"}.get(service, state), attrs


def todo(service, data, state, attrs):
    return (str(int(state) + 1) if state.isdigit() else state), attrs


def timer(service, data, state, attrs):
    if service == "start":
        return "active", {**attrs, "duration": data["duration"], "remaining": data["duration"]}
    return {"cancel": "idle", "pause": "paused"}.get(service, state), attrs


def valve(service, data, state, attrs):
    # A valve opens, closes and takes a position the way a cover does.
    as_cover = {"open_valve": "open_cover", "close_valve": "close_cover", "set_valve_position": "set_cover_position"}
    return cover(as_cover.get(service, service), data, state, attrs)


def humidifier(service, data, state, attrs):
    if service in ("turn_on", "turn_off"):
        return ("on" if service == "turn_on" else "off"), attrs
    if service == "set_humidity":
        return state, {**attrs, "humidity": data["humidity"]}
    if service == "set_mode":
        return state, {**attrs, "mode": data["mode"]}
    return state, attrs


def water_heater(service, data, state, attrs):
    if service == "set_temperature":
        return state, {**attrs, "temperature": data["temperature"]}
    if service == "set_operation_mode":
        return data["operation_mode"], {**attrs, "operation_mode": data["operation_mode"]}
    return state, attrs


def alarm_control_panel(service, data, state, attrs):
    return {"alarm_arm_home": "armed_home", "alarm_arm_away": "armed_away", "alarm_disarm": "disarmed"}.get(service, state), attrs


def lawn_mower(service, data, state, attrs):
    return {"start_mowing": "mowing", "pause": "paused", "dock": "docked"}.get(service, state), attrs
