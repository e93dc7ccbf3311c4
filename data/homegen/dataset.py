"""From a seed to JSONL lines: which category each example is, a random home and request
for it, the chat messages rendered by the format module, and the structured truth.

Every example has its own random stream (seed, split, index), so the output is the same
byte for byte whatever the number of worker processes."""

from __future__ import annotations

import json
import multiprocessing
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from home_llm_core.home_format import PRESETS, render_reply, render_system_prompt, render_turns, to_model_call
from home_llm_core.home_format.confirm import confirmation

from .categories import BUILDERS, CATEGORY_WEIGHTS
from .homes import GenHome, build_home
from .languages import get_language
from .piles import load_piles
from .requests import Example, Request, Turn
from .splits import view

ATTEMPTS = 40  # homes to try before giving up on a category (a tiny home may fit none)
FIRST_DAY, DAYS = datetime(2024, 1, 1), 4 * 365
CHUNK = 250  # examples per task sent to a worker process


@dataclass(frozen=True)
class Config:
    seed: int
    language: str = "en"
    preset: str = "home_llm"
    # Requests that share one rendered home, written one after another (their prompts differ at
    # most in the last lines): training packs them, processing what they share once.
    requests_per_home: int = 1
    # Shares of categories that differ from CATEGORY_WEIGHTS, e.g. (("refusal", 0.15),); the
    # others keep their relative shares and all are scaled to sum to 1.
    category_shares: tuple[tuple[str, float], ...] = ()


# The v2 format has one reply style: the plain persona, always its first phrasing.
PLAIN_PERSONA = "plain"


def category_weights(config: Config) -> dict[str, float]:
    """Each category's share of a split: CATEGORY_WEIGHTS with the config's changes, summing to 1."""
    changed = dict(config.category_shares)
    if not changed:
        return dict(CATEGORY_WEIGHTS)
    unknown = sorted(set(changed) - set(CATEGORY_WEIGHTS))
    if unknown:
        raise ValueError(f"unknown categories {unknown}; known: {sorted(CATEGORY_WEIGHTS)}")
    if any(not 0 <= share < 1 for share in changed.values()):
        raise ValueError(f"a category's share must be at least 0 and below 1: {changed}")
    rest = 1 - sum(changed.values())
    others = sum(w for c, w in CATEGORY_WEIGHTS.items() if c not in changed)
    if rest <= 0 or others <= 0:
        raise ValueError(f"the changed shares {changed} leave nothing for the other categories")
    return {c: changed[c] if c in changed else w * rest / others for c, w in CATEGORY_WEIGHTS.items()}


def category_schedule(config: Config, split: str, size: int) -> list[str]:
    """Exactly the configured share of each category (largest remainders), shuffled."""
    weights = category_weights(config)
    quotas = {c: size * w for c, w in weights.items()}
    counts = {c: int(q) for c, q in quotas.items()}
    for category in sorted(quotas, key=lambda c: counts[c] - quotas[c])[: size - sum(counts.values())]:
        counts[category] += 1
    schedule = [c for c in CATEGORY_WEIGHTS for _ in range(counts[c])]
    random.Random(f"{config.seed}:{split}:schedule").shuffle(schedule)
    return schedule


@lru_cache(maxsize=4)
def _setup(language: str, split: str):
    piles = load_piles(language)
    return view(piles, split), get_language(language)


def make_example(config: Config, split: str, index: int, category: str) -> tuple[dict, Example]:
    pile_view, lang = _setup(config.language, split)
    rng = random.Random(f"{config.seed}:{split}:{index}")
    one_style = PRESETS[config.preset].calls_only
    persona = PLAIN_PERSONA if one_style else rng.choice(pile_view.piles.personas)
    for attempt in range(ATTEMPTS):
        # The first try uses the home this example shares with its neighbours; a category that
        # doesn't fit it gets a home of its own.
        shared = config.requests_per_home > 1 and attempt == 0
        group = index // config.requests_per_home
        home_rng = random.Random(f"{config.seed}:{split}:home:{group}") if shared else rng
        home_id = f"{split}-{group:06d}-shared" if shared else f"{split}-{index:06d}-{attempt}"
        now = FIRST_DAY + timedelta(days=home_rng.randrange(DAYS), minutes=home_rng.randrange(24 * 60))
        home = build_home(home_rng, pile_view, home_id, now)
        request = Request(rng, pile_view, lang, home, config.preset, persona, now, first_phrasing=one_style)
        if not request.compat and home_rng.random() < 0.5:  # the speaker's satellite, when it isn't part of the request
            request.satellite = home_rng.choice(sorted({d.area for d in home.devices if d.area}) or [None])
        example = BUILDERS[category](request)
        if example is not None:
            return _record(config, example, persona, now), example
    raise RuntimeError(f"no {category} example after {ATTEMPTS} homes ({split} #{index})")


def _record(config: Config, example: Example, persona: str, now: datetime) -> dict:
    home = example.home
    calls_only = PRESETS[config.preset].calls_only
    system = render_system_prompt(home.home, now=now, preset=config.preset, user_area=example.satellite)
    history = [turn for t in example.turns[:-1] for turn in (("user", t.text), ("assistant", _heard(t, home, calls_only)))]
    last = example.turns[-1]
    turns = render_turns(last.text, home=home.home, examples=0, history=history, calls_only=calls_only)
    messages = [{"role": "system", "content": system}] + [{"role": role, "content": text} for role, text in turns]
    reply = render_reply(last.sentence, [to_model_call(c) for c in last.calls], calls_only=calls_only)
    messages.append({"role": "assistant", "content": reply})
    return {
        "messages": messages,
        "category": example.category,
        "intent": example.intent,
        "template_id": "+".join(i for t in example.turns for i in t.template_ids),
        "name_ids": sorted({i for t in example.turns for i in t.name_ids}),
        "home_id": home.id,
        "layout_id": home.layout_id,
        "floors": home.floors(),
        "preset": config.preset,
        "language": config.language,
        "persona": persona,
        "now": now.isoformat(),
        "expected_calls": [c.as_dict() for c in last.calls],
        "home": home.as_case(),
        "sentence": last.text,
        "satellite_area": example.satellite,
    }


def _heard(turn: Turn, home: GenHome, calls_only: bool) -> str:
    """An earlier turn's reply as the user heard it: in the v2 format the integration confirms
    what ran (the model wrote only calls), so that confirmation is what the next turn sees."""
    if calls_only and turn.calls:
        return confirmation(home.home, turn.calls)
    return turn.sentence


def _chunk(args: tuple[Config, str, int, list[str]]) -> list[tuple[str, dict]]:
    config, split, start, categories = args
    results = []
    for offset, category in enumerate(categories):
        record, example = make_example(config, split, start + offset, category)
        results.append((json.dumps(record, ensure_ascii=False), _summary(record, example)))
    return results


def _intent_group(record: dict) -> str:
    """Intents as the stats report groups them: refusal and follow-up kinds, clause counts."""
    intent = record["intent"]
    if record["category"] == "multi_device":
        return f"{intent.count('+') + 1} actions"
    return intent.split(".")[0] if record["category"] in ("refusal", "follow_up") else intent


def _summary(record: dict, example: Example) -> dict:
    """What the stats report needs from one example."""
    last = example.turns[-1]
    targets = [example.home.device(c.entity_id) for c in last.calls]
    return {
        "category": record["category"],
        "intent": _intent_group(record),
        "detail": record["intent"],
        "services": [c["service"] for c in record["expected_calls"]],
        "devices": len(example.home.devices),
        "system_chars": len(record["messages"][0]["content"]),
        "turns": len(example.turns),
        "heldout_targets": sum(d.heldout_name for d in targets),
        "targets": len(targets),
    }


def _process_context():
    """Fork where it is safe (a single-threaded parent such as the CLI: fast, and works from
    any script); spawn in threaded parents such as test runners, where fork can deadlock."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def generate(config: Config, split: str, size: int, workers: int = 1) -> Iterator[tuple[str, dict]]:
    """(JSON line, summary) for every example of a split, in order."""
    schedule = category_schedule(config, split, size)
    tasks = [(config, split, start, schedule[start : start + CHUNK]) for start in range(0, size, CHUNK)]
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield from _chunk(task)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_process_context()) as pool:
        for results in pool.map(_chunk, tasks):
            yield from results
