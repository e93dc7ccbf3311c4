#!/usr/bin/env python3
"""Two evaluation reports of the same cases side by side: which model gets more of them right,
per category, and whether the difference is more than chance.

    python training/compare_reports.py BASELINE.json CANDIDATE.json [--show 10]

Cases are matched by their line in the case file (the number after the last ':' of a report's
`source`), so reports of the same split under different folder names compare; a matched pair must
say the same sentence. Prints exact match and false actions per category, the cases each model
gets right that the other doesn't, and the exact two-sided McNemar p-value over those discordant
cases (20 gained and 17 lost: p = 0.74, no evidence either way)."""

from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path
from typing import Any

from training.evaluate_model import outcome


def mcnemar_p(gained: int, lost: int) -> float:
    """Exact two-sided McNemar test: the chance of a split at least this uneven if either model
    were as likely as the other to win each discordant case."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(gained, lost) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _line(case: dict[str, Any]) -> int:
    return int(case["source"].rsplit(":", 1)[1])


def _scored(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {_line(c): c for c in report["cases"] if c["supported"] and c.get("scores")}


def pair_cases(base: dict[str, Any], cand: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The cases both reports scored, in case-file order."""
    a, b = _scored(base), _scored(cand)
    pairs = []
    for line in sorted(a.keys() & b.keys()):
        if a[line]["sentence"] != b[line]["sentence"]:
            raise ValueError(
                f"line {line} is {a[line]['sentence']!r} in one report and {b[line]['sentence']!r} in the other: "
                "these reports are not of the same case file"
            )
        pairs.append((a[line], b[line]))
    return pairs


def _counts(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, int]:
    right = [(a["scores"]["exact_match"], b["scores"]["exact_match"]) for a, b in pairs]
    quiet = [(a, b) for a, b in pairs if not a["expected"]]  # a call there is a false action
    return {
        "cases": len(pairs),
        "base_right": sum(x for x, _ in right),
        "cand_right": sum(y for _, y in right),
        "gained": sum(not x and y for x, y in right),
        "lost": sum(x and not y for x, y in right),
        "no_action_cases": len(quiet),
        "base_false_actions": sum(bool(a["scores"]["false_action"]) for a, _ in quiet),
        "cand_false_actions": sum(bool(b["scores"]["false_action"]) for _, b in quiet),
    }


def compare(base: dict[str, Any], cand: dict[str, Any]) -> dict[str, Any]:
    pairs = pair_cases(base, cand)
    overall = _counts(pairs)
    categories = sorted({a["category"] for a, _ in pairs})
    return {
        **overall,
        "p_value": mcnemar_p(overall["gained"], overall["lost"]),
        "only_in_one": len(_scored(base).keys() ^ _scored(cand).keys()),
        "by_category": {cat: _counts([p for p in pairs if p[0]["category"] == cat]) for cat in categories},
        "gained_cases": [b for a, b in pairs if not a["scores"]["exact_match"] and b["scores"]["exact_match"]],
        "lost_cases": [b for a, b in pairs if a["scores"]["exact_match"] and not b["scores"]["exact_match"]],
    }


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def format_comparison(result: dict[str, Any], base_name: str, cand_name: str, show: int = 10) -> str:
    header = f"{'category':<16}{'cases':>6}{'base':>9}{'cand':>9}{'gained':>8}{'lost':>6}{'base FA':>10}{'cand FA':>10}"

    def row(name: str, c: dict[str, int]) -> str:
        fa = c["no_action_cases"]
        return (
            f"{name:<16}{c['cases']:>6}{_pct(c['base_right'], c['cases']):>9}{_pct(c['cand_right'], c['cases']):>9}"
            f"{c['gained']:>8}{c['lost']:>6}{_pct(c['base_false_actions'], fa):>10}{_pct(c['cand_false_actions'], fa):>10}"
        )

    lines = [f"base  {base_name}", f"cand  {cand_name}", "", header, "-" * len(header)]
    lines += [row(cat, counts) for cat, counts in result["by_category"].items()]
    lines += ["-" * len(header), row("all", result)]
    lines.append(
        f"\nexact match: {result['gained']} gained, {result['lost']} lost; McNemar exact p = {result['p_value']:.3g}"
        + (f"\n{result['only_in_one']} cases scored in only one report are left out" if result["only_in_one"] else "")
        + "\nFA: false actions, of the cases that expect no call"
    )
    for title, cases in (("lost (base right, cand wrong)", result["lost_cases"]), ("gained", result["gained_cases"])):
        if cases and show:
            lines.append(f"\n{title}, first {min(show, len(cases))} of {len(cases)}:")
            for case in cases[:show]:
                lines.append(f"  [{case['category']}] {outcome(case, 'cand')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the baseline's report (evaluate_model.py --report)")
    parser.add_argument("cand", type=Path, help="the candidate's report")
    parser.add_argument("--show", type=int, default=10, help="cases lost and gained to print (default 10)")
    args = parser.parse_args(argv)
    reports = []
    for path in (args.base, args.cand):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"{path}: not a readable report ({error})") from None
    try:
        result = compare(*reports)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    if not result["cases"]:
        raise SystemExit("the two reports have no scored case in common")
    print(format_comparison(result, args.base.name, args.cand.name, args.show))
    return result


if __name__ == "__main__":
    main()
