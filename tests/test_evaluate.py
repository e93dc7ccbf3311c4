"""training/evaluate_model.py: a real run on the bundled model, the scoring on synthetic model
outputs, case loading, and that its request is exactly the integration's."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.home_llm.exposed_home import snapshot_home
from home_llm_core.defaults import BUNDLED_ADAPTER, DEFAULT_IN_CONTEXT_EXAMPLES, DEFAULT_TEMPERATURE, bundled_model_path
from home_llm_core.home_format import render_chat
from homegen.dataset import Config, generate
from training import evaluate_model as evaluate
from training import evaluate_scoring as scoring

from .conftest import AGENT_ID

EVALUATE_MODEL = Path(evaluate.__file__)


def entity(entity_id: str, name: str, state: str, area: str | None = None, aliases=(), **attributes) -> dict:
    return {
        "entity_id": entity_id,
        "name": name,
        "area": area,
        "aliases": list(aliases),
        "state": state,
        "attributes": attributes,
    }


HOME = {
    "entities": [
        entity("light.kitchen", "Kitchen Light", "off", "Kitchen", supported_color_modes=["rgb"]),
        entity(
            "light.office", "Office Light", "on", "Office", ["desk light"], brightness=200, supported_color_modes=["brightness"]
        ),
        entity("cover.garage_door", "Garage Door", "closed", "Garage", current_position=0),
        entity("media_player.tv", "TV", "playing", "Living Room", volume_level=0.3),
        entity("todo.shopping", "Shopping List", "2"),
        entity("select.radio", "Radio Station", "pop", "Kitchen", options=["pop", "jazz"]),
    ]
}


def call(service: str, entity_id: str, **data) -> dict:
    return {"service": service, "entity_id": entity_id, "data": data}


def output(sentence: str, *calls: dict) -> str:
    """A model reply in the Home format: `{"service": ..., "target_device": ..., args}` lines."""
    if not calls:
        return sentence
    return sentence + "\n```homeassistant\n" + "\n".join(json.dumps(c) for c in calls) + "\n```"


def model_call(service: str, target: str, **args) -> dict:
    return {"service": service, "target_device": target, **args}


def scored(expected: list[dict], text: str, **kwargs) -> dict:
    return scoring.score_output(evaluate.home_from_case(HOME), expected, text, **kwargs)


# --- the scoring, on synthetic model outputs ---------------------------------------------


TURN_ON_KITCHEN = [call("light.turn_on", "light.kitchen")]


@pytest.mark.parametrize(
    ("expected", "text", "exact"),
    [
        (TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.kitchen")), True),
        (TURN_ON_KITCHEN, output("On.", model_call("turn_on", "light.kitchen")), True),  # validator fills the domain
        (TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "Kitchen Light")), True),  # name for the id
        (TURN_ON_KITCHEN, output("On.", model_call("light.toggle", "light.kitchen")), False),
        (TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.kitchen", brightness=50)), False),
        (TURN_ON_KITCHEN, "Turning on the kitchen light.", False),  # said, not done
        # The set of calls: order doesn't matter, a missing or an extra call does.
        (
            [call("light.turn_off", "light.kitchen"), call("light.turn_off", "light.office")],
            output("Off.", model_call("light.turn_off", "light.office"), model_call("light.turn_off", "light.kitchen")),
            True,
        ),
        (
            [call("light.turn_off", "light.kitchen"), call("light.turn_off", "light.office")],
            output("Off.", model_call("light.turn_off", "light.office")),
            False,
        ),
        (
            TURN_ON_KITCHEN,
            output("On.", model_call("light.turn_on", "light.kitchen"), model_call("light.turn_on", "light.office")),
            False,
        ),
        # Several entities in one expected call mean one call each.
        (
            [call("light.turn_off", ["light.kitchen", "light.office"])],
            output("Off.", model_call("light.turn_off", "light.kitchen"), model_call("light.turn_off", "light.office")),
            True,
        ),
        # Brightness: 0-255 vs percent, after rounding; a 0-1 fraction is a percentage to the integration.
        (
            [call("light.turn_on", "light.office", brightness=128)],
            output("Half.", model_call("light.turn_on", "light.office", brightness=50)),
            True,
        ),
        (
            [call("light.turn_on", "light.office", brightness=128)],
            output("Dim.", model_call("light.turn_on", "light.office", brightness=60)),
            False,
        ),
        (
            [call("light.turn_on", "light.office", brightness_pct=50)],
            output("Half.", model_call("light.turn_on", "light.office", brightness=0.5)),
            True,
        ),
        # Colour: a name and its rgb are the same call, either way round.
        (
            [call("light.turn_on", "light.kitchen", color_name="red")],
            output("Red.", model_call("light.turn_on", "light.kitchen", rgb_color=[255, 0, 0])),
            True,
        ),
        (
            [call("light.turn_on", "light.kitchen", rgb_color=[255, 0, 0])],
            output("Red.", model_call("light.turn_on", "light.kitchen", rgb_color="red")),
            True,
        ),
        (
            [call("light.turn_on", "light.kitchen", color_name="red")],
            output("Blue.", model_call("light.turn_on", "light.kitchen", rgb_color="blue")),
            False,
        ),
        # Volume 0-1 in Home Assistant, percent in the Home format.
        (
            [call("media_player.volume_set", "media_player.tv", volume_level=0.35)],
            output("35.", model_call("media_player.volume_set", "media_player.tv", volume=35)),
            True,
        ),
        (
            [call("media_player.volume_set", "media_player.tv", volume_level=0.35)],
            output("40.", model_call("media_player.volume_set", "media_player.tv", volume=40)),
            False,
        ),
        (
            [call("todo.add_item", "todo.shopping", item="Milk")],
            output("Added.", model_call("todo.add_item", "todo.shopping", item=" milk")),
            True,
        ),
        (
            [call("todo.add_item", "todo.shopping", item="milk")],
            output("Added.", model_call("todo.add_item", "todo.shopping", item="oat milk")),
            False,
        ),
        ([], "The garage door is closed.", True),
    ],
)
def test_exact_match(expected: list[dict], text: str, exact: bool) -> None:
    record = scored(expected, text)
    assert record["supported"], record["unsupported_reason"]
    assert record["scores"]["exact_match"] is exact, record


def test_wrong_device() -> None:
    record = scored(TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.office")))
    assert record["scores"] == {
        **record["scores"],
        "exact_match": False,
        "wrong_device": True,
        "hallucinated_entity": False,
        "false_action": False,
    }
    assert record["calls"] == [call("light.turn_on", "light.office")]
    # The right device with the wrong service is a miss but not a wrong device.
    assert not scored(TURN_ON_KITCHEN, output("On.", model_call("light.turn_off", "light.kitchen")))["scores"]["wrong_device"]


def test_hallucinated_entity_runs_nothing() -> None:
    record = scored(TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.sauna")))
    assert record["scores"]["hallucinated_entity"] and record["scores"]["rejected_calls"]
    assert not record["scores"]["exact_match"] and not record["scores"]["wrong_device"]
    assert record["calls"] == [] and record["rejected"][0]["target_device"] == "light.sauna"
    # A refused call on a device that exists is not a hallucination.
    refused = scored(TURN_ON_KITCHEN, output("Dim.", model_call("light.turn_on", "light.kitchen", brightness=150)))
    assert refused["scores"]["rejected_calls"] and not refused["scores"]["hallucinated_entity"]


def test_false_action_on_a_question() -> None:
    acted = scored([], output("It is closed.", model_call("cover.open_cover", "cover.garage_door")))
    assert acted["scores"]["false_action"] and not acted["scores"]["exact_match"] and not acted["scores"]["wrong_device"]
    assert not scored([], "It is closed.")["scores"]["false_action"]
    # A refused call ran nothing, so it is no false action.
    assert not scored([], output("Hm.", model_call("cover.open_cover", "cover.attic")))["scores"]["false_action"]


@pytest.mark.parametrize(
    "text",
    [
        "On.\n```homeassistant\n{service: light.turn_on, target_device: light.kitchen\n```",
        'On.\n```homeassistant\n{"target_device": "light.kitchen"}\n```',
        'On.\n{"service": "light.turn_on", "target_device": ',
    ],
)
def test_malformed_output(text: str) -> None:
    record = scored(TURN_ON_KITCHEN, text)
    assert not record["scores"]["well_formed"] and record["unreadable"] and not record["scores"]["exact_match"]


def test_tidy_and_untidy_outputs_are_well_formed() -> None:
    assert scored(TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.kitchen")))["scores"]["well_formed"]
    # parse_reply's tolerance (single quotes, no closing fence) is the integration's, so it counts.
    untidy = scored(TURN_ON_KITCHEN, "On.\n```homeassistant\n{'service': 'light.turn_on', 'target_device': 'light.kitchen'}")
    assert untidy["scores"]["well_formed"] and untidy["scores"]["exact_match"]


@pytest.mark.parametrize(
    ("expected", "reason"),
    [
        ([call("select.select_option", "select.radio", option="jazz")], "select.select_option"),
        ([call("light.turn_on", "light.kitchen", transition=5)], "transition"),
        ([call("light.turn_on", "light.kitchen", color_name="chartreuse")], "chartreuse"),
        ([call("light.turn_on", "light.garden")], "light.garden"),  # not in the home
        ([call("light.turn_on", "light.office", rgb_color=[255, 0, 0])], "can't change colour"),  # the light can't
        ([call("light.turn_on", "light.kitchen"), call("media_player.play_media", "media_player.tv")], "play_media"),
    ],
)
def test_unsupported_expected_calls_are_not_scored(expected: list[dict], reason: str) -> None:
    record = scored(expected, output("On.", model_call("light.turn_on", "light.kitchen")))
    assert not record["supported"] and reason in record["unsupported_reason"]
    assert record["scores"] is None and record["calls"]  # what the model did is still recorded


def test_compatible_preset_lacks_the_extended_services() -> None:
    expected = [call("media_player.volume_set", "media_player.tv", volume_level=0.5)]
    text = output("50.", model_call("media_player.volume_set", "media_player.tv", volume=50))
    assert scored(expected, text)["supported"]
    assert "home_v3" in scored(expected, text, compat=True)["unsupported_reason"]


def test_summary_rates() -> None:
    kitchen_on = output("On.", model_call("light.turn_on", "light.kitchen"))
    records = [
        {"id": "exact", "category": "action", **scored(TURN_ON_KITCHEN, kitchen_on)},
        {
            "id": "wrong",
            "category": "action",
            **scored(TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.office"))),
        },
        {"id": "quiet", "category": "question", **scored([], "It is off.")},
        {"id": "acted", "category": "question", **scored([], kitchen_on)},
        {
            "id": "radio",
            "category": "action",
            **scored([call("select.select_option", "select.radio", option="jazz")], kitchen_on),
        },
        {
            "id": "failed",
            "category": "question",
            **scored([], ""),
            "error": "GenerationError: prompt too long",
            "scores": scoring.FAILED.as_dict(),
        },
    ]
    for latency, record in zip((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), records, strict=True):
        record["latency_s"] = latency
    summary = scoring.summarise(records)
    assert summary["cases"] == 5 and summary["with_action"] == 2
    assert summary["exact_match"] == pytest.approx(2 / 5)  # exact, quiet
    assert summary["wrong_device"] == pytest.approx(1 / 2)  # of the 2 cases with an action
    assert summary["false_action"] == pytest.approx(1 / 3)  # of the 3 without: acted
    assert summary["well_formed"] == pytest.approx(4 / 5)  # the failed one produced nothing
    assert summary["by_category"]["question"]["exact_match"] == pytest.approx(1 / 3)
    assert summary["by_category"]["action"]["cases"] == 2
    assert summary["unsupported"] == {
        "cases": 1,
        "by_reason": {"select.select_option is not a service Home LLM can call": 1},
        "ids": ["radio"],
        "acted": 1,
    }
    assert summary["errors"] == {"cases": 1, "ids": ["failed"]}
    assert summary["latency_s"]["median"] == 3.5 and summary["latency_s"]["max"] == 6.0


@pytest.mark.parametrize(
    ("expected", "answer", "right"),
    [
        ("No, the Office Light is on.", "No, the Office Light is on.", True),
        ("No, the Office Light is on.", "Nope, the office light is currently on.", True),  # persona and case
        ("The humidity in the Kitchen is 62 %.", "The kitchen is at 62%.", True),  # the facts, worded otherwise
        ("No, the Office Light is on.", "Yes, the Office Light is on.", False),  # yes for no
        ("No, the Office Light is on.", "No, the Office Light is off.", False),  # the state
        ("No, the Office Light is on.", "No, the Kitchen Light is on.", False),  # the device
        ("The TV volume is at 30%.", "The TV volume is at 90%.", False),  # the value
        ("There are 2 items on the Shopping List.", "I can't check your list.", False),
    ],
)
def test_a_status_answer_is_right_when_it_states_the_expected_facts(expected: str, answer: str, right: bool) -> None:
    assert scoring.answer_right(evaluate.home_from_case(HOME), expected, answer) is right


def test_status_answers_are_counted_apart_from_exact_match() -> None:
    records = [
        {
            "id": "right",
            "category": "status",
            **scored([], "No, the Office Light is on.", expected_answer="No, the Office Light is on."),
        },
        {
            "id": "wrong",
            "category": "status",
            **scored([], "Yes, the Office Light is off.", expected_answer="No, the Office Light is on."),
        },
        {"id": "chat", "category": "chit_chat", **scored([], "Hello!")},
    ]
    summary = scoring.summarise(records)
    assert [r["answer_right"] for r in records] == [True, False, None]
    assert summary["exact_match"] == 1.0 and summary["answers"] == {"cases": 2, "right": 1}  # no call is still exact
    # The expected answer of a generated status case is its last reply; a plain case file may give one.
    asked = [
        {"role": "user", "content": "is the office light off?"},
        {"role": "assistant", "content": "No, the Office Light is on."},
    ]
    assert evaluate.expected_answer_of({"category": "status", "messages": asked}) == "No, the Office Light is on."
    assert evaluate.expected_answer_of({"category": "chit_chat", "messages": asked}) is None
    assert evaluate.expected_answer_of({"expected_answer": "It is on."}) == "It is on."


# --- cases ----------------------------------------------------------------------------------


def test_case_file_and_data_generator_lines(tmp_path: Path) -> None:
    plain = {
        "home": HOME,
        "sentence": "open the garage",
        "satellite_area": None,
        "expected_calls": [call("cover.open_cover", "cover.garage_door")],
    }
    generated = {
        "home": HOME,
        "sentence": "and the office too",
        "satellite_area": "Kitchen",
        "expected_calls": [call("light.turn_off", "light.office")],
        "category": "follow_up",
        "now": "2026-03-01T07:15:00",
        "messages": [
            {"role": "system", "content": "(rendered prompt)"},
            {"role": "user", "content": "turn off the kitchen light"},
            {
                "role": "assistant",
                "content": output("Turning off the kitchen light.", model_call("light.turn_off", "light.kitchen")),
            },
            {"role": "user", "content": "and the office too"},
            {
                "role": "assistant",
                "content": output("Turning off the office light.", model_call("light.turn_off", "light.office")),
            },
        ],
    }
    path = tmp_path / "cases.jsonl"
    path.write_text(
        f"{json.dumps(plain)}\n\n{json.dumps({**plain, 'expected_calls': [], 'id': 'q1'})}\n{json.dumps(generated)}\n"
    )
    action, question, follow_up = evaluate.load_cases([path])
    assert (action.category, question.category, follow_up.category) == ("action", "no_action", "follow_up")
    assert action.id == f"{path}:1" and question.id == "q1" and follow_up.source == f"{path}:4"
    # Earlier turns as the integration's chat log keeps them: the user's words and the spoken reply.
    assert follow_up.history == [("user", "turn off the kitchen light"), ("assistant", "Turning off the kitchen light.")]
    assert follow_up.now.hour == 7 and action.now is None and follow_up.satellite_area == "Kitchen"
    # The integration's order: by area, entities without one last, then by id.
    assert [e.entity_id for e in action.home.entities] == [
        "cover.garage_door",
        "light.kitchen",
        "select.radio",
        "media_player.tv",
        "light.office",
        "todo.shopping",
    ]

    path.write_text('{"home": {"entities": []}}\n')
    with pytest.raises(SystemExit, match=r"cases.jsonl:1"):
        evaluate.load_cases([path])


async def _never_counted(text: str) -> int:
    raise AssertionError("a home that fits needs no token count")


def _v2_test_cases(path: Path) -> Path:
    """A few held-out cases of the v2 format (its prompt shows floors), as generate_data.py writes them."""
    path.write_text("".join(line + "\n" for line, _ in generate(Config(seed=0, preset="home_llm_v2"), "test", 40, workers=1)))
    return path


@pytest.mark.parametrize("cases", ["sample", "v2"])
async def test_data_generator_cases_render_as_generated(cases: str, tmp_path: Path) -> None:
    """The prompt evaluate_model.py renders for the data generator's cases (the documented v1
    sample; held-out v2 cases) is the one the generator wrote into its messages: the same home
    order, floors, states order, time and turns."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "test.jsonl"
    if cases == "v2":
        sample = _v2_test_cases(tmp_path / "v2.jsonl")
    lines = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    assert cases == "sample" or any(" Floor):" in line["messages"][0]["content"] for line in lines)
    for case, line in zip(evaluate.load_cases([sample]), lines, strict=True):
        settings = evaluate.AgentSettings(template="chatml", preset=line.get("preset", evaluate.DEFAULT_PRESET))
        request, fitted = await evaluate.build_request(
            case.home,
            case.sentence,
            settings,
            now=case.now,
            count_tokens=_never_counted,
            context_length=1_000_000,
            user_area=case.satellite_area,
            history=case.history,
        )
        assert not fitted.left_out
        turns = [(m["role"], m["content"]) for m in line["messages"][1:-1]]
        expected_prompt = render_chat("chatml", line["messages"][0]["content"], turns)
        assert request.prompt == expected_prompt, case.id
        assert evaluate.scoring.normalise_expected(case.home, case.expected_calls, compat=settings.compat).supported, case.id


# --- the same request as the integration -----------------------------------------------------


async def test_request_is_the_integrations(hass: HomeAssistant, freezer, scripted_agent) -> None:
    """The prompt, grammar and sampling evaluate_model.py sends for a case built from the demo home
    equal what the conversation agent sent the worker for the same home and words."""
    scripted_agent.replies = ["Hello.", "It is off."]
    first = await conversation.async_converse(hass, "hi", None, Context(), language="en", agent_id=AGENT_ID)
    await conversation.async_converse(
        hass, "is the bed light on?", first.conversation_id, Context(), language="en", agent_id=AGENT_ID
    )
    sent = scripted_agent.requests[1]

    # The home as a case file would carry it, in a shuffled order and through JSON.
    case_home = snapshot_home(hass).to_dict()
    random.Random(4).shuffle(case_home["entities"])
    case_home = json.loads(json.dumps(case_home, default=str))

    info = evaluate.gguf_metadata.read_gguf_metadata(bundled_model_path())
    settings = evaluate.settings_for_model(info, examples=DEFAULT_IN_CONTEXT_EXAMPLES, temperature=DEFAULT_TEMPERATURE)
    request, _ = await evaluate.build_request(
        evaluate.home_from_case(case_home),
        "is the bed light on?",
        settings,
        now=dt_util.now(),
        count_tokens=_never_counted,
        context_length=1_000_000,
        history=[("user", "hi"), ("assistant", "Hello.")],
    )
    assert "The current time" in request.prompt and "<|im_start|>assistant\nHello.<|im_end|>" in request.prompt
    assert {"prompt": request.prompt, **request.generate_kwargs} == sent


# --- a real run on the bundled model -----------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "adapter", "preset", "examples"),
    [
        ([], BUNDLED_ADAPTER, "home_llm_v2", 0),
        (["--lora", "none", "--preset", "home_llm", "--examples", "2"], None, "home_llm", 2),
    ],
    ids=["shipped-model", "untuned-base"],
)
def test_real_run_on_the_bundled_model(
    tmp_path: Path, flags: list[str], adapter: Path | None, preset: str, examples: int
) -> None:
    cases = [
        {
            "sentence": "open the garage door",
            "expected_calls": [call("cover.open_cover", "cover.garage_door")],
            "category": "action",
        },
        {"sentence": "is the garage door open?", "expected_calls": [], "category": "question"},
        {
            "sentence": "switch the radio to jazz",
            "expected_calls": [call("select.select_option", "select.radio", option="jazz")],
            "category": "action",
        },
        {"sentence": "not evaluated: --limit 3", "expected_calls": []},
    ]
    path, report_path = tmp_path / "cases.jsonl", tmp_path / "out" / "report.json"
    path.write_text("".join(json.dumps({"home": HOME, "satellite_area": "Garage", **c}) + "\n" for c in cases))
    run = subprocess.run(
        [
            sys.executable,
            str(EVALUATE_MODEL),
            "--cases",
            str(path),
            "--limit",
            "3",
            *flags,
            "--report",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "all scored" in run.stdout and str(report_path) in run.stdout

    report = json.loads(report_path.read_text())
    assert report["model"] == str(bundled_model_path()) and report["lora"] == (str(adapter) if adapter else None)
    assert (
        report["settings"]["template"] == "chatml"
        and report["settings"]["preset"] == preset  # a default agent's for the bundled model, unless given
        and report["settings"]["examples"] == examples
        and report["settings"]["grammar"]
    )
    assert [c["sentence"] for c in report["cases"]] == [c["sentence"] for c in cases[:3]]
    for case in report["cases"]:
        assert isinstance(case["raw_output"], str) and case["error"] is None
        assert case["latency_s"] > 0 and case["stats"]["prompt_tokens"] > case["stats"]["completion_tokens"] > 0
        # Anyone can re-score the raw output: it gives the same calls and scores.
        rescored = scoring.score_output(evaluate.home_from_case(HOME), case["expected_calls"], case["raw_output"])
        assert rescored == {key: case[key] for key in rescored}
    action, question, radio = report["cases"]
    assert action["supported"] and action["expected"] == [call("cover.open_cover", "cover.garage_door")]
    assert question["scores"]["false_action"] == bool(question["calls"])
    assert question["scores"]["exact_match"] == (not question["calls"])
    assert not radio["supported"] and radio["scores"] is None and "select.select_option" in radio["unsupported_reason"]

    summary = report["summary"]
    assert summary["cases"] == 2 and summary["unsupported"]["cases"] == 1 and summary["errors"]["cases"] == 0
    assert summary == json.loads(json.dumps(scoring.summarise(report["cases"])))


def test_a_failed_generation_is_an_error_not_the_end(tmp_path: Path) -> None:
    # A context too small even for a prompt without devices: each request fails, as it would in HA.
    path, report_path = tmp_path / "cases.jsonl", tmp_path / "report.json"
    case = {"home": HOME, "sentence": "open the garage door", "expected_calls": [call("cover.open_cover", "cover.garage_door")]}
    path.write_text(json.dumps(case) + "\n" + json.dumps({**case, "expected_calls": []}) + "\n")
    run = subprocess.run(
        [sys.executable, str(EVALUATE_MODEL), "--cases", str(path), "--context", "64", "--report", str(report_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(report_path.read_text())
    assert all("prompt is" in c["error"] and c["raw_output"] is None for c in report["cases"])
    assert all(c["scores"] == scoring.FAILED.as_dict() for c in report["cases"])
    assert report["summary"]["errors"]["cases"] == 2 and report["summary"]["exact_match"] == 0
    assert "generation errors" in run.stdout


# --- error analysis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "text", "kind"),
    [
        (TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.kitchen")), None),
        ([], output("On.", model_call("light.turn_on", "light.kitchen")), "acted on a request that wanted no action"),
        (TURN_ON_KITCHEN, "Turning on the kitchen light.", "answered instead of acting"),
        (TURN_ON_KITCHEN, "```homeassistant\n{not json}\n```", "unreadable output"),
        (TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.office")), "wrong device of the right domain"),
        (TURN_ON_KITCHEN, output("Open.", model_call("cover.open_cover", "cover.garage_door")), "wrong domain"),
        (TURN_ON_KITCHEN, output("On.", model_call("light.toggle", "light.kitchen")), "right device, wrong service"),
        (
            TURN_ON_KITCHEN,
            output("On.", model_call("light.turn_on", "light.kitchen", brightness=50)),
            "right service, wrong or missing argument",
        ),
        (
            [call("light.turn_off", "light.kitchen"), call("light.turn_off", "light.office")],
            output("Off.", model_call("light.turn_off", "light.office")),
            "missed some of the devices",
        ),
    ],
)
def test_each_miss_is_named_by_its_kind(expected, text: str, kind: str | None) -> None:
    home = evaluate.home_from_case(HOME)
    assert scoring.score_output(home, expected, text)["confusion"] == kind


def test_misses_are_listed_most_common_first_with_examples() -> None:
    home = evaluate.home_from_case(HOME)
    outputs = [
        ("turn on the kitchen light", TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.office"))),
        ("kitchen light on", TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.office"))),
        ("is the tv on?", [], output("On.", model_call("media_player.turn_on", "media_player.tv"))),
        ("lights on", TURN_ON_KITCHEN, output("On.", model_call("light.turn_on", "light.kitchen"))),
    ]
    records = [{"sentence": s, **scoring.score_output(home, e, t)} for s, e, t in outputs]
    text = evaluate.format_confusions(records)
    lines = text.splitlines()
    assert "2 (50.0%)  wrong device of the right domain" in lines[1]
    assert "1 (25.0%)  acted on a request that wanted no action" in text
    assert "'kitchen light on': expected light.turn_on light.kitchen; got light.turn_on light.office" in text
