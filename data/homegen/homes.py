"""Random homes: a layout's floors and areas, 2 to 80 devices with names, aliases, entity
ids, and states and attributes the way Home Assistant reports them (brightness 0-255 only
while on, hvac_modes, min/max temperatures, supported_color_modes, ...)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, lru_cache

from home_llm_core.home_format import Entity, Home, in_prompt_order
from home_llm_core.home_format.colors import COLORS, kelvin_to_rgb

from .piles import DeviceName
from .splits import PileView

# Covers that people call blinds, shades, ...: the window coverings an area command moves.
COVER_GROUPS = {"blind": "blinds", "shade": "shades", "curtain": "curtains", "shutter": "shutters"}
DUPLICATE_NAME_CHANCE = 0.25  # a name used twice in one home (another area): a source of ambiguity
ALIAS_CHANCE = 0.25
VENDOR_ID_CHANCE = 0.1  # entity ids like light.hue_color_lamp_2 that don't follow the name


@dataclass(frozen=True, eq=False)  # compared by identity: one object per device per home
class Device:
    """A generated entity and what the generator knows about it beyond the prompt."""

    entity: Entity
    name_id: str  # the pile entry it was named from
    short: str  # the name without its area: "Ceiling Light"
    kind: str  # device_class or light profile
    heldout_name: bool

    @property
    def domain(self) -> str:
        return self.entity.domain

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def area(self) -> str | None:
        return self.entity.area

    @property
    def attributes(self):
        return self.entity.attributes

    @property
    def state(self) -> str:
        return self.entity.state

    @property
    def group(self) -> str | None:
        """The plural word an area command uses for it ("lights"), if any."""
        if self.domain == "light":
            return "lights"
        if self.domain == "fan":
            return "fans"
        if self.domain == "cover":
            return COVER_GROUPS.get(self.kind)
        return None


@dataclass(frozen=True)
class GenHome:
    id: str
    layout_id: str
    devices: tuple[Device, ...]  # in the integration's order: by area, then entity id
    temperature_unit: str
    areas: tuple[tuple[str, str | None], ...]  # (area, floor)
    _by_id: dict[str, Device] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {d.entity.entity_id: d for d in self.devices})

    @cached_property
    def home(self) -> Home:
        return Home(tuple(d.entity for d in self.devices), temperature_unit=self.temperature_unit, floors=self.area_floors())

    def area_floors(self) -> dict[str, str]:
        """Area -> its floor, for the areas that have devices (as Home Assistant's snapshot has them)."""
        used = {d.area for d in self.devices}
        return {area: floor for area, floor in self.areas if floor and area in used}

    def floors(self) -> dict[str, list[str]]:
        """Floor -> its areas (the v1 prompt doesn't show floors; the layout has them)."""
        result: dict[str, list[str]] = {}
        for area, floor in self.areas:
            if floor:
                result.setdefault(floor, []).append(area)
        return result

    def device(self, entity_id: str) -> Device:
        return self._by_id[entity_id]

    def in_area(self, area: str | None) -> list[Device]:
        return [d for d in self.devices if d.area == area]

    def with_entities(self, entities: dict[str, Entity]) -> GenHome:
        """A copy where some devices' entities changed (after a call ran)."""
        devices = tuple(replace(d, entity=entities.get(d.entity.entity_id, d.entity)) for d in self.devices)
        return replace(self, devices=devices)

    def as_case(self) -> dict:
        """The evaluator's case-file shape (Home.from_dict reads it back), with last_changed:
        the prompt lists states oldest change first."""
        return self.home.to_dict()


def device_count(rng: random.Random) -> int:
    """2 to 80, most homes in between: a few tiny, many medium, some large."""
    low, high = rng.choices([(2, 5), (6, 15), (16, 35), (36, 80)], weights=[15, 35, 35, 15])[0]
    return rng.randint(low, high)


def build_home(rng: random.Random, view: PileView, home_id: str, now: datetime) -> GenHome:
    words = view.piles.words
    layout = rng.choice(view.layouts)
    areas = _name_areas(rng, layout, view)
    unit = "°F" if rng.random() < 0.25 else "°C"
    target = device_count(rng)
    now_ts = int(now.timestamp())

    taken_ids: set[str] = set()
    names_used: dict[str, set[str | None]] = {}  # name -> the areas that have it
    per_domain: dict[str, int] = {}
    devices: list[Device] = []
    attempts = 0
    while len(devices) < target and attempts < target * 6:
        attempts += 1
        domain = rng.choice(_DOMAIN_DRAW)
        if per_domain.get(domain, 0) >= GENERATED[domain].limit:
            continue
        placed = _place(rng, view.device_names(rng, domain), layout.id, areas, view.piles.outdoor_kinds, names_used)
        if placed is None:
            continue
        entry, area, name = placed
        names_used.setdefault(name.lower(), set()).add(area)
        per_domain[domain] = per_domain.get(domain, 0) + 1
        entity_id = _entity_id(rng, domain, name, taken_ids, words["vendor_ids"])
        kind = entry.kind or _default_kind(rng, domain)
        state, attributes = _state(rng, entry, kind, unit, words)
        if rng.random() < 0.06:  # some users name things in lower case
            name = name.lower()
        entity = Entity(
            entity_id=entity_id,
            name=name,
            state=state,
            attributes=attributes,
            area=area,
            aliases=(),
            last_changed=now_ts - int(rng.expovariate(1 / 20000)),
        )
        devices.append(Device(entity, entry.id, entry.short, kind, entry.holdout))

    if not any(d.domain in CONTROLLABLE for d in devices):  # a home with only sensors can't be asked to do anything
        return build_home(rng, view, home_id, now)
    devices = _add_aliases(rng, devices, view)
    order = {e.entity_id: i for i, e in enumerate(in_prompt_order(d.entity for d in devices))}
    devices.sort(key=lambda d: order[d.entity.entity_id])  # the integration's order
    return GenHome(home_id, layout.id, tuple(devices), unit, tuple((name, floor) for _, name, floor in areas))


def _name_areas(rng: random.Random, layout, view: PileView) -> list[tuple[str, str, str | None]]:
    """(kind, name, floor) for each area of the layout; several bedrooms get different names."""
    result = []
    used: set[str] = set()
    slots = [(kind, floor) for floor, kinds in layout.floors for kind in kinds] + [(kind, None) for kind in layout.outside]
    for index, (kind, floor) in enumerate(slots):
        options = [n for n in view.piles.area_names[kind] if n not in used]
        name = rng.choice(options) if options else f"{view.piles.area_names[kind][0]} {index + 1}"
        used.add(name)
        result.append((kind, name, floor))
    return result


_FITTING: dict[tuple[str, str], tuple[int, ...]] = {}


def _fitting(layout_id: str, areas, entry: DeviceName, outdoor_kinds) -> tuple[int, ...]:
    """Indexes of the layout's areas where this kind of device may stand (cached: it's asked often)."""
    key = (layout_id, entry.id)
    if key not in _FITTING:
        _FITTING[key] = tuple(
            i
            for i, (kind, _, _) in enumerate(areas)
            if (kind in entry.area_kinds if entry.area_kinds else kind not in outdoor_kinds)
        )
    return _FITTING[key]


def _place(rng, entries: Iterable[DeviceName], layout_id: str, areas, outdoor_kinds, names_used) -> tuple | None:
    """The first name entry that fits somewhere in this home: (entry, area, name)."""
    for entry in entries:
        fitting = _fitting(layout_id, areas, entry, outdoor_kinds)
        choices = len(fitting) + ("-" in entry.area_kinds and not entry.needs_area)  # the last: no area
        for _ in range(min(3, choices)):
            pick = rng.randrange(choices)
            area = areas[fitting[pick]][1] if pick < len(fitting) else None
            name = entry.pattern.replace("{area}", area or "").strip()
            others = names_used.get(name.lower())
            if others and (area is None or area in others or None in others or rng.random() > DUPLICATE_NAME_CHANCE):
                continue  # a second one only in another area, now and then
            return entry, area, name
    return None


@lru_cache(maxsize=4096)
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "device"


def _entity_id(rng, domain: str, name: str, taken: set[str], vendor_ids: dict[str, list[str]]) -> str:
    if domain in vendor_ids and rng.random() < VENDOR_ID_CHANCE:
        base = f"{domain}.{rng.choice(vendor_ids[domain])}_{rng.randint(1, 9)}"
    else:
        base = f"{domain}.{_slug(name)}"
    entity_id, n = base, 2
    while entity_id in taken:
        entity_id, n = f"{base}_{n}", n + 1
    taken.add(entity_id)
    return entity_id


def _add_aliases(rng, devices: list[Device], view: PileView) -> list[Device]:
    """A few devices get an alias from their pile entry, never one that names another device."""
    entries = view.piles.device_by_id
    taken = {d.name.lower() for d in devices}
    result = []
    for device in devices:
        aliases = entries[device.name_id].aliases
        options = [a for a in aliases if a.lower() not in taken] if aliases and rng.random() < ALIAS_CHANCE else []
        if options:
            alias = rng.choice(options)
            taken.add(alias.lower())
            device = replace(device, entity=replace(device.entity, aliases=(alias,)))
        result.append(device)
    return result


def _default_kind(rng, domain: str) -> str:
    if domain == "light":
        return rng.choices(["color", "white", "dimmable", "onoff"], weights=[3, 2, 4, 1])[0]
    return ""


# ---- states and attributes ----------------------------------------------------------------


def _state(rng: random.Random, entry: DeviceName, kind: str, unit: str, words: dict) -> tuple[str, dict]:
    if entry.domain == "sensor":
        return _sensor(rng, kind, unit, words, entry.id)
    return GENERATED[entry.domain].start(rng, kind, unit, words)


def _light(rng, kind, unit, words):
    modes = {
        "color": rng.choice([["color_temp", "hs"], ["color_temp", "xy"], ["rgb"], ["color_temp", "rgbww"]]),
        "white": ["color_temp"],
        "dimmable": ["brightness"],
        "onoff": ["onoff"],
    }[kind]
    attributes: dict = {"supported_color_modes": modes}
    if "color_temp" in modes:
        attributes["min_color_temp_kelvin"] = rng.choice([2000, 2200, 2700])
        attributes["max_color_temp_kelvin"] = rng.choice([5000, 6500])
    if rng.random() < 0.55:
        return "off", attributes
    if modes != ["onoff"]:
        attributes["brightness"] = round(rng.randint(1, 100) * 255 / 100)
    if "color_temp" in modes and (len(modes) == 1 or rng.random() < 0.5):
        kelvin = rng.randrange(attributes["min_color_temp_kelvin"], attributes["max_color_temp_kelvin"] + 1, 100)
        attributes.update(color_mode="color_temp", color_temp_kelvin=kelvin, rgb_color=kelvin_to_rgb(kelvin))
    elif set(modes) & {"hs", "xy", "rgb", "rgbww"}:
        rgb = list(rng.choice(list(COLORS.values()))) if rng.random() < 0.6 else [rng.randint(0, 255) for _ in range(3)]
        attributes.update(color_mode=next(m for m in modes if m != "color_temp"), rgb_color=rgb)
    else:
        attributes["color_mode"] = modes[0]
    return "on", attributes


def _on_off(rng, kind, unit, words):
    return ("on" if rng.random() < 0.4 else "off"), ({"device_class": kind} if kind in ("outlet", "switch") else {})


def _fan(rng, kind, unit, words):
    step = rng.choice([1, 25, 33.33])  # percentage fans, 4-speed and 3-speed fans
    attributes: dict = {"percentage_step": step}
    if kind != "extractor" and rng.random() < 0.5:
        attributes["preset_modes"] = rng.sample(["auto", "sleep", "breeze", "nature", "smart", "turbo"], rng.randint(2, 4))
        attributes["preset_mode"] = None
    on = rng.random() < 0.4
    speeds = [round(step * n) for n in range(1, round(100 / step) + 1)] if step > 1 else list(range(10, 101, 10))
    attributes["percentage"] = rng.choice(speeds) if on else 0
    return ("on" if on else "off"), attributes


def _cover(rng, kind, unit, words):
    attributes: dict = {"device_class": kind}
    state = rng.choices(["open", "closed", "opening", "closing"], weights=[45, 45, 5, 5])[0]
    if kind not in ("garage", "gate"):
        attributes["current_position"] = {"open": rng.choice([100, 100, rng.randrange(10, 100, 10)]), "closed": 0}.get(
            state, rng.randrange(10, 91, 10)
        )
    return state, attributes


def _lock(rng, kind, unit, words):
    return ("locked" if rng.random() < 0.6 else "unlocked"), {}


def _climate(rng, kind, unit, words):
    fahrenheit = unit == "°F"
    modes = {
        "thermostat": rng.choice([["off", "heat", "cool", "heat_cool"], ["off", "heat"], ["off", "heat", "cool", "auto"]]),
        "ac": ["off", "cool", "dry", "fan_only", "auto"] + (["heat"] if rng.random() < 0.5 else []),
        "trv": ["off", "heat", "auto"],
        "heat_pump": ["off", "heat", "cool", "heat_cool", "dry", "fan_only"],
    }[kind or "thermostat"]
    low, high = ((45, 95) if kind != "ac" else (60, 86)) if fahrenheit else ((7, 35) if kind != "ac" else (16, 30))
    step = 1 if fahrenheit else 0.5
    state = rng.choice(modes)
    comfy = (66, 74) if fahrenheit else (18, 24)
    target = rng.randint(comfy[0], comfy[1]) + (rng.choice([0, 0.5]) if not fahrenheit else 0)
    attributes: dict = {
        "hvac_modes": modes,
        "min_temp": low,
        "max_temp": high,
        "target_temp_step": step,
        "current_temperature": round(target + rng.uniform(-3, 3) * (1.8 if fahrenheit else 1), 1),
        "temperature": target,
    }
    if kind in ("ac", "heat_pump") or (kind == "thermostat" and rng.random() < 0.2):  # radiator valves have no fan
        attributes["fan_modes"] = rng.choice(
            [["auto", "low", "medium", "high"], ["auto", "quiet", "low", "high", "turbo"], ["auto", "on"]]
        )
        attributes["fan_mode"] = rng.choice(attributes["fan_modes"])
    if rng.random() < 0.4:
        attributes["preset_modes"] = [
            "none",
            *rng.sample(["eco", "away", "home", "sleep", "comfort", "boost"], rng.randint(2, 4)),
        ]
        attributes["preset_mode"] = rng.choice(attributes["preset_modes"])
    if kind in ("ac", "heat_pump") and rng.random() < 0.4:
        attributes.update(
            min_humidity=30, max_humidity=70, humidity=rng.randrange(35, 61, 5), current_humidity=rng.randint(30, 70)
        )
    attributes["hvac_action"] = "idle" if state == "off" else rng.choice(["idle", "heating" if state == "heat" else "cooling"])
    return state, attributes


def _media_player(rng, kind, unit, words):
    state = rng.choices(["off", "idle", "playing", "paused", "on"], weights=[35, 15, 30, 15, 5])[0]
    attributes: dict = {"device_class": "tv" if kind == "tv" else "speaker"}
    if state != "off":
        attributes["volume_level"] = round(rng.randrange(5, 101, 5) / 100, 2)
        attributes["is_volume_muted"] = rng.random() < 0.1
    if state in ("playing", "paused"):
        attributes["media_title"] = rng.choice(words["media_titles"])
    return state, attributes


def _vacuum(rng, kind, unit, words):
    state = rng.choices(["docked", "cleaning", "paused", "returning", "idle"], weights=[40, 30, 10, 10, 10])[0]
    return state, {"battery_level": rng.randint(15, 100), "fan_speed": rng.choice(["quiet", "standard", "turbo"])}


def _todo(rng, kind, unit, words):
    return str(rng.choice([0, 1, 2, 3, 4, 5, 7, 9, 12])), {}


def _timer(rng, kind, unit, words):
    state = rng.choices(["idle", "active", "paused"], weights=[55, 35, 10])[0]
    minutes = rng.choice([3, 5, 10, 15, 20, 30])
    attributes = {"duration": f"0:{minutes:02d}:00"}
    if state != "idle":
        attributes["remaining"] = f"0:{rng.randint(0, minutes - 1):02d}:{rng.randint(0, 59):02d}"
    return state, attributes


def _stateless(rng, kind, unit, words):
    return "unknown", {}


def _script(rng, kind, unit, words):
    return ("on" if rng.random() < 0.05 else "off"), {}


_SENSORS = {
    # device_class: (unit, low, high, decimals); temperatures follow the home's unit
    "temperature": (None, 15, 27, 1),
    "humidity": ("%", 30, 80, 0),
    "power": ("W", 0, 3500, 0),
    "energy": ("kWh", 0, 40, 2),
    "battery": ("%", 5, 100, 0),
    "illuminance": ("lx", 0, 1200, 0),
    "co2": ("ppm", 400, 1600, 0),
    "pm25": ("µg/m³", 1, 60, 0),
    "speed": ("km/h", 0, 60, 1),
}


_RANGES_BY_NAME = {
    "sensor.outside_temperature": (-8, 32),
    "sensor.fridge_temperature": (1, 6),
    "sensor.solar_production": (0, 5000),
}


def _sensor(rng, kind, unit, words, name_id=""):
    sensor_unit, low, high, decimals = _SENSORS[kind]
    low, high = _RANGES_BY_NAME.get(name_id, (low, high))
    value = rng.uniform(low, high)
    if kind == "temperature":
        sensor_unit = unit
        value = value * 1.8 + 32 if unit == "°F" else value
    text = f"{value:.{decimals}f}" if decimals else str(round(value))
    return text, {"unit_of_measurement": sensor_unit, "device_class": kind, "state_class": "measurement"}


def _binary_sensor(rng, kind, unit, words):
    on_chance = {"motion": 0.3, "door": 0.25, "window": 0.25}.get(kind, 0.03)
    return ("on" if rng.random() < on_chance else "off"), {"device_class": kind}


def _valve(rng, kind, unit, words):
    state = rng.choice(["open", "closed"])
    if kind == "shutoff":  # a main water valve: open or closed, no position
        return state, {}
    return state, {"current_position": rng.randrange(20, 101, 10) if state == "open" else 0}


def _humidifier(rng, kind, unit, words):
    modes = rng.choice([["normal", "eco", "boost", "sleep"], ["normal", "auto", "baby"], ["auto", "comfort", "home"]])
    attributes = {"min_humidity": 30, "max_humidity": 80, "available_modes": modes, "mode": rng.choice(modes)}
    if rng.random() < 0.5:
        attributes["humidity"] = rng.randrange(40, 66, 5)
    return ("on" if rng.random() < 0.5 else "off"), attributes


def _water_heater(rng, kind, unit, words):
    modes = rng.choice([["eco", "electric", "performance", "off"], ["eco", "heat_pump", "high_demand", "off"]])
    low, high, comfy = (43, 60, (45, 55)) if unit == "°C" else (110, 140, (115, 130))
    target = rng.randint(*comfy)
    state = rng.choice(modes)
    return state, {
        "min_temp": low,
        "max_temp": high,
        "temperature": target,
        "current_temperature": target - rng.randint(0, 6),
        "operation_list": modes,
        "operation_mode": state,
    }


def _alarm_control_panel(rng, kind, unit, words):
    return rng.choices(["disarmed", "armed_home", "armed_away"], weights=[40, 30, 30])[0], {}


def _lawn_mower(rng, kind, unit, words):
    return rng.choices(["docked", "mowing", "paused", "error"], weights=[40, 35, 15, 10])[0], {}


@dataclass(frozen=True)
class Generated:
    """How generated homes have a domain: how often it is drawn (relative weight), at most how
    many one home has, and the state and attributes a device starts with."""

    weight: float
    start: Callable[..., tuple[str, dict]]
    limit: int = 99


GENERATED: dict[str, Generated] = {
    "light": Generated(30, _light),
    "switch": Generated(9, _on_off),
    "sensor": Generated(8, _sensor),
    "cover": Generated(8, _cover),
    "binary_sensor": Generated(5, _binary_sensor),
    "media_player": Generated(5, _media_player),
    "fan": Generated(4, _fan),
    "climate": Generated(4, _climate),
    "lock": Generated(3, _lock),
    "scene": Generated(3, _stateless),
    "script": Generated(3, _script),
    "input_boolean": Generated(2, _on_off, limit=4),
    "todo": Generated(2, _todo, limit=3),
    "timer": Generated(2, _timer, limit=3),
    "vacuum": Generated(2, _vacuum, limit=2),
    "button": Generated(1.2, _stateless, limit=3),
    "input_button": Generated(1, _stateless, limit=3),
    "valve": Generated(1.2, _valve, limit=3),
    "humidifier": Generated(1.2, _humidifier, limit=2),
    "water_heater": Generated(0.8, _water_heater, limit=1),
    "alarm_control_panel": Generated(1.2, _alarm_control_panel, limit=1),
    "lawn_mower": Generated(1.2, _lawn_mower, limit=1),
}
# Each domain repeated by its weight: rng.choice on it is a weighted draw, and a fast one.
_DOMAIN_DRAW = [domain for domain, g in GENERATED.items() for _ in range(round(g.weight * 10))]
CONTROLLABLE = frozenset(GENERATED) - {"sensor", "binary_sensor"}
