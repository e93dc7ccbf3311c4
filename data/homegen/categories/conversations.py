"""Conversations: a second user turn that builds on the first (7), and chit-chat (8)."""

from __future__ import annotations

from home_llm_core import home_format
from home_llm_core.home_format.domains import apply_call

from ..intents import OPPOSITES, Action
from ..requests import Example, Request, Turn
from .commands import GROUP_INTENTS, MAX_CALLS, group_action_turn, group_areas, group_turn, single_turn
from .questions import ASKERS
from .refusals import ambiguous_turn


def follow_up(r: Request) -> Example | None:
    flows = {_too: 2, _too_area: 1, _adjust: 2, _undo: 1.2, _ask_then_act: 1.5, _pick_one: 1.5, _never_mind: 0.8}
    for flow in r.weighted_order(flows):
        example = flow(r)
        if example is not None:
            return example
    return None


def _after(r: Request, first: Turn) -> None:
    """The first turn's calls ran: the second turn's prompt shows the changed states."""
    now_ts = int(r.now.timestamp()) - r.rng.randint(3, 40)
    changed = {}
    for call in first.calls:
        entity = changed.get(call.entity_id) or r.home.device(call.entity_id).entity
        changed[call.entity_id] = apply_call(entity, call, now_ts)
    r.update_home(r.home.with_entities(changed))


def _second(r: Request, first: Turn, second: Turn, intent: str) -> Example:
    return Example("follow_up", intent, [first, second], r.home, r.satellite)


def _followup_turn(r: Request, action: Action, intent: str | None = None) -> Turn | None:
    return r.say_action(action, r.templates(intent or action.intent, "followup", action.device.domain), [])


def _act_again(r: Request, turn1: Turn, device, intents: list[str], flow: str) -> Example | None:
    """The first of these intents the device can still do, said as the second turn ("it")."""
    for intent in intents:
        planned = [a for a in r.plans(intent, [device]) if not a.already]
        turn2 = _followup_turn(r, planned[0]) if planned else None
        if turn2 is not None:
            return _second(r, turn1, turn2, f"{flow}.{intent}")
    return None


def _first_action(r: Request, intents: list[str], domain: str | None = None) -> tuple[Turn, Action] | None:
    devices = [d for d in r.home.devices if domain is None or d.domain == domain]
    for intent in r.intent_order(intents):
        actions = [a for a in r.plans(intent, devices) if not a.already]
        if actions:
            action = r.pick_target(actions)
            turn = single_turn(r, action)
            if turn is not None:
                return turn, action
    return None


def _too(r: Request) -> Example | None:
    """First "turn on the kitchen light", then "and the hall light too"."""
    first = _first_action(
        r, ["on", "off", "open", "close", "lock", "unlock", "brightness", "color", "pause", "activate", "temperature"]
    )
    if first is None:
        return None
    turn1, action = first
    others = [d for d in r.home.devices if d.domain == action.device.domain and d is not action.device]
    for device in r.shuffled(others):
        again = r.copy_to(action, device)
        ref = r.reference(device)
        planned = r.plans(action.intent, [device])
        if again is None or ref is None or not planned or planned[0].already:
            continue
        templates = r.templates("too", "followup", need={"device"})
        if not templates:
            return None
        template = r.pick(templates)
        _after(r, turn1)
        text, values = r.words_for(template, device=ref.text)
        turn2 = Turn(r.user_says(text, values), r.action_sentence([again]), [again.call], [template.id], [device.name_id])
        return _second(r, turn1, turn2, f"too.{action.intent}")
    return None


def _too_area(r: Request) -> Example | None:
    """First "turn off the lights in the kitchen", then "and the bedroom too"."""
    if r.compat:  # areas are only in the Home LLM prompt
        return None
    for area_name in group_areas(r):
        for intent in r.shuffled(("group_on", "group_off", "group_open", "group_close")):
            made = group_turn(r, intent, area_name, need_area=True)
            if made is None:
                continue
            turn1, actions = made
            group = actions[0].device.group
            for other in group_areas(r):
                members = [d for d in r.home.in_area(other) if d.group == group] if other != area_name else []
                planned = [a for a in r.plans(GROUP_INTENTS[intent][0], members) if not a.already]
                templates = r.templates("too_area", "followup", need={"area"})
                if not planned or len(planned) > MAX_CALLS or not templates:
                    continue
                _after(r, turn1)
                template = r.pick(templates)
                text, values = r.words_for(template, area=other)
                spoken = r.pick(r.words["groups"][group])
                turn2 = group_action_turn(r, intent, (text, values, template.id), other, spoken, planned)
                return _second(r, turn1, turn2, f"too_area.{intent}")
    return None


_ADJUSTMENTS = {
    "light": (["on", "brightness", "color"], ["brighter", "dimmer", "brightness", "color", "off"]),
    "climate": (["temperature", "hvac_mode", "on"], ["warmer", "cooler", "temperature"]),
    "media_player": (["play", "volume_set", "on"], ["volume_up", "volume_down", "volume_set", "next_track", "pause", "mute"]),
    "cover": (["open", "close"], ["position", "stop"]),
    "fan": (["on", "fan_speed"], ["faster", "slower", "fan_speed"]),
}


def _adjust(r: Request) -> Example | None:
    """First "turn on the desk lamp", then "make it a bit brighter", from the new state."""
    domain = r.pick(sorted(_ADJUSTMENTS))
    firsts, seconds = _ADJUSTMENTS[domain]
    first = _first_action(r, firsts, domain)
    if first is None:
        return None
    turn1, action = first
    _after(r, turn1)
    return _act_again(r, turn1, r.home.device(action.device.entity.entity_id), r.shuffled(seconds), "adjust")


def _undo(r: Request) -> Example | None:
    """First "open the garage door", then "actually close it again"."""
    first = _first_action(r, list(OPPOSITES))
    if first is None:
        return None
    turn1, action = first
    _after(r, turn1)
    return _act_again(r, turn1, r.home.device(action.device.entity.entity_id), [OPPOSITES[action.intent]], "undo")


_ASK_THEN = {
    "ask_on": ("on", "off"),
    "ask_off": ("on", "off"),
    "ask_open": ("open", "close"),
    "ask_closed": ("open", "close"),
    "ask_locked": ("lock", "unlock"),
    "ask_unlocked": ("lock", "unlock"),
}


def _ask_then_act(r: Request) -> Example | None:
    """First "is the garage door open?" (answered), then "close it"."""
    ask = r.pick(sorted(_ASK_THEN))
    turn1 = ASKERS[ask](r, ask)
    if turn1 is None:
        return None
    return _act_again(r, turn1, r.home.device(turn1.entity_ids[0]), _ASK_THEN[ask], "ask_then")


def _pick_one(r: Request) -> Example | None:
    """First "turn on the lamp" (which one?), then "the one in the bedroom"."""
    made = ambiguous_turn(r)
    if made is None:
        return None
    turn1, intent, planned, _ = made
    options = [a for a in planned if not a.already]
    if not options:
        return None
    chosen = r.pick_target(options)
    areas = [a.device.area for a in planned]
    by_area = bool(chosen.device.area) and areas.count(chosen.device.area) == 1 and not r.compat
    by_name = len(r.names.exact(chosen.device.name)) == 1
    templates = (r.templates("pick", "followup", need={"device"}) if by_name else []) + (
        r.templates("pick", "followup", need={"area"}) if by_area else []
    )
    if not templates:
        return None
    template = r.pick(templates)
    slots = {"device": chosen.device.name} if "device" in template.slots else {"area": chosen.device.area}
    text, values = r.words_for(template, **slots)
    turn2 = Turn(r.user_says(text, values), r.action_sentence([chosen]), [chosen.call], [template.id], [chosen.device.name_id])
    return _second(r, turn1, turn2, f"pick.{intent}")


def _never_mind(r: Request) -> Example | None:
    made = ambiguous_turn(r)
    templates = r.templates("never_mind", "followup")
    if made is None or not templates:
        return None
    template = r.pick(templates)
    text, values = r.words_for(template)
    turn2 = Turn(r.user_says(text, values, question=True), r.responder.say("ask.never_mind"), [], [template.id], [])
    return _second(r, made[0], turn2, f"never_mind.{made[1]}")


# ---- 8. chit-chat ---------------------------------------------------------------------------------------------


def chit_chat(r: Request) -> Example | None:
    kind = r.pick(sorted(r.view.chitchat))
    chat = r.pick(r.view.chitchat[kind])
    slots = {"assistant": home_format.DEFAULT_PERSONA, "time": r.lang.time_text(r.now), "date": r.lang.date_text(r.now)}
    turn = Turn(r.user_says(chat.text, [], question=True), r.responder.say(f"chat.{kind}", **slots), [], [chat.id], [])
    return Example("chit_chat", kind, [turn], r.home, r.satellite)
