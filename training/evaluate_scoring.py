"""Scoring for training/evaluate_model.py: what the integration would execute for a model output,
compared with what a case expects. Pure functions, no model and no Home Assistant, so a report
can be re-scored and every metric can be tested on synthetic outputs.

Both sides go through the integration's own code: the model output through `parse_reply` and
`validate_calls` (what would run), the expected Home Assistant calls through `to_model_call`
and `validate_calls` (the same normalisation: percent rounding, volume 0-1, option spelling,
durations as HH:MM:SS), after a few documented equivalences (see EQUIVALENT_FIELDS).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from home_llm_core.home_format import (
    Home,
    Interpretation,
    ServiceCall,
    find_target,
    interpret_reply,
    to_model_call,
    validate_calls,
)
from home_llm_core.home_format.colors import rgb_of
from home_llm_core.home_format.relevance import word_list
from home_llm_core.home_format.services import ARGUMENTS, SERVICES, services_for
from home_llm_core.home_format.status import STATE_WORDS

REPO_ROOT = Path(__file__).resolve().parents[1]

# Home Assistant fields a case may use that the integration writes differently; each is
# mapped onto the integration's field before comparison (documented in training/README.md).
EQUIVALENT_FIELDS = ("brightness (0-255) -> brightness_pct", "color_name -> rgb_color", "kelvin -> color_temp_kelvin")

# Free text the model copies from the request: case and outer spaces don't change what HA does.
_CASELESS_FIELDS = frozenset({"item"})


@dataclass(frozen=True)
class Expected:
    """A case's expected calls after normalisation, or why the integration can't produce them."""

    calls: tuple[ServiceCall, ...] = ()
    unsupported: str | None = None  # a reason: the case is counted separately, not scored

    @property
    def supported(self) -> bool:
        return self.unsupported is None


@dataclass
class CaseScore:
    exact_match: bool
    wrong_device: bool  # ran a call on an existing device the case didn't ask for
    hallucinated_entity: bool  # named a device the home doesn't have
    false_action: bool  # ran anything where no action was expected
    well_formed: bool  # every call-like fragment of the output was readable
    rejected_calls: bool  # the validator refused at least one call

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)


# A generation that failed (prompt too long, worker crash) ran nothing and answered nothing:
# it counts as a miss everywhere, even where no action was expected.
FAILED = CaseScore(False, False, False, False, False, False)


def normalise_expected(home: Home, calls: Sequence[Mapping[str, Any]], *, compat: bool = False) -> Expected:
    """The expected HA calls as the integration would execute them, or the reason it can't."""
    normalised: list[ServiceCall] = []
    for raw in calls:
        service = str(raw.get("service", ""))
        domain, _, name = service.partition(".")
        offered = services_for(domain, compat=compat)
        if name not in offered:
            if compat and name in SERVICES.get(domain, {}):
                return Expected(unsupported=f"{service} is not offered by the compatible (home_v3) preset")
            return Expected(unsupported=f"{service} is not a service Home LLM can call")
        data, problem = _equivalent_data(dict(raw.get("data") or {}))
        if problem:
            return Expected(unsupported=problem)
        fields = {ARGUMENTS[a].ha_field for a in offered[name]}
        extra = sorted(set(data) - fields)
        if extra:
            return Expected(unsupported=f"{service} with {', '.join(extra)} is not supported by Home LLM")
        targets = raw.get("entity_id")
        for entity_id in targets if isinstance(targets, list) else [targets]:
            # HA call -> model call -> validator: the same normalisation the model's calls get.
            model_call = to_model_call(ServiceCall(domain, name, str(entity_id), data))
            valid, rejected = validate_calls(home, [model_call])
            if rejected:
                return Expected(unsupported=f"the integration would refuse {service} on {entity_id}: {rejected[0].reason}")
            normalised.append(valid[0])
    return Expected(tuple(normalised))


def _equivalent_data(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    if "brightness" in data:
        try:
            data["brightness_pct"] = round(float(data.pop("brightness")) * 100 / 255)
        except (TypeError, ValueError):
            return data, "brightness must be a number from 0 to 255"
    if "color_name" in data:
        name = data.pop("color_name")
        rgb = rgb_of(str(name))
        if rgb is None:
            return data, f"the colour name {name!r} is not in Home LLM's colour table"
        data["rgb_color"] = list(rgb)
    if "kelvin" in data:
        data["color_temp_kelvin"] = data.pop("kelvin")
    return data, None


def call_key(call: ServiceCall) -> tuple:
    """A hashable identity of a call: service, entity and argument values."""
    return (call.name, call.entity_id, tuple(sorted((k, _freeze(k, v)) for k, v in call.data.items())))


def _freeze(key: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(key, v) for v in value)
    if isinstance(value, str) and key in _CASELESS_FIELDS:
        return value.strip().casefold()
    return value


def is_hallucinated(home: Home, target: str) -> bool:
    """The validator's own lookup found no such device (by id, or unambiguous name or alias)."""
    return find_target(home, target) is None


def score(home: Home, expected: Expected, result: Interpretation) -> CaseScore:
    """Score one output. Meaningful for supported cases; unsupported ones are reported apart."""
    want = {call_key(c) for c in expected.calls}
    got = {call_key(c) for c in result.calls}
    wanted_entities = {c.entity_id for c in expected.calls}
    return CaseScore(
        exact_match=got == want,
        wrong_device=bool(wanted_entities) and any(c.entity_id not in wanted_entities for c in result.calls),
        hallucinated_entity=any(is_hallucinated(home, r.call.target) for r in result.rejected),
        false_action=not wanted_entities and bool(result.calls),
        well_formed=not result.parsed.problems,
        rejected_calls=bool(result.rejected),
    )


def confusion(home: Home, expected: Expected, result: Interpretation) -> str | None:
    """What kind of miss an output is (None: exactly right), so the next round of data work
    starts from the most common one."""
    want = {call_key(c) for c in expected.calls}
    got = {call_key(c) for c in result.calls}
    if got == want:
        return None
    if not expected.calls:
        return "acted on a request that wanted no action"
    if not result.calls:
        return "unreadable output" if result.parsed.problems else "answered instead of acting"
    wanted = {c.entity_id: c for c in expected.calls}
    for call in result.calls:
        if call.entity_id not in wanted:
            domains = {c.domain for c in expected.calls}
            return "wrong device of the right domain" if call.domain in domains else "wrong domain"
    wanted_services = {(c.entity_id, c.name) for c in expected.calls}
    if any((c.entity_id, c.name) not in wanted_services for c in result.calls):
        return "right device, wrong service"
    if len(result.calls) < len(expected.calls):
        return "missed some of the devices"
    return "right service, wrong or missing argument"


# The facts a status answer states, besides names and numbers: its yes or no, and its state words.
_YES_WORDS = frozenset({"yes", "yep", "indeed"})
_NO_WORDS = frozenset({"no", "nope"})
_STATE_PHRASES = sorted(
    {tuple(word_list(w)) for w in STATE_WORDS.values()} | {(w,) for w in ("open", "closed", "locked", "unlocked")},
    key=len,
    reverse=True,
)


def answer_right(home: Home, expected: str, got: str) -> bool:
    """Whether an answer states the facts of the expected one, worded as it may be: the same yes
    or no, every device and area name, number and state the expected answer says ("The shower room
    is at 62%." for "The humidity in the Shower Room is 62 %.")."""
    want, said = word_list(expected), word_list(got)
    if _yes_or_no(want) is not None and _yes_or_no(said) != _yes_or_no(want):
        return False
    names = {e.name for e in home.entities} | {e.area for e in home.entities if e.area}
    facts = [word_list(name) for name in names if _says(want, word_list(name))]
    facts += [[w] for w in want if w.isdigit()]
    facts += [list(phrase) for phrase in _STATE_PHRASES if _says(want, list(phrase))]
    return all(_says(said, fact) for fact in facts if fact)


def _yes_or_no(text: list[str]) -> bool | None:
    first = text[0] if text else ""
    return True if first in _YES_WORDS else False if first in _NO_WORDS else None


def _says(text: list[str], phrase: list[str]) -> bool:
    return any(text[i : i + len(phrase)] == phrase for i in range(len(text) - len(phrase) + 1))


def score_output(
    home: Home,
    expected_calls: Sequence[Mapping[str, Any]],
    text: str,
    *,
    compat: bool = False,
    expected_answer: str | None = None,
) -> dict[str, Any]:
    """Everything the report says about one output: executed and refused calls and the scores
    (scores are None when the case's expected calls are unsupported). With expected_answer (a
    status question's), whether the answer states its facts (answer_right)."""
    expected = normalise_expected(home, expected_calls, compat=compat)
    result = interpret_reply(home, text)
    return {
        "supported": expected.supported,
        "unsupported_reason": expected.unsupported,
        "expected": [c.as_dict() for c in expected.calls],
        "reply_sentence": result.parsed.sentence,
        "calls": [c.as_dict() for c in result.calls],
        "rejected": [
            {"service": r.call.service, "target_device": r.call.target, "arguments": r.call.arguments, "reason": r.reason}
            for r in result.rejected
        ],
        "unreadable": list(result.parsed.problems),
        "scores": score(home, expected, result).as_dict() if expected.supported else None,
        "confusion": confusion(home, expected, result) if expected.supported else None,
        "answer_right": None if expected_answer is None else answer_right(home, expected_answer, result.parsed.sentence),
    }


# --- the summary over all cases -------------------------------------------------------------

# (metric, score key, which scored cases it is a rate of)
RATES = (
    ("exact_match", "exact_match", "all"),
    ("wrong_device", "wrong_device", "action"),
    ("hallucinated_entity", "hallucinated_entity", "all"),
    ("false_action", "false_action", "no_action"),
    ("well_formed", "well_formed", "all"),
    ("rejected_calls", "rejected_calls", "all"),
)


def _rate(cases: list[Mapping[str, Any]], key: str, over: str) -> float | None:
    if over == "action":
        cases = [c for c in cases if c["expected"]]
    elif over == "no_action":
        cases = [c for c in cases if not c["expected"]]
    if not cases:
        return None
    return sum(bool(c["scores"][key]) for c in cases) / len(cases)


def _rates(cases: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "cases": len(cases),
        "with_action": sum(1 for c in cases if c["expected"]),
        **{name: _rate(cases, key, over) for name, key, over in RATES},
    }


def summarise(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Rates over the scored (supported) cases, overall and per category; unsupported cases
    and generation errors counted on their own. Recomputable from the report's case list."""
    cases = list(cases)
    scored = [c for c in cases if c["supported"]]
    unsupported = [c for c in cases if not c["supported"]]
    reasons: dict[str, int] = {}
    for case in unsupported:
        reasons[case["unsupported_reason"]] = reasons.get(case["unsupported_reason"], 0) + 1
    latencies = sorted(c["latency_s"] for c in cases if c.get("latency_s") is not None)
    prompt_tokens = [c["stats"]["prompt_tokens"] for c in cases if c.get("stats")]
    return {
        **_rates(scored),
        "by_category": {
            cat: _rates([c for c in scored if c["category"] == cat]) for cat in sorted({c["category"] for c in scored})
        },
        "unsupported": {
            "cases": len(unsupported),
            "by_reason": reasons,
            "ids": [c["id"] for c in unsupported],
            # Not scored, but what the model did there is still worth knowing.
            "acted": sum(1 for c in unsupported if c["calls"]),
        },
        "errors": {"cases": sum(1 for c in cases if c.get("error")), "ids": [c["id"] for c in cases if c.get("error")]},
        "latency_s": _distribution(latencies),
        "prompt_tokens_mean": round(statistics.fmean(prompt_tokens), 1) if prompt_tokens else None,
        "answers": _answers(scored),
    }


def _answers(cases: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Status answers that state the expected facts, of those with an expected answer."""
    judged = [c for c in cases if c.get("answer_right") is not None]
    if not judged:
        return None
    return {"cases": len(judged), "right": sum(bool(c["answer_right"]) for c in judged)}


def _distribution(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
        "p90": round(values[min(len(values) - 1, int(0.9 * len(values)))], 4),
        "max": round(values[-1], 4),
    }


__all__ = [
    "EQUIVALENT_FIELDS",
    "FAILED",
    "CaseScore",
    "Expected",
    "call_key",
    "normalise_expected",
    "score",
    "score_output",
    "summarise",
]
