"""Requests that act: one device (1), an area or the whole house (2), several devices in
one sentence (3)."""

from __future__ import annotations

from home_llm_core.home_format.groups import FLOOR_LEVELS

from ..homes import COVER_GROUPS, Device
from ..intents import INTENTS, Action, shown_brightness
from ..requests import Example, Request, Turn

MAX_CALLS = 8  # the grammar's limit on calls in one reply
DEVICE_INTENTS = list(INTENTS)
PAIR_INTENTS = ["on", "off", "open", "close", "lock", "unlock", "pause", "toggle", "press", "activate"]
# Area commands: the intent each applies to every member, and the group words it may use.
GROUP_INTENTS = {
    "group_on": ("on", ("lights", "fans")),
    "group_off": ("off", ("lights", "fans")),
    "group_open": ("open", tuple(COVER_GROUPS.values())),
    "group_close": ("close", tuple(COVER_GROUPS.values())),
    "group_brightness": ("brightness", ("lights",)),
}
WINDOW_GROUPS = frozenset(COVER_GROUPS.values())


def single_device(r: Request) -> Example | None:
    for intent in r.intent_order(DEVICE_INTENTS):
        actions = [a for a in r.plans(intent) if not a.already]
        if not actions:
            continue
        action = r.pick_target(actions)
        turn = single_turn(r, action)
        if turn is not None:
            return Example("single_device", intent, [turn], r.home, r.satellite)
    return None


def single_turn(r: Request, action: Action, form: str = "say") -> Turn | None:
    """The action said with the device named (or left out where it is the only one)."""
    device = action.device
    ref = r.reference(device)
    options = r.templates(action.intent, form, device.domain, need={"device"}) if ref else []
    if r.only_one(action.intent, device):
        options += r.templates(action.intent, form, device.domain, without={"device"})
    return r.say_action(action, options, [ref])


# ---- 2. areas and groups ------------------------------------------------------------------------


def area(r: Request) -> Example | None:
    builders = [_explicit_group, _house_group] + ([_satellite_group, _satellite_device] if not r.compat else [])
    builders += [_floor_group, _floor_group] if r.floors_shown else []  # twice: it fits fewer homes
    for builder in r.shuffled(builders):
        example = builder(r)
        if example is not None:
            return example
    return None


def group_members(r: Request, area_name: str, group: str | None, intent: str) -> list[Device]:
    """Devices an area command reaches: the group's members, or every window covering."""
    words = (group,) if group else tuple(w for w in GROUP_INTENTS[intent][1] if w in WINDOW_GROUPS)
    return [d for d in r.home.in_area(area_name) if d.group in words]


def _group_actions(r: Request, intent: str, members: list[Device]) -> list[Action] | None:
    """One action per member that isn't in the asked state yet; brightness is the same for all."""
    base = GROUP_INTENTS[intent][0]
    planned = r.plans(base, members)
    if len(planned) != len(members):  # a member that can't do it (an on/off-only light can't dim)
        return None
    if base == "brightness":
        first = planned[0]
        planned = [first] + [r.copy_to(first, m) for m in members[1:]]
        if any(a is None for a in planned):
            return None
        planned = [a for a in planned if shown_brightness(a.device) != first.call.data["brightness_pct"]]
    return [a for a in planned if not a.already]


def _group_names_agree(r: Request, area_name: str, members: list[Device], group: str | None) -> bool:
    """The Home v3 prompt has no areas: the area must be readable from the names alone."""
    if not r.compat:
        return True
    words = {group} if group else WINDOW_GROUPS
    named = r.names.matching(area_name, [d for d in r.home.devices if d.group in words])
    return set(named) == set(members)


def group_turn(r: Request, intent: str, area_name: str, need_area: bool) -> tuple[Turn, list[Action]] | None:
    options = r.templates(intent, "say", need={"area"}) if need_area else r.templates(intent, "say", without={"area"})
    groups = GROUP_INTENTS[intent][1]
    present = {d.group for d in r.home.in_area(area_name)} & set(groups)
    options = [t for t in options if "group" not in t.slots or present]
    if not options or not present:
        return None
    template = r.pick(options)
    group = r.pick(sorted(present)) if "group" in template.slots else None
    members = group_members(r, area_name, group, intent)
    if not members or (need_area and not _group_names_agree(r, area_name, members, group)):
        return None
    actions = _group_actions(r, intent, members)
    if not actions or len(actions) > MAX_CALLS:
        return None
    group_word = group or r.pick(sorted({m.group for m in members}))
    spoken_group = r.pick(r.words["groups"][group_word])
    if names_a_device(r, area_name, spoken_group, members):
        return None
    text, values = r.words_for(template, actions[0], area=area_name, group=spoken_group)
    return group_action_turn(r, intent, (text, values, template.id), area_name, spoken_group, actions), actions


def group_action_turn(r: Request, intent: str, said: tuple[str, list[str], str], area_name: str, group: str, actions) -> Turn:
    """What the user said (text, spoken values, template id) and the reply for an area command."""
    text, values, template_id = said
    clause = r.responder.clause(intent, group=group, area=area_name, value=actions[0].reply_value or "")
    calls, name_ids = [a.call for a in actions], [a.device.name_id for a in actions]
    return Turn(r.user_says(text, values), r.responder.action([clause]), calls, [template_id], name_ids)


def names_a_device(r: Request, area_name: str, group_word: str, members: list[Device] | None = None) -> bool:
    """Whether "the garden lights" names devices other than the group's members (a device
    called "Garden Lights" beside a flood light): then the words don't mean the group."""
    found = r.names.matching(f"{area_name} {group_word}")
    return bool(found) and (members is None or set(found) != set(members))


def group_areas(r: Request) -> list[str]:
    return r.shuffled({d.area for d in r.home.devices if d.group and d.area})


def _explicit_group(r: Request) -> Example | None:
    for intent in r.shuffled(GROUP_INTENTS):  # intent first: blinds are in fewer areas than lights
        for area_name in group_areas(r):
            made = group_turn(r, intent, area_name, need_area=True)
            if made:
                return Example("area", intent, [made[0]], r.home, r.satellite)
    return None


def _satellite_group(r: Request) -> Example | None:
    for intent in r.shuffled(GROUP_INTENTS):
        for area_name in group_areas(r):
            made = group_turn(r, intent, area_name, need_area=False)
            if made:
                r.satellite = area_name
                return Example("area", intent, [made[0]], r.home, r.satellite)
    return None


def _house_group(r: Request) -> Example | None:
    intent = r.pick(["house_on", "house_off"])
    base = "on" if intent == "house_on" else "off"
    lights = [d for d in r.home.devices if d.domain == "light"]
    actions = [a for a in r.plans(base, lights) if not a.already]
    templates = r.templates(intent, "say")
    if not 2 <= len(actions) <= MAX_CALLS or not templates:
        return None
    template = r.pick(templates)
    text, values = r.words_for(template)
    sentence = r.responder.action([r.responder.clause(intent)])
    turn = Turn(
        r.user_says(text, values), sentence, [a.call for a in actions], [template.id], [a.device.name_id for a in actions]
    )
    return Example("area", intent, [turn], r.home, r.satellite)


def _floor_group(r: Request) -> Example | None:
    """Turn off the lights upstairs: every light (or fan) on the floor, each one called."""
    area_floors = r.home.area_floors()
    floors = sorted(set(area_floors.values()))
    if not floors:
        return None
    floor = r.pick(floors)
    intent = r.pick(["floor_on", "floor_off"])
    group = r.pick(["lights", "lights", "fans"])
    members = [d for d in r.home.devices if d.group == group and area_floors.get(d.area or "") == floor]
    actions = [a for a in r.plans("on" if intent == "floor_on" else "off", members) if not a.already]
    templates = r.templates(intent, "say")
    if not 2 <= len(actions) <= MAX_CALLS or not templates:
        return None
    spoken_floors = [f"on the {floor.lower()}"]
    if len(floors) == 2:
        here, other = FLOOR_LEVELS.get(floor, 1), FLOOR_LEVELS.get(next(f for f in floors if f != floor), 1)
        if here != other:
            spoken_floors.append("upstairs" if here > other else "downstairs")
    template = r.pick(templates)
    spoken_group = r.pick(r.words["groups"][group])
    text, values = r.words_for(template, floor=r.pick(spoken_floors), group=spoken_group)
    sentence = r.responder.action([r.responder.clause(intent, group=spoken_group, floor=floor)])
    turn = Turn(
        r.user_says(text, values), sentence, [a.call for a in actions], [template.id], [a.device.name_id for a in actions]
    )
    return Example("area", intent, [turn], r.home, r.satellite)


def _satellite_device(r: Request) -> Example | None:
    """From the bedroom, "turn on the lamp": the only lamp there is the one meant."""
    for intent in r.intent_order(DEVICE_INTENTS):
        for action in r.shuffled(a for a in r.plans(intent) if not a.already and a.device.area):
            device = action.device
            refs = r.names.from_satellite(device, device.area)
            options = r.templates(intent, "say", device.domain, need={"device"}) if refs else []
            if not r.only_one(intent, device) and r.only_one(intent, device, device.area):
                options += r.templates(intent, "say", device.domain, without={"device"})
            turn = r.say_action(action, options, refs)
            if turn is not None:
                r.satellite = device.area
                return Example("area", intent, [turn], r.home, r.satellite)
    return None


# ---- 3. several devices in one sentence ------------------------------------------------------------


def multi_device(r: Request) -> Example | None:
    if r.rng.random() < 0.3:
        return _pair(r)
    wanted = 2 if r.rng.random() < 0.7 else 3
    picked: list[tuple[Action, str, str]] = []  # (action, clause text, template id)
    values: list[str] = []
    used: set[str] = set()

    def fresh(action: Action) -> bool:  # still to do, on a device no other clause uses
        return not action.already and action.device.entity.entity_id not in used

    for action, ref, template in r.named_actions(DEVICE_INTENTS, "clause", fresh):
        text, spoken = r.words_for(template, action, device=ref.text)
        picked.append((action, text, template.id))
        values += spoken
        used.add(action.device.entity.entity_id)
        if len(picked) == wanted:
            break
    if len(picked) < 2:
        return None
    joiners = r.words["joiners"]
    texts = [t for _, t, _ in picked]
    sentence = texts[0] + (
        r.pick(joiners["two"]) + texts[1]
        if len(texts) == 2
        else "".join(r.pick(joiners["list"]) + t for t in texts[1:-1]) + r.pick(joiners["last"]) + texts[-1]
    )
    actions = [a for a, _, _ in picked]
    turn = Turn(
        r.user_says(sentence, values),
        r.action_sentence(actions),
        [a.call for a in actions],
        ["+".join(i for _, _, i in picked)],
        [a.device.name_id for a in actions],
    )
    return Example("multi_device", "+".join(a.intent for a in actions), [turn], r.home, r.satellite)


def _pair(r: Request) -> Example | None:
    """One verb, two devices: "turn on the fan and the desk lamp"."""
    for intent in r.intent_order(PAIR_INTENTS):
        actions = [a for a in r.plans(intent) if not a.already]
        with_refs = [(a, ref) for a in actions if (ref := r.reference(a.device)) is not None]
        if len(with_refs) < 2:
            continue
        (first, ref1), (second, ref2) = r.rng.sample(with_refs, 2)
        templates = [
            t
            for t in r.templates(intent, "clause", first.device.domain, need={"device"})
            if second.device.domain in (t.domains or {second.device.domain})
        ]
        if not templates:
            continue
        template = r.pick(templates)
        both = f"{ref1.text} and the {ref2.text}" if "the {device}" in template.text else f"{ref1.text} and {ref2.text}"
        turn = r.action_turn([first, second], template, None, device=both)
        return Example("multi_device", f"{intent}+{intent}", [turn], r.home, r.satellite)
    return None
