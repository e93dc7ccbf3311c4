"""The domains added through the domain table alone (valve, humidifier, water_heater,
alarm_control_panel, lawn_mower), each on a real Home Assistant entity: the prompt shows it, the
grammar offers its services, validation guards its arguments, the call changes its state and
the reply says what was done. A scripted model writes the calls."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from home_llm_core.home_format import Entity, Home, ModelCall, build_grammar, validate_calls
from home_llm_core.home_format.domains import DOMAINS

from .conftest import AGENT_ID, home_llm_entry
from .test_conversation import call, reply

NEW_DOMAINS = ("valve", "humidifier", "water_heater", "alarm_control_panel", "lawn_mower")


@pytest.fixture
async def new_domains_agent(hass: HomeAssistant, scripted_worker):
    """Home Assistant's demo valves, humidifiers and water heaters, a manual alarm without a
    code and the kitchen sink's lawn mowers, all exposed, and Home LLM on a scripted model."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    platforms = [Platform.VALVE, Platform.HUMIDIFIER, Platform.WATER_HEATER]
    with patch("homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM", platforms):
        demo = MockConfigEntry(domain="demo")
        demo.add_to_hass(hass)
        assert await hass.config_entries.async_setup(demo.entry_id)
    alarm = {"platform": "manual", "name": "Home Alarm", "arming_time": 0, "delay_time": 0, "code_arm_required": False}
    assert await async_setup_component(hass, "alarm_control_panel", {"alarm_control_panel": [alarm]})
    assert await async_setup_component(hass, "lawn_mower", {"lawn_mower": {"platform": "kitchen_sink"}})
    await hass.async_block_till_done()
    for state in hass.states.async_all(list(NEW_DOMAINS)):
        async_expose_entity(hass, conversation.DOMAIN, state.entity_id, True)
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return scripted_worker


# (entity, the model's call, attribute to check or None for the state, expected value, the reply)
CASES = [
    ("valve.orchard", "valve.open_valve", {}, None, "open", "Opened the Orchard."),
    ("valve.front_garden", "valve.close_valve", {}, None, "closed", "Closed the Front Garden."),
    ("humidifier.hygrostat", "humidifier.set_mode", {"mode": "eco"}, "mode", "eco", "Changed the mode of the Hygrostat."),
    (
        "humidifier.humidifier",
        "humidifier.set_humidity",
        {"humidity": 50},
        "humidity",
        50,
        "Set the humidity of the Humidifier.",
    ),
    ("humidifier.dehumidifier", "humidifier.turn_off", {}, None, "off", "Turned off the Dehumidifier."),
    (
        "water_heater.demo_water_heater_celsius",
        "water_heater.set_temperature",
        {"temperature": 50},
        "temperature",
        50,
        "Set the temperature of the Demo Water Heater Celsius.",
    ),
    (
        "water_heater.demo_water_heater",
        "water_heater.set_operation_mode",
        {"operation_mode": "electric"},
        None,
        "electric",
        "Changed the mode of the Demo Water Heater.",
    ),
    ("alarm_control_panel.home_alarm", "alarm_control_panel.alarm_arm_away", {}, None, "armed_away", "Armed the Home Alarm."),
    ("lawn_mower.mower_can_mow", "lawn_mower.start_mowing", {}, None, "mowing", "Started the Mower can mow."),
    ("lawn_mower.mower_can_dock", "lawn_mower.dock", {}, None, "docked", "Docked the Mower can dock."),
]


@pytest.mark.parametrize(("entity_id", "service", "args", "attribute", "expected", "spoken"), CASES, ids=[c[1] for c in CASES])
async def test_call_changes_the_real_entity(
    hass: HomeAssistant, new_domains_agent, entity_id, service, args, attribute, expected, spoken
) -> None:
    before = hass.states.get(entity_id)
    assert before is not None
    assert (before.attributes.get(attribute) if attribute else before.state) != expected
    new_domains_agent.replies = [reply("OK.", call(service, entity_id, **args))]

    result = await conversation.async_converse(hass, "do it", None, Context(), language="en", agent_id=AGENT_ID)
    await hass.async_block_till_done()

    after = hass.states.get(entity_id)
    assert (after.attributes.get(attribute) if attribute else after.state) == expected
    assert result.response.speech["plain"]["speech"] == spoken
    sent = new_domains_agent.requests[-1]
    # The prompt lists the device and offers the service; the grammar lets the model call it.
    assert f"{entity_id} '{before.attributes['friendly_name']}'" in sent["prompt"]
    assert f"{service}(" in sent["prompt"]
    assert f'"service\\": \\"{service}\\"' in sent["grammar"]


async def test_disarming_needs_no_code_the_alarm_has_none(hass: HomeAssistant, new_domains_agent) -> None:
    new_domains_agent.replies = [
        reply("Arming.", call("alarm_control_panel.alarm_arm_home", "alarm_control_panel.home_alarm")),
        reply("Disarming the home alarm.", call("alarm_control_panel.alarm_disarm", "alarm_control_panel.home_alarm")),
    ]
    await conversation.async_converse(hass, "arm the alarm", None, Context(), language="en", agent_id=AGENT_ID)
    assert hass.states.get("alarm_control_panel.home_alarm").state == "armed_home"
    result = await conversation.async_converse(hass, "disarm the alarm", None, Context(), language="en", agent_id=AGENT_ID)
    assert result.response.speech["plain"]["speech"] == "Disarm the Home Alarm?"  # a risky action waits for a yes
    assert hass.states.get("alarm_control_panel.home_alarm").state == "armed_home"
    result = await conversation.async_converse(hass, "yes", result.conversation_id, Context(), language="en", agent_id=AGENT_ID)
    assert hass.states.get("alarm_control_panel.home_alarm").state == "disarmed"
    assert result.response.speech["plain"]["speech"] == "Disarmed the Home Alarm."


# --- validation and grammar, without Home Assistant --------------------------------------------

HOME = Home(
    (
        Entity(
            "humidifier.bedroom", "Bedroom Humidifier", "on", {"min_humidity": 30, "max_humidity": 80, "available_modes": ["eco"]}
        ),
        Entity(
            "water_heater.boiler",
            "Boiler",
            "eco",
            {"min_temp": 43, "max_temp": 60, "temperature": 50, "operation_list": ["eco", "performance"]},
        ),
        Entity("valve.main", "Main Water Valve", "open"),
        Entity("alarm_control_panel.home", "Home Alarm", "disarmed"),
        Entity("lawn_mower.mower", "Mower", "docked"),
    )
)


@pytest.mark.parametrize(
    ("model_call", "reason"),
    [
        (ModelCall("humidifier.set_humidity", "humidifier.bedroom", {"humidity": 90}), "between 30% and 80%"),
        (ModelCall("humidifier.set_mode", "humidifier.bedroom", {"mode": "boost"}), "offers eco"),
        (ModelCall("water_heater.set_temperature", "water_heater.boiler", {"temperature": 75}), "between 43° and 60°"),
        (
            ModelCall("water_heater.set_operation_mode", "water_heater.boiler", {"operation_mode": "gas"}),
            "offers eco, performance",
        ),
        (ModelCall("valve.set_valve_position", "valve.main", {"position": 140}), "between 0% and 100%"),
        (ModelCall("lawn_mower.unlock", "lawn_mower.mower"), "can't do lawn_mower.unlock"),
        (ModelCall("alarm_control_panel.alarm_disarm", "lawn_mower.mower"), "is a lawn mower"),
    ],
)
def test_validation_guards_the_new_domains(model_call: ModelCall, reason: str) -> None:
    valid, rejected = validate_calls(HOME, [model_call])
    assert valid == [] and len(rejected) == 1
    assert reason in rejected[0].reason


def test_grammar_offers_each_new_domains_services_with_its_own_choices() -> None:
    grammar = build_grammar(HOME)
    for domain in NEW_DOMAINS:
        for service in DOMAINS[domain].services:
            assert f"{domain}.{service}" in grammar, (domain, service)
    assert 'opt-water-heater-operation-mode ::= "\\"eco\\"" | "\\"performance\\""' in grammar
    # The published Home models never saw these domains: their preset offers none of it.
    compat = build_grammar(HOME, compat=True)
    assert not any(domain in compat for domain in NEW_DOMAINS)
