"""Calls on one of several devices that share a name, when nothing says which one.

A home may have two devices of one kind with the same name in different areas (a Night Light in
the nursery and one in the guest room). "Turn on the night light" leaves the choice open: the
training data asks back then ("Which night light do you mean: the Night Light in the Nursery or
the Night Light in the Guest Room?"), and a call on either one would be the model's guess. A call
on such a device stands when something settles it, by the first of:
- a place the request names besides the name itself and the names of other devices it calls (an
  area or a floor that holds one of them: "the night light in the nursery", "the one upstairs"),
  else an alias only one of them has; a place that settles it on another of them moves the call
  there;
- the name said in the plural ("the night lights"): every one of them gets the call;
- the conversation, when the request doesn't say the name at all ("turn it off" after "turn on the
  night light in the nursery");
- the speaker's area, when exactly one of them is there;
- calls on every one of them already, or a command on a group in a place ("the lights upstairs").
Otherwise the reply is that question back and nothing runs. Devices the question could not tell
apart (no area, or two in one area) are left as the model called them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .ask_back import question_back
from .groups import floor_said, whole_group
from .home import Entity, Home
from .relevance import areas_named, within, word_list
from .reply import ModelCall
from .validation import find_target


def twins_of(home: Home, entity: Entity) -> list[Entity]:
    """The devices of the entity's kind with its name, itself included, in prompt order."""
    name = word_list(entity.name)
    return [e for e in home.entities if e.domain == entity.domain and word_list(e.name) == name]


def settle_twins(
    home: Home, calls: Sequence[ModelCall], text: str, *, user_area: str | None = None, in_conversation: bool = False
) -> list[ModelCall] | str:
    """The calls, each call on a device with a twin moved to the one the request settles (or
    copied onto every twin, for the name in the plural); or the question back when a call's
    choice is left open."""
    if whole_group(home, text, calls, user_area) is not None:
        return list(calls)  # "the lights upstairs": every one there is meant
    settled: list[ModelCall] = []
    targets = [find_target(home, c.target) for c in calls]
    called_entities = [e for e in targets if e is not None]
    called = {e.entity_id for e in called_entities}
    for call, entity in zip(calls, targets, strict=True):
        twins = twins_of(home, entity) if entity is not None else []
        if entity is None or len(twins) < 2 or {t.entity_id for t in twins} <= called:
            settled.append(call)
            continue
        # Another called device's name says nothing about this one ("the Guest Bedroom Shutters
        # and the Roman Blind" names no guest bedroom blind).
        others = [word_list(e.name) for e in called_entities if e.entity_id != entity.entity_id and e not in twins]
        chosen = _chosen(home, twins, _without(word_list(text), *others), user_area, in_conversation, entity)
        if chosen is None:
            question = _which(twins)
            if question is not None:
                return question
            chosen = [entity]
        settled += [call if t.entity_id == entity.entity_id else replace(call, target=t.entity_id) for t in chosen]
    unique: list[ModelCall] = []
    for call in settled:  # a call copied onto a twin the model called too
        if call not in unique:
            unique.append(call)
    return unique


def _chosen(
    home: Home, twins: list[Entity], said: list[str], user_area: str | None, in_conversation: bool, called: Entity
) -> list[Entity] | None:
    """The twins the request's words mean, or None when they leave the choice open."""
    name = word_list(called.name)
    rest = _without(said, name)
    by_place = [t for t in twins if _place_said(home, t, rest)]
    by_alias = [t for t in twins if _own_alias_said(t, twins, said, name)]
    for picked in (by_place, by_alias):
        if len(picked) == 1:
            return picked
    if by_place or by_alias:
        return None
    if _plural_said(name, said):
        return twins
    if in_conversation and len(rest) == len(said) and not _own_alias_said(called, [called], said, name):
        return [called]  # the request doesn't say the name: the conversation said which
    here = [t for t in twins if user_area is not None and t.area == user_area]
    return here if len(here) == 1 else None


def _without(said: list[str], *names: list[str]) -> list[str]:
    """The words with every occurrence of the names taken out: a name's own words ("the Kitchen
    Light") are no place."""
    rest, i = [], 0
    while i < len(said):
        found = next((n for n in names if n and said[i : i + len(n)] == n), None)
        if found:
            i += len(found)
        else:
            rest.append(said[i])
            i += 1
    return rest


def _place_said(home: Home, entity: Entity, rest: list[str]) -> bool:
    """Whether the words name the device's area or its floor ("upstairs" too)."""
    if not entity.area:
        return False
    floor = floor_said(home, set(rest))
    return entity.area in areas_named(home, " ".join(rest)) or (floor is not None and home.floors.get(entity.area) == floor)


def _own_alias_said(entity: Entity, twins: list[Entity], said: list[str], name: list[str]) -> bool:
    """Whether the words hold an alias of this device that no other twin has, other than as a
    part of the shared name ("plug" inside "smart plug" says nothing)."""
    others = {tuple(word_list(a)) for t in twins if t is not entity for a in (t.name, *t.aliases)}
    in_name = {
        i + k for i in range(len(said)) if name and said[i : i + len(name)] == name for k in range(len(name))
    }  # the word positions that belong to the name
    for alias in entity.aliases:
        words = word_list(alias)
        if not words or tuple(words) in others:
            continue
        for i in range(len(said) - len(words) + 1):
            if said[i : i + len(words)] == words and not set(range(i, i + len(words))) <= in_name:
                return True
    return False


def _plural_said(name: list[str], said: list[str]) -> bool:
    if not name or name[-1].endswith("s"):
        return False
    return within([*name[:-1], name[-1] + "s"], said)


def _which(twins: list[Entity]) -> str | None:
    areas = [t.area for t in twins]
    if None in areas or len(set(areas)) != len(areas):
        return None  # the question could not tell them apart
    return question_back(twins[0].name.lower(), [f"{t.name} in the {t.area}" for t in twins])
