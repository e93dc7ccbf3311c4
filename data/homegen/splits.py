"""Honest splits. Every pile marks some entries as held out: device names, sentence
templates, chit-chat lines and home layouts. Training sees none of them; the test split
is built from the held-out templates and layouts only, and its homes mix held-out device
names with seen ones (real homes have common names too), preferring the held-out ones as
the devices a request is about. So test scores measure generalization, not memory."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from .piles import ChitChat, DeviceName, Layout, Piles, Template, template_shapes

SPLITS = ("train", "test")
HELDOUT_NAME_SHARE = 0.5  # test homes: chance that a device is named from the held-out names
HELDOUT_TARGET_PREFERENCE = 0.8  # test requests: chance to pick a held-out-named device when one fits


@dataclass
class PileView:
    """What one split may draw from."""

    split: str
    piles: Piles
    _templates: dict[tuple[str, str], list[Template]] = field(default_factory=dict)
    _names: dict[str, tuple[list[DeviceName], list[DeviceName]]] = field(default_factory=dict)
    layouts: list[Layout] = field(default_factory=list)
    chitchat: dict[str, list[ChitChat]] = field(default_factory=dict)

    @property
    def is_test(self) -> bool:
        return self.split == "test"

    def templates(self, intent: str, form: str, domain: str | None = None) -> list[Template]:
        found = self._templates.get((intent, form), [])
        if domain is None:
            return found
        return [t for t in found if t.domains is None or domain in t.domains]

    def device_names(self, rng: random.Random, domain: str, tries: int = 4) -> Iterator[DeviceName]:
        """A few names to try for one device, in order (test homes: held-out names half the time)."""
        seen, held_out = self._names.get(domain, ([], []))
        pool = held_out if self.is_test and held_out and rng.random() < HELDOUT_NAME_SHARE else seen
        for _ in range(tries):
            yield rng.choice(pool)

    def missing_names(self, domain: str) -> list[DeviceName]:
        """Names a refusal may use for a device that isn't there."""
        seen, held_out = self._names.get(domain, ([], []))
        return held_out + seen if self.is_test else seen

    def pick_target(self, rng: random.Random, candidates: list, heldout: Callable[[object], bool]) -> object:
        """A device (or action) for the request; the test split prefers held-out names."""
        if self.is_test:
            preferred = [c for c in candidates if heldout(c)]
            if preferred and rng.random() < HELDOUT_TARGET_PREFERENCE:
                return rng.choice(preferred)
        return rng.choice(candidates)


def view(piles: Piles, split: str) -> PileView:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    test = split == "test"
    result = PileView(split, piles)
    by_key: dict[tuple[str, str], list[Template]] = defaultdict(list)
    chosen = [t for t in piles.templates if t.holdout == test]
    if not test:
        held_out = {shape for t in piles.templates if t.holdout for shape in template_shapes(t.text)}
        chosen += [t for t in derived_templates(chosen) if not template_shapes(t.text) & held_out]
    for template in chosen:
        by_key[(template.intent, template.form)].append(template)
    result._templates = dict(by_key)
    names: dict[str, tuple[list[DeviceName], list[DeviceName]]] = defaultdict(lambda: ([], []))
    for name in piles.devices:
        names[name.domain][1 if name.holdout else 0].append(name)
    result._names = dict(names)
    result.layouts = [layout for layout in piles.layouts if layout.holdout == test]
    chats: dict[str, list[ChitChat]] = defaultdict(list)
    for chat in piles.chitchat:
        if chat.holdout == test:
            chats[chat.kind].append(chat)
    result.chitchat = dict(chats)
    return result


# A request that starts like this is a whole request, not a part of one ("turn on the fan and
# can you lock the door" is not how people join two commands).
_NOT_A_CLAUSE_START = re.compile(r"^(can|could|would|will|please|i|i'd|i'm|we|we're|let's|\{device\})(?= |$)")
# A phrasal verb's particle goes after "it" ("turn on the {device}" -> "turn it on"); a noun
# after the device makes it a possessive ("set the {device} speed" -> "set its speed").
_PHRASAL = re.compile(
    r"^((?:can you |please )?(?:turn|switch|power|shut|light|speed|slow|open|close|lock|fire|roll|draw))"
    r" (on|off|up|down|back) the \{device\}"
)
_OWNED = re.compile(r"the \{device\} (brightness|speed|volume|fan|humidity|color|colour|mode|preset|power)\b")
# Scenes and buttons: "it" would stand for a name the follow-up can't do without.
_NO_FOLLOWUP = ("activate", "press")


def derived_templates(templates: list[Template]) -> list[Template]:
    """More ways to say a clause and a follow-up, made from the training split's requests:
    "light up the {device}" is also a clause of a longer request and, with "it", a follow-up.
    Hand-written clause and follow-up templates are few per intent (one or two), so without
    these a model meets most verbs only in one-device requests. Training split only (view()
    leaves out any that reads like a held-out template): the test split keeps its own."""
    forms = {(t.intent, t.form, t.text) for t in templates}
    result = []
    for t in templates:
        if t.form != "say" or "{device}" not in t.text or t.text.endswith("?") or t.intent.startswith("ask_"):
            continue
        if not _NOT_A_CLAUSE_START.match(t.text) and (t.intent, "clause", t.text) not in forms:
            result.append(replace(t, id=f"{t.id}~clause", form="clause"))
        if t.intent.startswith(_NO_FOLLOWUP) or t.text.count("the {device}") != 1 or t.text.count("{device}") != 1:
            continue
        followup = _OWNED.sub(r"its \1", _PHRASAL.sub(r"\1 it \2", t.text)).replace("the {device}", "it")
        if (t.intent, "followup", followup) not in forms:
            result.append(replace(t, id=f"{t.id}~followup", form="followup", text=followup))
    return result
