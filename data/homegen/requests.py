"""One request in the making: a home, a speaker, a persona, and helpers that turn an
intended action into the user's words and the assistant's reply. The category builders
(categories/) decide what is asked; this decides how it is said."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from home_llm_core import home_format
from home_llm_core.home_format import ServiceCall, to_model_call, validate_calls

from .homes import GenHome
from .intents import INTENTS, Action, Context, allowed
from .languages.en import English
from .phrasing import Phrasing, protected_words
from .piles import Template
from .references import NameIndex, Reference
from .responses import Responder
from .splits import HELDOUT_TARGET_PREFERENCE, PileView

# How often each kind of reference is used when several fit.
REFERENCE_WEIGHTS = {"name": 6, "alias": 3, "short": 2, "noun": 1.5, "short_in_area": 1, "area_noun": 1.5}


@dataclass
class Turn:
    text: str  # what the user said
    sentence: str  # the assistant's sentence
    calls: list[ServiceCall] = field(default_factory=list)
    template_ids: list[str] = field(default_factory=list)
    name_ids: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)  # the devices a question was about


@dataclass
class Example:
    category: str
    intent: str
    turns: list[Turn]
    home: GenHome  # as the last turn sees it
    satellite: str | None


class Request:
    def __init__(
        self,
        rng: random.Random,
        view: PileView,
        lang: English,
        home: GenHome,
        preset: str,
        persona: str,
        now: datetime,
        *,
        first_phrasing: bool = False,
    ) -> None:
        self.rng, self.view, self.lang, self.home, self.now = rng, view, lang, home, now
        self.words = view.piles.words
        self.compat = home_format.PRESETS[preset].compat
        self.floors_shown = home_format.PRESETS[preset].floors
        self.capabilities_shown = home_format.PRESETS[preset].capabilities
        self.calls_only = home_format.PRESETS[preset].calls_only  # a command's reply is its calls alone
        self.names = NameIndex(home, lang, show_aliases=not self.compat)
        self.ctx = Context(rng, home.temperature_unit, lang, self.words)
        self.phrasing = Phrasing(rng, lang, self.words)
        self.responder = Responder(rng, view.piles, persona, lang, first_phrasing=first_phrasing)
        self.satellite: str | None = None

    # ---- choosing what to ask ------------------------------------------------------------

    def weighted_order(self, weights: dict) -> list:
        """The keys in a random order where heavier ones tend to come first."""
        return sorted(weights, key=lambda key: -(self.rng.random() ** (1 / weights[key])))

    def intent_order(self, names: list[str]) -> list[str]:
        """Intents that have a device in this home, in a weighted random order."""
        domains = {d.domain for d in self.home.devices}
        return self.weighted_order({n: INTENTS[n].weight for n in names if INTENTS[n].domains & domains})

    def plans(self, intent: str, devices=None) -> list[Action]:
        """The action of this intent on every device it fits and the preset offers."""
        spec = INTENTS[intent]
        result = []
        for device in devices if devices is not None else self.home.devices:
            if device.domain not in spec.domains:
                continue
            action = spec.plan(self.ctx, device)
            if action is not None and (action.already or allowed(action.call, self.compat)):
                result.append(action)
        return result

    def replan(self, action: Action, amount: str) -> Action | None:
        """The same intent with a fixed relative amount (the template said none)."""
        self.ctx.amount = amount
        try:
            return INTENTS[action.intent].plan(self.ctx, action.device)
        finally:
            self.ctx.amount = None

    def copy_to(self, action: Action, device) -> Action | None:
        """The same call (service and data) on another device, if it is valid there."""
        if action.call is None or device.domain != action.device.domain:
            return None
        call = ServiceCall(action.call.domain, action.call.service, device.entity.entity_id, dict(action.call.data))
        _valid, rejected = validate_calls(self.home.home, [to_model_call(call)])
        if rejected:
            return None
        return replace(action, device=device, call=call)

    def same_request(self, action: Action, device) -> Action | None:
        """What the same words ask of another device: the same relative step ("a bit
        brighter" from its own brightness), the same value, or the same state."""
        if "amount" in action.slots:
            return self.replan(replace(action, device=device), action.slots["amount"][1])
        if action.slots:
            return self.copy_to(action, device)
        planned = self.plans(action.intent, [device])
        return planned[0] if planned else None

    def update_home(self, home: GenHome) -> None:
        """The same devices in new states (after a first turn's calls ran)."""
        self.home = home
        self.names.home = home  # names and aliases didn't change

    def target_order(self, devices: list) -> list:
        """Devices in random order; in the test split mostly held-out names first."""
        shuffled = self.shuffled(devices)
        if self.view.is_test and self.rng.random() < HELDOUT_TARGET_PREFERENCE:
            shuffled.sort(key=lambda d: not d.heldout_name)
        return shuffled

    def shuffled(self, items) -> list:
        """Items in random order. Sets are sorted first: their order changes from one
        process to the next (string hashing), and the output must not."""
        result = sorted(items) if isinstance(items, (set, frozenset)) else list(items)
        self.rng.shuffle(result)
        return result

    def pick(self, options: list):
        return self.rng.choice(options)

    def pick_target(self, options: list):
        """An action or device, preferring held-out names in the test split."""
        return self.view.pick_target(self.rng, options, lambda o: getattr(o, "device", o).heldout_name)

    def reference(self, device) -> Reference | None:
        refs = self.names.unique(device, with_areas=not self.compat)
        if not refs:
            return None
        return self.rng.choices(refs, weights=[REFERENCE_WEIGHTS[r.kind] for r in refs])[0]

    def only_one(self, intent: str, device, area: str | None = None) -> bool:
        """Whether the device is the only one of the intent's domains (in the area, if given):
        then a request may leave it unnamed ("set a timer for ten minutes")."""
        domains = INTENTS[intent].domains
        pool = self.home.devices if area is None else self.home.in_area(area)
        return [d for d in pool if d.domain in domains] == [device]

    def templates(
        self, intent: str, form: str, domain: str | None = None, need: set[str] = frozenset(), without: set[str] = frozenset()
    ) -> list[Template]:
        return [t for t in self.view.templates(intent, form, domain) if need <= t.slots and not (without & t.slots)]

    # ---- saying it ----------------------------------------------------------------------------

    def words_for(self, template: Template, action: Action | None = None, **slots: str) -> tuple[str, list[str]]:
        """The template filled in (before noise) and the spoken values in it."""
        values = []
        if action is not None:
            for slot, (kind, raw) in action.slots.items():
                if slot in template.slots:
                    spoken = self.phrasing.spoken(kind, raw, self.home.temperature_unit)
                    slots[slot] = spoken
                    values.append(spoken)
        missing = template.slots - set(slots)
        if missing:
            raise ValueError(f"template {template.id} needs {sorted(missing)}")
        return self.phrasing.fill(template.text, slots), values

    def user_says(self, text: str, values: list[str], question: bool = False) -> str:
        return self.phrasing.user_text(text, protected_words(values), question)

    def action_sentence(self, actions: list[Action]) -> str:
        clauses = [self.clause(a) for a in actions]
        return self.responder.action(clauses)

    def clause(self, action: Action) -> str:
        return self.responder.clause(action.intent, name=action.device.name, value=action.reply_value or "")

    def action_turn(self, actions: list[Action], template: Template, ref: Reference | None, **slots: str) -> Turn:
        """A one-action request from a template: the user's words, the reply and the truth."""
        if ref is not None:
            slots["device"] = ref.text
        text, values = self.words_for(template, actions[0], **slots)
        return Turn(
            text=self.user_says(text, values),
            sentence=self.action_sentence(actions),
            calls=[a.call for a in actions],
            template_ids=[template.id],
            name_ids=[a.device.name_id for a in actions],
        )

    def say_action(self, action: Action, templates: list[Template], refs: list[Reference]) -> Turn | None:
        """The action in one of these templates; those naming the device use one of the refs."""
        if not templates:
            return None
        template = self.pick(templates)
        action = self.fit_amount(action, template)
        if action is None or action.already:
            return None
        return self.action_turn([action], template, self.pick(refs) if "device" in template.slots else None)

    def named_actions(self, intents: list[str], form: str, keep) -> Iterator[tuple[Action, Reference, Template]]:
        """For each intent in weighted order, an action that `keep` accepts, a reference that
        names its device and a template of this form that names it."""
        for intent in self.intent_order(intents):
            actions = [a for a in self.plans(intent) if keep(a)]
            if not actions:
                continue
            action = self.pick_target(actions)
            ref = self.reference(action.device)
            templates = self.templates(intent, form, action.device.domain, need={"device"})
            if ref is not None and templates:
                yield action, ref, self.pick(templates)

    def fit_amount(self, action: Action, template: Template) -> Action | None:
        """A relative change said without "a bit" or "a lot" moves by the default step."""
        if "amount" in action.slots and "amount" not in template.slots and action.slots["amount"][1] != "default":
            return self.replan(action, "default")
        return action
