"""The AI task entity on a real Home Assistant (ai_task.generate_data, as automations call it),
with a scripted model so each output is exactly the one under test, and once with the real
bundled model; and home_format/structured.py alone: its grammars, parsed and run by llama.cpp
over the bundled model's vocabulary, and its checker."""

from __future__ import annotations

import json
import time

import pytest
import voluptuous as vol
from homeassistant import config_entries
from homeassistant.components import ai_task
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.home_llm.ai_task import structure_fields
from custom_components.home_llm.const import (
    AI_TASK_MAX_TOKENS,
    CONF_MODEL_SOURCE,
    CONF_TEMPERATURE,
    CONF_THREADS,
    DEFAULT_AGENT_OPTIONS,
    DEFAULT_AI_TASK_NAME,
    DOMAIN,
    SOURCE_BUNDLED,
)
from home_llm_core.defaults import BUNDLED_MODEL_TITLE
from home_llm_core.home_format import TEMPLATES
from home_llm_core.home_format.structured import (
    MAX_TEXT_LENGTH,
    StructureError,
    StructureField,
    parse_structured,
    structure_grammar,
    structure_prompt,
)
from home_llm_core.worker_client import WorkerBusyError, WorkerCrashedError

TASK_ID = "ai_task.home_llm_ai_task"

# As an automation writes it (ai_task.generate_data's `structure`): Home Assistant turns it
# into a schema of selectors.
LIGHT_STRUCTURE = {
    "room": {"selector": {"select": {"options": ["kitchen", "bedroom", "office"]}}, "required": True},
    "brightness": {"selector": {"number": {"min": 0, "max": 100}}, "required": True},
    "on": {"selector": {"boolean": {}}, "required": True},
    "note": {"selector": {"text": {}}, "description": "Why, in a few words"},
}
LIGHT_FIELDS = [
    StructureField("room", "select", options=("kitchen", "bedroom", "office")),
    StructureField("brightness", "number", minimum=0, maximum=100),
    StructureField("on", "boolean"),
    StructureField("note", "text", required=False, description="Why, in a few words"),
]


def task_entry(temperature: float = 0.1, **options: object) -> MockConfigEntry:
    """The bundled model with a conversation agent and an AI task."""
    return MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title=BUNDLED_MODEL_TITLE,
        data={CONF_MODEL_SOURCE: SOURCE_BUNDLED},
        options=options,
        subentries_data=[
            {"subentry_type": "conversation", "subentry_id": "agent1", "title": "Home LLM", "data": DEFAULT_AGENT_OPTIONS,
             "unique_id": None},
            {"subentry_type": "ai_task_data", "subentry_id": "task1", "title": DEFAULT_AI_TASK_NAME,
             "data": {CONF_TEMPERATURE: temperature}, "unique_id": None},
        ],
    )  # fmt: skip


@pytest.fixture(autouse=True)
async def core(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})


@pytest.fixture
async def task_model(hass: HomeAssistant, scripted_worker):
    entry = task_entry(temperature=0.25)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return scripted_worker


async def generate(hass: HomeAssistant, instructions: str, structure: dict | None = None) -> dict:
    """ai_task.generate_data as an automation calls it, with its response."""
    data = {"task_name": "test", "entity_id": TASK_ID, "instructions": instructions}
    if structure is not None:
        data["structure"] = structure
    response = await hass.services.async_call(ai_task.DOMAIN, "generate_data", data, blocking=True, return_response=True)
    assert response is not None
    return dict(response)


# --- the entity on Home Assistant --------------------------------------------------------------


async def test_text_task_returns_the_models_text(hass: HomeAssistant, task_model) -> None:
    state = hass.states.get(TASK_ID)
    assert state is not None
    assert state.attributes["supported_features"] == ai_task.AITaskEntityFeature.GENERATE_DATA
    task_model.replies = ["  The kitchen lights were left on all night.\n"]

    response = await generate(hass, "Summarize the night in one sentence.")

    assert response["data"] == "The kitchen lights were left on all night."
    (request,) = task_model.requests
    assert request["grammar"] is None
    template = TEMPLATES[hass.config_entries.async_entries(DOMAIN)[0].runtime_data.chat_template]
    # Home Assistant's system prompt for tasks, then the instructions, in the model's chat template.
    assert template.system is not None
    system_start, system_end = template.system.split("{text}")
    assert request["prompt"].startswith(system_start + "You are a Home Assistant expert and help users with their tasks.\n")
    user_turn = template.user.format(text="Summarize the night in one sentence.")
    assert request["prompt"].endswith(system_end + user_turn + template.generation_prefix)
    assert request["stop"] == list(template.stop)
    assert request["temperature"] == 0.25  # the subentry's
    assert request["max_tokens"] == AI_TASK_MAX_TOKENS


async def test_structured_task_is_generated_under_its_grammar(hass: HomeAssistant, task_model, grammars) -> None:
    output = '{"room": "bedroom", "brightness": 40, "on": true, "note": "reading light"}'
    task_model.replies = [output]

    response = await generate(hass, "Pick a room and a brightness for reading.", LIGHT_STRUCTURE)

    assert response["data"] == json.loads(output)
    (request,) = task_model.requests
    grammar = request["grammar"]
    # The grammar names the fields and the options, and llama.cpp holds the model to them.
    for literal in ('"\\"room\\": "', '"\\"brightness\\": "', '"\\"on\\": "', '"\\"note\\": "'):
        assert literal in grammar
    assert '("\\"kitchen\\"" | "\\"bedroom\\"" | "\\"office\\"")' in grammar
    assert grammars.accepts(grammar, output)
    assert grammars.accepts(grammar, '{"room": "office", "brightness": 100, "on": false}')  # the note is optional
    for wrong in (
        output.replace("bedroom", "attic"),
        output.replace("40", "101"),
        output.replace("true", '"yes"'),
        output.replace('"room"', '"area"'),
        '{"brightness": 40, "on": true}',
        output + " Enjoy!",
    ):
        assert not grammars.accepts(grammar, wrong), wrong
    # The system prompt tells the model the fields.
    assert structure_prompt(LIGHT_FIELDS) in request["prompt"]


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ('{"room": "bedroom", "brightness": 40, "on": "yes"}', 'field "on": "yes" is not true or false'),
        ('{"room": "attic", "brightness": 40, "on": true}', 'field "room": "attic" is not one of "kitchen", "bedroom", "office"'),
        ('{"room": "bedroom", "brightness": 140, "on": true}', 'field "brightness": 140 is above the maximum 100'),
        ('{"room": "bedroom", "on": true}', 'missing field "brightness"'),
        ("Sure! The bedroom at 40 percent.", "the output is not JSON"),
    ],
)
async def test_output_that_doesnt_fit_the_structure_is_an_error(hass: HomeAssistant, task_model, output, error) -> None:
    """What a backend without grammar support can write: refused with the reason, no data."""
    task_model.replies = [output]
    with pytest.raises(HomeAssistantError) as raised:
        await generate(hass, "Pick a room.", LIGHT_STRUCTURE)
    assert str(raised.value).startswith("The model's answer doesn't fit the requested structure: ")
    assert error in str(raised.value)


async def test_home_assistants_validation_has_the_last_word(hass: HomeAssistant, task_model) -> None:
    """An entity selector is asked for as text; Home Assistant's own check of an entity id refuses a sentence."""
    task_model.replies = ['{"light": "the big lamp"}']
    with pytest.raises(HomeAssistantError, match=r"doesn't fit the requested structure: .*[Ee]ntity ID"):
        await generate(hass, "Which light?", {"light": {"selector": {"entity": {}}, "required": True}})

    task_model.replies = ['{"light": "light.big_lamp"}']
    response = await generate(hass, "Which light?", {"light": {"selector": {"entity": {}}, "required": True}})
    assert response["data"] == {"light": "light.big_lamp"}


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (WorkerCrashedError("worker exited with SIGKILL"), "Sorry, the language model failed: worker exited with SIGKILL"),
        (WorkerBusyError("queue full"), "Sorry, I'm busy with other requests; please try again in a moment"),
    ],
)
async def test_worker_failure_is_a_translated_error(hass: HomeAssistant, task_model, failure, message) -> None:
    for structure in (None, LIGHT_STRUCTURE):
        task_model.replies = [failure]
        with pytest.raises(HomeAssistantError) as raised:
            await generate(hass, "Pick a room.", structure)
        assert str(raised.value) == message


async def test_model_that_keeps_failing_raises_a_repair_issue(hass: HomeAssistant, task_model) -> None:
    task_model.replies = [WorkerCrashedError("worker exited with SIGKILL")] * 3 + ["Fine again."]
    for _ in range(3):
        with pytest.raises(HomeAssistantError):
            await generate(hass, "Say something.")
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"model_failing_{entry.entry_id}") is not None
    assert (await generate(hass, "Say something."))["data"] == "Fine again."
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"model_failing_{entry.entry_id}") is None


async def test_task_longer_than_the_context_is_refused_before_generating(hass: HomeAssistant, task_model) -> None:
    task_model.n_ctx = 500  # about 1,500 bytes of prompt, at the scripted worker's 3 bytes a token
    task_model.replies = ["never used"]
    with pytest.raises(HomeAssistantError, match=r"The task is \d+ tokens long, too long for the model's context of 500 tokens"):
        await generate(hass, "Summarize this: " + "the lights were on. " * 100)
    assert task_model.requests == []
    # A shorter one gets the room that is left.
    response = await generate(hass, "Summarize this: the lights were on.")
    assert response["data"] == "never used"
    assert 32 <= task_model.requests[0]["max_tokens"] < AI_TASK_MAX_TOKENS


async def test_unsupported_field_is_refused_before_generating(hass: HomeAssistant, task_model) -> None:
    with pytest.raises(
        HomeAssistantError, match='can\'t ask its model for the field "where" of this structure: a location selector'
    ):
        await generate(hass, "Where?", {"where": {"selector": {"location": {}}}})
    assert task_model.requests == []


async def test_plain_voluptuous_structure(hass: HomeAssistant, task_model, grammars) -> None:
    """A script's own schema (ai_task.async_generate_data in Python): plain types, ranges, options."""
    structure = vol.Schema(
        {
            vol.Required("count"): vol.All(vol.Coerce(int), vol.Range(min=-5, max=12)),
            vol.Required("mood"): vol.In(["calm", "busy"]),
            vol.Optional("tags"): [str],  # a list of texts: not one of the kinds Home LLM asks for
        }
    )
    with pytest.raises(HomeAssistantError, match='field "tags"'):
        await ai_task.async_generate_data(hass, task_name="t", entity_id=TASK_ID, instructions="Count.", structure=structure)

    structure = vol.Schema(
        {
            vol.Required("count"): vol.All(vol.Coerce(int), vol.Range(min=-5, max=12)),
            vol.Required("mood"): vol.In(["calm", "busy"]),
        }
    )
    task_model.replies = ['{"count": -3, "mood": "calm"}']
    result = await ai_task.async_generate_data(hass, task_name="t", entity_id=TASK_ID, instructions="Count.", structure=structure)
    assert result.data == {"count": -3, "mood": "calm"}
    grammar = task_model.requests[0]["grammar"]
    assert grammars.accepts(grammar, '{"count": 12, "mood": "busy"}')
    for wrong in ('{"count": 13, "mood": "busy"}', '{"count": -6, "mood": "busy"}', '{"count": 1.5, "mood": "busy"}'):
        assert not grammars.accepts(grammar, wrong), wrong


async def test_ai_task_subentry_add_and_reconfigure(hass: HomeAssistant, scripted_worker) -> None:
    entry = MockConfigEntry(domain=DOMAIN, minor_version=2, title=BUNDLED_MODEL_TITLE, data={CONF_MODEL_SOURCE: SOURCE_BUNDLED})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "ai_task_data"), context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Summaries", CONF_TEMPERATURE: 0.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("ai_task.summaries") is not None
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == "ai_task_data" and dict(subentry.data) == {CONF_TEMPERATURE: 0.5}

    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {CONF_TEMPERATURE: 0.0})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    scripted_worker.replies = ["Done."]
    await ai_task.async_generate_data(hass, task_name="t", entity_id="ai_task.summaries", instructions="Go.")
    assert scripted_worker.requests[-1]["temperature"] == 0.0


# --- the real bundled model --------------------------------------------------------------------


async def test_real_model_fills_a_structure(hass: HomeAssistant) -> None:
    """The bundled model (1 thread, greedy): whatever it makes of the task, the grammar holds it
    to the structure, and the data validates."""
    entry = task_entry(temperature=0.0, **{CONF_THREADS: 1})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        started = time.monotonic()
        response = await generate(
            hass, "It is evening and someone wants to read in the bedroom. Set up the light.", LIGHT_STRUCTURE
        )
        data = response["data"]
        assert parse_structured(json.dumps(data), LIGHT_FIELDS) == data
        assert data["room"] in ("kitchen", "bedroom", "office")
        assert 0 <= data["brightness"] <= 100 and isinstance(data["on"], bool)
        print(f"real model: {data} in {time.monotonic() - started:.1f} s")
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


# --- structured.py alone -----------------------------------------------------------------------


def test_structure_fields_from_selectors() -> None:
    schema = vol.Schema(
        {
            vol.Required("room", description="Which room"): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[{"value": "kitchen", "label": "Kitchen"}, {"value": "office", "label": "Office"}], multiple=True
                )
            ),
            vol.Optional("level"): selector.NumberSelector(selector.NumberSelectorConfig(min=1, max=5, step=0.5)),
            vol.Optional("why"): selector.TextSelector(),
            vol.Optional("on"): selector.BooleanSelector(),
        }
    )
    assert structure_fields(schema) == [
        StructureField("room", "select", description="Which room", options=("kitchen", "office"), multiple=True),
        StructureField("level", "number", required=False, minimum=1, maximum=5),
        StructureField("why", "text", required=False),
        StructureField("on", "boolean", required=False),
    ]


def test_grammars_parse_in_llama_cpp(grammars) -> None:
    fields = [
        StructureField('naïve "quoted" name\n', "text"),
        StructureField("pick", "select", options=("a\\b", 'say "hi"', "ünï", "😀"), multiple=True),
        StructureField("n", "integer", required=False),
        StructureField("x", "number", required=False, minimum=-2.5),
        StructureField("flags", "boolean", multiple=True, required=False),
    ]
    for subset in (fields, fields[2:], fields[:1], []):
        assert grammars.parses(structure_grammar(subset)), structure_grammar(subset)
    assert not grammars.parses("root ::= undefined-rule")  # the check can fail
    grammar = structure_grammar(fields)
    ok = {'naïve "quoted" name\n': "x\ty", "pick": ["😀", 'say "hi"', "a\\b"], "x": -2.5, "flags": [True, False]}
    assert grammars.accepts(grammar, json.dumps(ok, ensure_ascii=False))
    assert grammars.accepts(structure_grammar([]), "{}")


def test_optional_fields_may_be_left_out_in_order(grammars) -> None:
    fields = [
        StructureField("a", "boolean", required=False),
        StructureField("b", "boolean"),
        StructureField("c", "boolean", required=False),
        StructureField("d", "boolean", required=False),
    ]
    grammar = structure_grammar(fields)
    for present in ("b", "ab", "bc", "bd", "abc", "abd", "bcd", "abcd"):
        text = "{" + ", ".join(f'"{name}": true' for name in present) + "}"
        assert grammars.accepts(grammar, text), text
    for wrong in ("{}", '{"a": true}', '{"b": true, "a": true}', '{"b": true, "b": true}', '{"b": true,}', '{, "b": true}'):
        assert not grammars.accepts(grammar, wrong), wrong
    all_optional = structure_grammar(
        [StructureField("a", "boolean", required=False), StructureField("b", "boolean", required=False)]
    )
    for text in ("{}", '{"a": true}', '{"b": false}', '{"a": true, "b": false}'):
        assert grammars.accepts(all_optional, text), text


@pytest.mark.parametrize(("low", "high"), [(0, 100), (-15, 7), (3, 3), (17, 2345), (-120, -30), (None, 9), (5, None)])
def test_integer_grammar_admits_exactly_its_range(grammars, low, high) -> None:
    grammar = structure_grammar([StructureField("n", "integer", minimum=low, maximum=high)])
    lo, hi = -130 if low is None else low, 2400 if high is None else high
    for value in sorted({lo - 11, lo - 1, lo, lo + 1, (lo + hi) // 2, hi - 1, hi, hi + 1, hi + 10, 0, 1, -1, 10, 99, 100, 101}):
        inside = (low is None or value >= low) and (high is None or value <= high)
        assert grammars.accepts(grammar, f'{{"n": {value}}}') == inside, (value, grammar)
    for wrong in ('{"n": 007}', '{"n": 1.0}', '{"n": 1e2}', '{"n": +1}'):
        assert not grammars.accepts(grammar, wrong), wrong


def test_number_grammar_keeps_whole_bounds(grammars) -> None:
    grammar = structure_grammar([StructureField("t", "number", minimum=-10, maximum=30)])
    for text in ("-10", "-9.5", "0", "0.25", "29.999", "30", "-0.5", "7"):
        assert grammars.accepts(grammar, f'{{"t": {text}}}'), text
    for text in ("-10.5", "-11", "30.5", "31", "1.", ".5", "05", "1e3", "NaN", "1.1234567"):
        assert not grammars.accepts(grammar, f'{{"t": {text}}}'), text
    # A bound that isn't whole: the grammar admits a little more, the checker refuses it.
    fields = [StructureField("t", "number", minimum=0.5, maximum=2.5)]
    assert grammars.accepts(structure_grammar(fields), '{"t": 2.7}')
    with pytest.raises(StructureError, match=r"above the maximum 2\.5"):
        parse_structured('{"t": 2.7}', fields)


def test_text_grammar_is_a_json_string_of_bounded_length(grammars) -> None:
    grammar = structure_grammar([StructureField("s", "text")])
    for text in ('""', '"plain"', '"a \\"quote\\" and a \\\\ backslash"', '"line\\nbreak"', '"\\u00e9t\\u00e9"', '"café"'):
        assert grammars.accepts(grammar, f'{{"s": {text}}}'), text
    for text in ('"raw\nnewline"', '"bad \\q escape"', '"unterminated', "unquoted", '"' + "x" * (MAX_TEXT_LENGTH + 1) + '"'):
        assert not grammars.accepts(grammar, f'{{"s": {text}}}'), text
    assert grammars.accepts(grammar, '{"s": "' + "x" * MAX_TEXT_LENGTH + '"}')


def test_lists_hold_their_kind(grammars) -> None:
    grammar = structure_grammar([StructureField("rooms", "select", options=("a", "b"), multiple=True)])
    for text in ("[]", '["a"]', '["b", "a"]'):
        assert grammars.accepts(grammar, f'{{"rooms": {text}}}'), text
    for text in ('"a"', '["c"]', '["a", "b", "a"]', '["a",]'):
        assert not grammars.accepts(grammar, f'{{"rooms": {text}}}'), text


def test_checker_accepts_and_orders() -> None:
    text = '```json\n{"on": false, "brightness": 12.5, "room": "office"}\n```'  # fenced, as chat models write it
    assert list(parse_structured(text, LIGHT_FIELDS).items()) == [("room", "office"), ("brightness", 12.5), ("on", False)]
    assert parse_structured('{"n": 3.0}', [StructureField("n", "integer")]) == {"n": 3}
    tags = [StructureField("tags", "select", options=("x", "y"), multiple=True)]
    assert parse_structured('{"tags": ["y", "x"]}', tags) == {"tags": ["y", "x"]}


@pytest.mark.parametrize(
    ("text", "fields", "error"),
    [
        ("[1, 2]", LIGHT_FIELDS, "the output is a JSON list, not an object"),
        ('{"room": "office", "brightness": 1, "on": true, "extra": 1}', LIGHT_FIELDS, 'unexpected field "extra"'),
        ('{"room": "office", "brightness": true, "on": true}', LIGHT_FIELDS, 'field "brightness": true is not a number'),
        ('{"room": "office", "brightness": -0.5, "on": true}', LIGHT_FIELDS, 'field "brightness": -0.5 is below the minimum 0'),
        ('{"room": "office", "brightness": NaN, "on": true}', LIGHT_FIELDS, "NaN is not a JSON number"),
        ('{"room": "office", "brightness": 1, "on": true, "note": 5}', LIGHT_FIELDS, 'field "note": 5 is not a text'),
        ('{"n": 2.5}', [StructureField("n", "integer")], 'field "n": 2.5 is not a whole number'),
        ('{"s": "\\ud800"}', [StructureField("s", "text")], 'field "s": the text is not valid Unicode'),
        ('{"t": "x"}', [StructureField("t", "select", options=("x",), multiple=True)], 'field "t": "x" is not a list'),
        (
            '{"t": ["x", "z"]}',
            [StructureField("t", "select", options=("x",), multiple=True)],
            'field "t", item 2: "z" is not one of "x"',
        ),
        ('{"room": "off', LIGHT_FIELDS, "the output is not JSON"),
    ],
)
def test_checker_refuses_with_the_reason(text, fields, error) -> None:
    with pytest.raises(StructureError) as raised:
        parse_structured(text, fields)
    assert error in str(raised.value)


@pytest.mark.parametrize(
    ("field", "error"),
    [
        (lambda: StructureField("a", "select"), "a select field needs options"),
        (lambda: StructureField("a", "text", options=("x",)), "only a select field has options"),
        (lambda: StructureField("a", "number", minimum=5, maximum=1), "no number lies between 5 and 1"),
        (lambda: StructureField("a", "integer", minimum=1.2, maximum=1.8), "no integer lies between 1.2 and 1.8"),
        (lambda: StructureField("a", "text", maximum=3), "only a number or an integer"),
        (lambda: StructureField("a", "date"), "unknown kind 'date'"),
        (lambda: structure_grammar([StructureField("a", "text"), StructureField("a", "boolean")]), "field names repeat: a"),
    ],
)
def test_descriptions_that_cant_be_asked_for(field, error) -> None:
    with pytest.raises(ValueError, match=error):
        field()


def test_prompt_names_each_field() -> None:
    fields = [*LIGHT_FIELDS, StructureField("n", "integer", minimum=2), StructureField("tags", "text", multiple=True)]
    assert structure_prompt(fields) == "\n".join(
        [
            "Answer with one JSON object and nothing else. Its fields:",
            '- "room" (required): one of "kitchen", "bedroom", "office"',
            '- "brightness" (required): a number from 0 to 100',
            '- "on" (required): true or false',
            '- "note" (optional): a text. Why, in a few words',
            '- "n" (required): a whole number of at least 2',
            '- "tags" (required): a list, each a text',
        ]
    )
