"""training/compare_reports.py: two evaluation reports of the same cases, side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.compare_reports import compare, main, mcnemar_p

LAMP = {"service": "light.turn_on", "entity_id": "light.lamp", "data": {}}


def _case(line: int, category: str, right: bool, expected: list | None = None, acted: bool = False) -> dict:
    expected = [LAMP] if expected is None else expected
    calls = expected if right else ([LAMP] if acted else [])
    return {
        "source": f"data/output/some-folder/test.jsonl:{line}",
        "sentence": f"sentence {line}",
        "category": category,
        "supported": True,
        "expected": expected,
        "calls": calls,
        "reply_sentence": "" if calls else "I can't do that.",
        "scores": {"exact_match": right, "false_action": acted and not expected},
    }


def _report(cases: list[dict]) -> dict:
    return {"cases": cases}


def test_mcnemar_p_is_the_exact_binomial_tail_twice() -> None:
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(6, 0) == mcnemar_p(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_p(20, 17) == pytest.approx(0.743, abs=1e-3)  # v2.6 against v2.2
    assert mcnemar_p(5, 5) == 1.0


def test_cases_are_matched_by_line_and_counted_per_category() -> None:
    base = _report(
        [
            _case(1, "single_device", True),
            _case(2, "single_device", False),
            _case(3, "refusal", True, expected=[]),
            _case(4, "refusal", True, expected=[]),
            _case(5, "status", True, expected=[]),
        ]
    )
    cand = _report(
        [
            _case(5, "status", True, expected=[]),  # order doesn't matter
            _case(1, "single_device", True),
            _case(2, "single_device", True),
            _case(3, "refusal", False, expected=[], acted=True),
            _case(4, "refusal", False, expected=[], acted=False),
        ]
    )
    for case in cand["cases"]:  # another folder, the same split
        case["source"] = case["source"].replace("some-folder", "other-folder")
    result = compare(base, cand)
    assert (result["cases"], result["base_right"], result["cand_right"]) == (5, 4, 3)
    assert (result["gained"], result["lost"]) == (1, 2)
    assert result["by_category"]["refusal"] == {
        "cases": 2,
        "base_right": 2,
        "cand_right": 0,
        "gained": 0,
        "lost": 2,
        "no_action_cases": 2,
        "base_false_actions": 0,
        "cand_false_actions": 1,
    }
    assert result["no_action_cases"] == 3 and result["cand_false_actions"] == 1
    assert [c["sentence"] for c in result["gained_cases"]] == ["sentence 2"]
    assert [c["sentence"] for c in result["lost_cases"]] == ["sentence 3", "sentence 4"]


def test_the_table_and_the_cases_are_printed(tmp_path: Path, capsys) -> None:
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(_report([_case(1, "refusal", True, expected=[]), _case(2, "area", False)])))
    cand.write_text(json.dumps(_report([_case(1, "refusal", False, expected=[], acted=True), _case(2, "area", True)])))
    main([str(base), str(cand)])
    out = capsys.readouterr().out
    assert "1 gained, 1 lost; McNemar exact p = 1" in out
    assert "'sentence 1': expected no action; cand light.turn_on light.lamp" in out
    assert "100.0%" in out.split("refusal")[1].splitlines()[0]  # the base false-action column is 0.0%, the cand 100.0%


def test_reports_of_different_case_files_are_refused(tmp_path: Path) -> None:
    other = _case(1, "area", True)
    other["sentence"] = "something else"
    (tmp_path / "a.json").write_text(json.dumps(_report([_case(1, "area", True)])))
    (tmp_path / "b.json").write_text(json.dumps(_report([other])))
    with pytest.raises(SystemExit, match="not of the same case file"):
        main([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(SystemExit, match=r"c\.json: not a readable report"):
        main([str(tmp_path / "a.json"), str(tmp_path / "c.json")])
