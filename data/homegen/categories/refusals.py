"""No call, and a plain answer: refusals (5) and questions back when two devices fit (6)."""

from __future__ import annotations

from dataclasses import replace

from home_llm_core.home_format.colors import COLORS

from ..homes import CONTROLLABLE, Device
from ..intents import INTENTS, Action, color_modes, colorful
from ..references import GROUP_WORDS, NAMED_ONLY
from ..requests import Example, Request, Turn
from .commands import DEVICE_INTENTS, GROUP_INTENTS, group_members, names_a_device
from .questions import ASK_DOMAINS


def refusal(r: Request) -> Example | None:
    builders = {_missing_device: 4, _already: 3.5, _read_only: 1}
    if not r.compat:  # areas are only in the Home LLM prompt
        builders.update({_missing_group: 0.8, _already_group: 0.7})
    if r.capabilities_shown:  # the v2 prompt says what each device can do
        builders[_cannot] = 2
    for builder in r.weighted_order(builders):
        example = builder(r)
        if example is not None:
            return example
    return None


def _missing_device(r: Request) -> Example | None:
    """A request for a device this home doesn't have (or doesn't expose)."""
    intents = [i for i in DEVICE_INTENTS if i not in ("todo_add", "timer_start")] + list(ASK_DOMAINS)
    for intent in r.shuffled(intents):
        domains = INTENTS[intent].domains if intent in INTENTS else ASK_DOMAINS[intent] - {"binary_sensor"}
        for domain in r.shuffled(domains - NAMED_ONLY):  # "I can't find a movie night" reads oddly
            action = _stand_in(r, intent, domain)
            has = {"device"} | (set(action.slots) if action else set())
            templates = [t for t in r.templates(intent, "say", domain, need={"device"}) if t.slots <= has]
            names = [n for n in r.view.missing_names(domain) if _absent(r, n)]
            if not templates or not names:
                continue
            entry = r.view.pick_target(r.rng, names, lambda n: n.holdout)
            thing = entry.short.lower()
            template = r.pick(templates)
            text, values = r.words_for(template, action, device=thing)
            turn = Turn(
                r.user_says(text, values, question=intent.startswith("ask_")),
                r.responder.say("refuse.missing", thing=thing),
                [],
                [template.id],
                [entry.id],
            )
            return Example("refusal", f"missing.{intent}", [turn], r.home, r.satellite)
    return None


# People say "the heating" or "the vacuum" for whichever one they have.
GENERIC_DOMAINS = frozenset({"climate", "vacuum", "timer", "todo"})


def _absent(r: Request, entry) -> bool:
    """Clearly not in this home: no name shares a word with it, so the user can't have meant
    one of the devices there (and it isn't a group word like "blinds")."""
    if entry.short.lower() in GROUP_WORDS or r.names.shares_words(entry.short):
        return False
    return not (entry.domain in GENERIC_DOMAINS and any(d.domain == entry.domain for d in r.home.devices))


def _stand_in(r: Request, intent: str, domain: str) -> Action | None:
    """Values for a request about a missing device ("set the sauna to 80%"): planned on a
    device of the same domain, when the home has one that fits."""
    if intent not in INTENTS:
        return None
    for device in r.home.devices:
        if device.domain == domain and (action := INTENTS[intent].plan(r.ctx, device)) is not None:
            return action
    return None


def _already(r: Request) -> Example | None:
    for action, ref, template in r.named_actions(DEVICE_INTENTS, "say", lambda a: a.already):
        text, values = r.words_for(template, action, device=ref.text)
        sentence = r.responder.say("refuse.already", name=action.device.name, state=action.state_word)
        turn = Turn(r.user_says(text, values), sentence, [], [template.id], [action.device.name_id])
        return Example("refusal", f"already.{action.intent}", [turn], r.home, r.satellite)
    return None


def _cannot(r: Request) -> Example | None:
    """A request the device can't do, as its capabilities in the prompt say: a colour for a
    white light, dimming an on/off light, a temperature beyond the thermostat's limits."""
    for kind in r.shuffled(["colour", "dim", "limit"]):
        if kind == "colour":
            devices = [d for d in r.home.devices if d.domain == "light" and not colorful(d) and color_modes(d)]
            intent, slot = "color", ("color", r.pick([c for c in sorted(COLORS) if "white" not in c]))
        elif kind == "dim":
            devices = [d for d in r.home.devices if d.domain == "light" and color_modes(d) == {"onoff"}]
            intent, slot = "brightness", ("brightness", r.lang.percent_text(r.pick([10, 25, 40, 50, 75])))
        else:
            devices = [d for d in r.home.devices if d.domain == "climate" and "max_temp" in d.attributes]
            intent, slot = "temperature", ("temperature", "")
        for device in r.target_order(devices):
            ref = r.reference(device)
            templates = r.templates(intent, "say", device.domain, need={"device", slot[0]})
            if ref is None or not templates:
                continue
            name, value = device.name, slot[1]
            if kind == "colour":
                sentence = r.responder.say("refuse.no_colour", name=name)
            elif kind == "dim":
                sentence = r.responder.say("refuse.no_dimming", name=name)
            else:
                high = device.attributes["max_temp"]
                asked = high + r.pick([5, 10, 15])
                value = r.lang.temperature_text(asked, r.home.temperature_unit)
                limit = r.lang.temperature_text(high, r.home.temperature_unit)
                sentence = r.responder.say("refuse.too_high", name=name, value=limit)
            template = r.pick(templates)
            text, values = r.words_for(template, device=ref.text, **{slot[0]: value})
            turn = Turn(r.user_says(text, [*values, value]), sentence, [], [template.id], [device.name_id])
            return Example("refusal", f"cannot.{kind}", [turn], r.home, r.satellite)
    return None


def _read_only(r: Request) -> Example | None:
    sensors = [d for d in r.home.devices if d.domain not in CONTROLLABLE]
    for device in r.target_order(sensors):
        ref = r.reference(device)
        intent = r.pick(["on", "off"])
        templates = r.templates(intent, "say", "switch", need={"device"})
        if ref is None or not templates:
            continue
        template = r.pick(templates)
        text, values = r.words_for(template, device=ref.text)
        turn = Turn(
            r.user_says(text, values), r.responder.say("refuse.read_only", name=device.name), [], [template.id], [device.name_id]
        )
        return Example("refusal", f"read_only.{intent}", [turn], r.home, r.satellite)
    return None


def _missing_group(r: Request) -> Example | None:
    """A group the area doesn't have: "turn off the lights in the garage" (it has none)."""
    areas = r.shuffled({name for name, _ in r.home.areas})
    for intent in r.shuffled(("group_on", "group_off", "group_open", "group_close")):
        for area_name in areas:
            present = {d.group for d in r.home.in_area(area_name)}
            missing = [g for g in GROUP_INTENTS[intent][1] if g not in present and g in ("lights", "fans", "blinds")]
            templates = r.templates(intent, "say", need={"area", "group"})
            if not missing or not templates:
                continue
            group = r.pick(r.words["groups"][r.pick(missing)])
            if names_a_device(r, area_name, group):
                continue
            template = r.pick(templates)
            text, values = r.words_for(template, area=area_name, group=group)
            turn = Turn(
                r.user_says(text, values),
                r.responder.say("refuse.missing_group", group=group, area=area_name),
                [],
                [template.id],
                [],
            )
            return Example("refusal", f"missing_group.{intent}", [turn], r.home, r.satellite)
    return None


def _already_group(r: Request) -> Example | None:
    for area_name in r.shuffled({d.area for d in r.home.devices if d.group and d.area}):
        for intent in ("group_on", "group_off", "group_open", "group_close"):
            present = sorted({d.group for d in r.home.in_area(area_name)} & set(GROUP_INTENTS[intent][1]))
            templates = r.templates(intent, "say", need={"area", "group"})
            if not present or not templates:
                continue
            group = r.pick(present)
            members = group_members(r, area_name, group, intent)
            planned = r.plans(GROUP_INTENTS[intent][0], members)
            if len(planned) != len(members) or not all(a.already for a in planned):
                continue
            spoken = r.pick(r.words["groups"][group])
            if names_a_device(r, area_name, spoken, members):
                continue
            template = r.pick(templates)
            text, values = r.words_for(template, area=area_name, group=spoken)
            sentence = r.responder.say("refuse.already_group", group=spoken, area=area_name, state=planned[0].state_word)
            turn = Turn(r.user_says(text, values), sentence, [], [template.id], [m.name_id for m in members])
            return Example("refusal", f"already_group.{intent}", [turn], r.home, r.satellite)
    return None


# ---- 6. ambiguity ------------------------------------------------------------------------------------------


# A question back over a name two devices share is made, this often, as the same request in
# the home without the twin, answered with the call: the question then depends on a second
# device of that name in the prompt, not on a full name being said (v2.2 asked "which" after
# "turn off the office light" with one Office Light). Training data of the v2 format only: the
# test split is unchanged.
CONTRAST_CHANCE = 0.5


def ambiguity(r: Request) -> Example | None:
    made = ambiguous_turn(r)
    if made is None:
        return None
    turn, intent, actions, words = made
    shared_name = all(a.device.name.lower() == words.lower() for a in actions)
    contrast = shared_name and r.calls_only and not r.view.is_test and not actions[0].already
    if contrast and r.rng.random() < CONTRAST_CHANCE:
        return _without_twins(r, turn, actions[0], [a.device for a in actions[1:]])
    return Example("ambiguity", intent, [turn], r.home, r.satellite)


def _without_twins(r: Request, turn: Turn, action: Action, twins: list[Device]) -> Example:
    """The ambiguous request in a home where its words name one device: the call."""
    home = replace(r.home, devices=tuple(d for d in r.home.devices if d not in twins))
    satellite = r.satellite if home.in_area(r.satellite) else None
    made = Turn(turn.text, "", [action.call], turn.template_ids, [action.device.name_id])
    return Example("single_device", "contrast", [made], home, satellite)


def ambiguous_turn(r: Request) -> tuple[Turn, str, list[Action], str] | None:
    """A request whose words fit two to four devices of one kind: ask which one."""
    groups = r.shuffled(r.names.ambiguous().items())
    if r.view.is_test:  # words that fit held-out names first
        groups.sort(key=lambda item: not any(d.heldout_name for d in item[1]))
    for words, found in groups:
        in_area = [d for d in found if d.area == r.satellite] if r.satellite else []
        if len(in_area) == 1:
            continue  # the speaker's area settles it: that's an area example
        options = in_area or found
        labels = _labels(r, options)
        if not 2 <= len(options) <= 4 or len({d.domain for d in options}) != 1 or labels is None:
            continue
        domain = options[0].domain
        for intent in r.intent_order(
            [i for i in DEVICE_INTENTS if domain in INTENTS[i].domains and i not in ("todo_add", "timer_start")]
        ):
            planned = r.plans(intent, options)
            templates = r.templates(intent, "say", domain, need={"device"})
            if len(planned) != len(options) or not templates:
                continue
            template = r.pick(templates)
            action = r.fit_amount(planned[0], template)
            others = [r.same_request(action, d) for d in options[1:]] if action else []
            if action is None or None in others:
                continue
            text, values = r.words_for(template, action, device=words)
            sentence = r.responder.say("ask.which", noun=words.lower(), options=r.lang.options(labels))
            turn = Turn(r.user_says(text, values), sentence, [], [template.id], [d.name_id for d in options])
            return turn, intent, [action, *others], words
    return None


def _labels(r: Request, devices: list[Device]) -> list[str] | None:
    """How the question names the choices: by name, adding the area where names repeat
    (None when they can't be told apart in the prompt)."""
    labels = []
    for device in devices:
        twins = [d for d in devices if d.name.lower() == device.name.lower()]
        if len(twins) == 1:
            labels.append(device.name)
        elif r.compat or not device.area or len({d.area for d in twins}) != len(twins):
            return None
        else:
            labels.append(f"{device.name} in the {device.area}")
    return labels
