"""Status questions (4): answered from the states in the prompt, with no call."""

from __future__ import annotations

from collections.abc import Callable

from home_llm_core.home_format.status import state_word

from ..homes import Device
from ..intents import shown_brightness
from ..requests import Example, Request, Turn


def status(r: Request) -> Example | None:
    for name, asker in r.shuffled(ASKERS.items()):
        turn = asker(r, name)
        if turn is not None:
            return Example("status", name, [turn], r.home, r.satellite)
    return None


def _state_word(device: Device) -> str:
    return state_word(device.domain, device.attributes.get("device_class"), device.state)


def _ask_device(r: Request, name: str, devices: list[Device], answer: Callable[[Device], tuple[str, dict]]) -> Turn | None:
    """A question about one device, named so that it is the only one meant."""
    for device in r.target_order(devices)[:8]:
        ref = r.reference(device)
        templates = r.templates(name, "say", device.domain, need={"device"})
        if ref is None or not templates:
            continue
        template = r.pick(templates)
        text, values = r.words_for(template, device=ref.text)
        key, slots = answer(device)
        return Turn(
            r.user_says(text, values, question=True),
            r.responder.say(key, name=device.name, **slots),
            [],
            [template.id],
            [device.name_id],
            [device.entity.entity_id],
        )
    return None


def _yes_no(domains: set[str], asked: str, other: str) -> Callable:
    """ask_on / ask_open / ...: yes or no, then the state as it is."""

    def asker(r: Request, name: str) -> Turn | None:
        devices = [d for d in r.home.devices if d.domain in domains and _state_word(d) in (asked, other)]

        def answer(device):
            word = _state_word(device)
            return ("answer.yes" if word == asked else "answer.no"), {"state": word}

        return _ask_device(r, name, devices, answer)

    return asker


def _ask_state(r: Request, name: str) -> Turn | None:
    domains = {
        "cover",
        "lock",
        "vacuum",
        "media_player",
        "climate",
        "timer",
        "fan",
        "switch",
        "light",
        "input_boolean",
        "binary_sensor",
    }
    devices = [d for d in r.home.devices if d.domain in domains]
    return _ask_device(r, name, devices, lambda d: ("answer.state", {"state": _state_word(d)}))


def _ask_target(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "climate" and d.attributes.get("temperature") is not None]

    def answer(device):
        if device.state == "off":
            return "answer.state", {"state": _state_word(device)}
        return "answer.target", {"value": r.lang.temperature_text(device.attributes["temperature"], r.home.temperature_unit)}

    return _ask_device(r, name, devices, answer)


def _ask_brightness(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "light"]

    def answer(device):
        pct = shown_brightness(device)
        if pct is None:
            return "answer.state", {"state": _state_word(device)}
        return "answer.brightness", {"value": r.lang.percent_text(pct)}

    return _ask_device(r, name, devices, answer)


def _ask_playing(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "media_player"]

    def answer(device):
        title = device.attributes.get("media_title")
        if device.state == "playing" and title:
            return "answer.playing", {"value": title}
        if device.state == "paused" and title:
            return "answer.paused_on", {"value": title}
        return "answer.nothing_playing", {"state": _state_word(device)}

    return _ask_device(r, name, devices, answer)


def _ask_volume(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "media_player" and d.attributes.get("volume_level") is not None]
    return _ask_device(
        r, name, devices, lambda d: ("answer.volume", {"value": r.lang.percent_text(round(d.attributes["volume_level"] * 100))})
    )


def _ask_sensor(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "sensor"]
    return _ask_device(
        r, name, devices, lambda d: ("answer.sensor", {"value": f"{d.state} {d.attributes['unit_of_measurement']}"})
    )


def _ask_todo(r: Request, name: str) -> Turn | None:
    devices = [d for d in r.home.devices if d.domain == "todo"]

    def answer(device):
        count = int(device.state)
        key = "answer.todo_none" if count == 0 else "answer.todo_one" if count == 1 else "answer.todo_many"
        return key, {"value": str(count)}

    return _ask_device(r, name, devices, answer)


def _area_reading(r: Request, area_name: str, device_class: str) -> tuple[str, Device] | None:
    """The one reading of this kind in the area, as the prompt shows it, or None."""
    sources = []
    for device in r.home.in_area(area_name):
        if device.domain == "sensor" and device.attributes.get("device_class") == device_class:
            sources.append((f"{device.state} {device.attributes['unit_of_measurement']}", device))
        elif (
            device_class == "temperature"
            and device.domain == "climate"
            and device.attributes.get("current_temperature") is not None
        ):
            sources.append((r.lang.temperature_text(device.attributes["current_temperature"], r.home.temperature_unit), device))
    return sources[0] if len(sources) == 1 else None


def _ask_area(device_class: str, key: str) -> Callable:
    def asker(r: Request, name: str) -> Turn | None:
        for area_name in r.shuffled({d.area for d in r.home.devices if d.area}):
            reading = _area_reading(r, area_name, device_class)
            if reading is None:
                continue
            here = r.rng.random() < 0.4 and not r.compat
            options = r.templates(name, "say", without={"area"}) if here else r.templates(name, "say", need={"area"})
            if not options or (r.compat and not r.names.matching(area_name, [reading[1]])):
                continue
            template = r.pick(options)
            if here:
                r.satellite = area_name
            text, values = r.words_for(template, area=area_name)
            return Turn(
                r.user_says(text, values, question=True),
                r.responder.say(key, value=reading[0], area=area_name),
                [],
                [template.id],
                [reading[1].name_id],
            )
        return None

    return asker


def _ask_which_on(r: Request, name: str) -> Turn | None:
    scope = r.pick([None, *sorted({d.area for d in r.home.devices if d.domain == "light" and d.area})])
    if r.compat and scope is not None:
        return None
    lights = [d for d in r.home.devices if d.domain == "light" and (scope is None or d.area == scope)]
    lit = [d for d in lights if d.state == "on"]
    templates = r.templates(name, "say", need={"area"}) if scope else r.templates(name, "say", without={"area"})
    if not lights or len(lit) > 6 or not templates:
        return None
    template = r.pick(templates)
    text, values = r.words_for(template, **({"area": scope} if scope else {}))
    where = f" in the {scope}" if scope else ""
    names = [d.name for d in lit]
    key = "answer.which_on_none" if not lit else "answer.which_on_one" if len(lit) == 1 else "answer.which_on_many"
    sentence = r.responder.say(key, list=r.lang.join(names), where=where)
    return Turn(r.user_says(text, values, question=True), sentence, [], [template.id], [d.name_id for d in lit])


# Which domains each yes/no question is asked about (also for questions about missing devices).
ASK_DOMAINS = {
    "ask_on": {"light", "switch", "input_boolean", "fan"},
    "ask_open": {"cover", "binary_sensor"},
    "ask_locked": {"lock"},
}
ASKERS: dict[str, Callable[[Request, str], Turn | None]] = {
    "ask_on": _yes_no(ASK_DOMAINS["ask_on"], "on", "off"),
    "ask_off": _yes_no(ASK_DOMAINS["ask_on"], "off", "on"),
    "ask_open": _yes_no(ASK_DOMAINS["ask_open"], "open", "closed"),
    "ask_closed": _yes_no(ASK_DOMAINS["ask_open"], "closed", "open"),
    "ask_locked": _yes_no(ASK_DOMAINS["ask_locked"], "locked", "unlocked"),
    "ask_unlocked": _yes_no(ASK_DOMAINS["ask_locked"], "unlocked", "locked"),
    "ask_state": _ask_state,
    "ask_target": _ask_target,
    "ask_brightness": _ask_brightness,
    "ask_playing": _ask_playing,
    "ask_volume": _ask_volume,
    "ask_sensor": _ask_sensor,
    "ask_todo": _ask_todo,
    "ask_temperature": _ask_area("temperature", "answer.temperature_area"),
    "ask_humidity": _ask_area("humidity", "answer.humidity_area"),
    "ask_which_on": _ask_which_on,
}
