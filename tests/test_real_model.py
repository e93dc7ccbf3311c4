"""The whole path with the real llama.cpp worker process and the shipped models (Home LLM 135M:
the bundled SmolLM2-135M-Instruct GGUF with our LoRA adapter; 270M: Gemma 3 270M with its own):
prompt -> grammar-constrained generation -> validated call -> state change; and a worker killed
mid-request, which Home Assistant must survive."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, CoreState, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry

from custom_components.home_llm.const import BUNDLED_AGENT_OPTIONS, CONF_CONTEXT_LENGTH, CONF_TEMPERATURE
from custom_components.home_llm.model_files import data_of_270m
from home_llm_core.defaults import BUNDLED_270M, BUNDLED_ADAPTER_FILE, assemble_270m_base

from .conftest import AGENT_ID, chat_log_content, home_llm_entry

# A small exposed home keeps the prompt (and the test) short.
EXPOSED = {"light.bed_light", "cover.garage_door"}


async def _setup_real_agent(hass: HomeAssistant, data: dict | None = None, **options: object):
    """Home LLM 135M (or the bundled model that data names) with a new agent."""
    for state in hass.states.async_all():
        async_expose_entity(hass, conversation.DOMAIN, state.entity_id, state.entity_id in EXPOSED)
    entry = home_llm_entry(**{**BUNDLED_AGENT_OPTIONS, **options})
    entry.add_to_hass(hass)
    if data:
        hass.config_entries.async_update_entry(entry, data=data)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _ask(hass: HomeAssistant, text: str):
    return await conversation.async_converse(hass, text, None, Context(), language="en", agent_id=AGENT_ID)


@pytest.mark.merges  # the file set-up makes from base and adapter, as a user runs it
@pytest.mark.parametrize("model", ["135m", BUNDLED_270M])
async def test_real_model_turns_on_the_bed_light(hass: HomeAssistant, demo_home: None, model: str, tmp_path: Path) -> None:
    """Each bundled model: Home LLM 135M, and 270M on its base joined from its packages."""
    data = None
    if model == BUNDLED_270M:
        base = await hass.async_add_executor_job(assemble_270m_base, tmp_path)
        data = data_of_270m(base)
    # Greedy decoding, so the model's choice is repeatable.
    entry = await _setup_real_agent(hass, data, **{CONF_TEMPERATURE: 0.0})
    try:
        assert hass.states.get("light.bed_light").state == "off"
        result = await _ask(hass, "turn on the Bed Light")
        speech = result.response.speech["plain"]["speech"]
        assert _calls_in_chat_log(hass, result.conversation_id) == ["light.turn_on light.bed_light"], speech
        assert hass.states.get("light.bed_light").state == "on"
        assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
        # Nothing else was touched.
        assert hass.states.get("cover.garage_door").state == "closed"
        assert hass.states.get("light.kitchen_lights").state == "on"
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


def _calls_in_chat_log(hass: HomeAssistant, conversation_id: str) -> list[str]:
    """The calls the agent recorded (and ran) in the conversation's chat log."""
    return [
        f"{c.tool_name} {c.tool_args['entity_id']}"
        for content in chat_log_content(hass, conversation_id)
        if isinstance(content, conversation.AssistantContent)
        for c in content.tool_calls or []
    ]


async def test_real_model_in_a_300_device_home(hass: HomeAssistant, demo_home: None) -> None:
    """300 more devices than the context has room for: the prompt is cut to what matters to the
    request, llama.cpp never sees too long a prompt, and the named device is the one that acts."""
    for i in range(300):
        hass.states.async_set(f"switch.outlet_{i}", "off", {"friendly_name": f"Outlet {i}"})
        async_expose_entity(hass, conversation.DOMAIN, f"switch.outlet_{i}", True)
    for state in hass.states.async_all():
        if not state.entity_id.startswith("switch.outlet_"):
            async_expose_entity(hass, conversation.DOMAIN, state.entity_id, state.entity_id in EXPOSED)
    entry = home_llm_entry(**{**BUNDLED_AGENT_OPTIONS, CONF_TEMPERATURE: 0.0})
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={CONF_CONTEXT_LENGTH: 1024})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        result = await _ask(hass, "turn on the Bed Light")
        assert result.response.response_type == intent.IntentResponseType.ACTION_DONE, result.response.speech
        assert hass.states.get("light.bed_light").state == "on"
        assert [i for i in range(300) if hass.states.get(f"switch.outlet_{i}").state != "off"] == []
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_killed_worker_gives_a_clear_error_and_recovers(hass: HomeAssistant, demo_home: None, hass_client) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    entry = await _setup_real_agent(hass)
    worker = entry.runtime_data.worker
    try:
        pid = worker.pid
        request = asyncio.create_task(_ask(hass, "tell me a very long story about the kitchen lights"))
        await asyncio.sleep(0.3)  # the worker is now processing the prompt
        os.kill(pid, signal.SIGKILL)
        result = await request
        assert result.response.response_type == intent.IntentResponseType.ERROR
        assert "SIGKILL" in result.response.speech["plain"]["speech"]
        assert hass.state is CoreState.running

        result = await _ask(hass, "turn off the Kitchen Lights")
        assert result.response.response_type != intent.IntentResponseType.ERROR
        assert worker.pid != pid  # a new process, started for this request

        # Diagnostics tell what happened: the model, the agents' settings, the worker now and its last error.
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert diagnostics["model"]["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert diagnostics["model"]["lora"] == BUNDLED_ADAPTER_FILE
        assert diagnostics["agents"][0]["options"][CONF_TEMPERATURE] == BUNDLED_AGENT_OPTIONS[CONF_TEMPERATURE]
        assert diagnostics["worker"]["pid"] == worker.pid and diagnostics["worker"]["starts"] == 2
        assert "SIGKILL" in diagnostics["worker"]["last_error"]
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_state_change_is_processed_before_the_next_request(hass: HomeAssistant, demo_home: None) -> None:
    """After an exposed device changes, the prompt's changed tail is processed in the background:
    the next request finds all but its own words in the KV cache. Asked at once, it pays itself."""
    entry = await _setup_real_agent(hass, **{CONF_TEMPERATURE: 0.0})
    for state in hass.states.async_all():  # the whole demo home: a prompt worth caching
        # (not the agents, whose state is the time they were last asked: it changes with every request)
        async_expose_entity(hass, conversation.DOMAIN, state.entity_id, state.domain not in ("conversation", "ai_task"))
    worker = entry.runtime_data.worker
    warmer = hass.data[DATA_COMPONENT].get_entity(AGENT_ID).prompt_cache
    seen: list[dict] = []
    generate = worker.generate

    async def recorded(*args, **kwargs):
        result = await generate(*args, **kwargs)
        seen.append(result.stats)
        return result

    worker.generate = recorded

    prefill = worker.prefill

    async def no_prefill(prompt: str) -> None:
        return None

    async def change_then_ask(wait: bool) -> int:
        """Prompt tokens the request processed itself, after a device changed. Not waiting, the
        warmer is off: on a slow machine its prefill may start before the request reaches the
        worker and take part of the work, which would make the figure depend on timing."""
        worker.prefill = prefill if wait else no_prefill
        warmed = warmer.warmed
        await hass.services.async_call("light", "toggle", {"entity_id": "light.ceiling_lights"}, blocking=True)
        for _ in range(300 if wait else 0):
            await asyncio.sleep(0.1)
            if warmer.warmed > warmed:
                break
        assert warmer.warmed > warmed or not wait, "the state change was not processed within 30 s"
        seen.clear()
        await _ask(hass, "is the front door locked?")
        return seen[0]["prompt_tokens"] - seen[0]["cached_tokens"]

    try:
        await _ask(hass, "is the front door locked?")  # the cache holds this home now
        at_once = await change_then_ask(wait=False)
        warmed_ahead = await change_then_ask(wait=True)
        assert warmed_ahead < 40  # the time, the speaker's area and the request
        assert at_once > warmed_ahead + 100  # from the changed device's old line on
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
