"""The stats report: per-category counts for every split (JSON and a printed table), the
intents and services covered, home sizes and prompt lengths."""

from __future__ import annotations

from collections import Counter

from .categories import CATEGORY_WEIGHTS


class SplitStats:
    def __init__(self) -> None:
        self.examples = 0
        self.categories: Counter[str] = Counter()
        self.intents: Counter[str] = Counter()
        self.services: Counter[str] = Counter()
        self.turns: Counter[int] = Counter()
        self.devices: list[int] = []
        self.system_chars: list[int] = []
        self.targets = self.heldout_targets = 0

    def add(self, summary: dict) -> None:
        self.examples += 1
        self.categories[summary["category"]] += 1
        self.intents[f"{summary['category']}/{summary['intent']}"] += 1
        self.services.update(summary["services"])
        self.turns[summary["turns"]] += 1
        self.devices.append(summary["devices"])
        self.system_chars.append(summary["system_chars"])
        self.targets += summary["targets"]
        self.heldout_targets += summary["heldout_targets"]

    def as_dict(self) -> dict:
        return {
            "examples": self.examples,
            "categories": {c: self.categories.get(c, 0) for c in CATEGORY_WEIGHTS},
            "intents": dict(sorted(self.intents.items())),
            "services": dict(sorted(self.services.items())),
            "user_turns": {str(k): v for k, v in sorted(self.turns.items())},
            "devices_per_home": _spread(self.devices),
            "system_prompt_chars": _spread(self.system_chars),
            "expected_calls": self.targets,
            "calls_on_held_out_names": self.heldout_targets,
        }


def _spread(values: list[int]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
    }


def table(stats: dict[str, SplitStats]) -> str:
    """Per-category counts and shares, one column pair per split."""
    splits = list(stats)
    header = f"{'category':<16}" + "".join(f"{name:>10}{'%':>8}" for name in splits)
    lines = [header, "-" * len(header)]
    for category in CATEGORY_WEIGHTS:
        row = f"{category:<16}"
        for name in splits:
            count, total = stats[name].categories.get(category, 0), max(stats[name].examples, 1)
            row += f"{count:>10}{100 * count / total:>7.1f}%"
        lines.append(row)
    lines.append("-" * len(header))
    lines.append(f"{'total':<16}" + "".join(f"{stats[name].examples:>10}{'':>8}" for name in splits))
    for name in splits:
        s = stats[name]
        lines.append(
            f"{name}: {len(s.services)} services, {len(s.intents)} intents; devices per home "
            f"{_spread(s.devices).get('min', 0)}-{_spread(s.devices).get('max', 0)}; "
            f"calls on held-out device names {s.heldout_targets}/{s.targets}"
        )
    return "\n".join(lines)
