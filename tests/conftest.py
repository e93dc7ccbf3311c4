"""Shared fixtures: a real Home Assistant (pytest-homeassistant-custom-component) with real
demo devices, and Home LLM set up on the real bundled model or a scripted stand-in."""

from __future__ import annotations

import shutil
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components import conversation
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import chat_session
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_test_config_dir

from custom_components.home_llm.const import CONF_MODEL_SOURCE, DEFAULT_AGENT_OPTIONS, DOMAIN, SOURCE_BUNDLED
from home_llm_core.defaults import BUNDLED_MODEL_TITLE

from .scripted_model import ScriptedWorker

# Real device platforms of Home Assistant's demo integration: their states change when called.
DEMO_PLATFORMS = [
    Platform.LIGHT,
    Platform.SWITCH,
    Platform.FAN,
    Platform.COVER,
    Platform.LOCK,
    Platform.CLIMATE,
    Platform.MEDIA_PLAYER,
]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let the tests load custom_components/home_llm."""


@pytest.fixture(autouse=True)
def merge_only_where_tested(request):
    """Merging the adapter into the model at set-up costs ~10 s of CPU per new entry: tests not
    marked `merges` run base + adapter, as with the option off."""
    if request.node.get_closest_marker("merges"):
        yield
        # Made under the test config folder, which every test shares: 100+ MB each, not kept.
        shutil.rmtree(get_test_config_dir("home_llm", "merged"), ignore_errors=True)
        return
    with patch("custom_components.home_llm.async_merged_model", AsyncMock(return_value=None)):
        yield


@pytest.fixture
async def demo_home(hass: HomeAssistant) -> None:
    """Home Assistant's demo lights, switches, fans, covers, locks, thermostats and players."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    with patch("homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM", DEMO_PLATFORMS):
        entry = MockConfigEntry(domain="demo")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()


MODEL_SUBENTRY_ID = "agent1"
AGENT_ID = "conversation.home_llm"


def home_llm_entry(**agent_options: object) -> MockConfigEntry:
    """A Home LLM entry on the bundled model with one conversation agent."""
    return MockConfigEntry(
        domain=DOMAIN,
        minor_version=2,
        title=BUNDLED_MODEL_TITLE,
        data={CONF_MODEL_SOURCE: SOURCE_BUNDLED},
        subentries_data=[
            {
                "subentry_type": "conversation",
                "subentry_id": MODEL_SUBENTRY_ID,
                "title": "Home LLM",
                "data": {**DEFAULT_AGENT_OPTIONS, **agent_options},
                "unique_id": None,
            }
        ],
    )


@pytest.fixture
def scripted_worker():
    """Replaces the llama.cpp worker process with scripted replies (see scripted_model.py)."""
    worker = ScriptedWorker()
    with patch("custom_components.home_llm.ModelWorker", worker):
        yield worker


@pytest.fixture
async def scripted_agent(hass: HomeAssistant, demo_home: None, scripted_worker):
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return scripted_worker


def pytest_terminal_summary(terminalreporter) -> None:
    """The property tests' counts (tests/test_hostile.py), so a run shows how much was tried."""
    import sys

    tried = getattr(sys.modules.get("tests.test_hostile"), "TRIED", None)
    if tried:
        counts = ", ".join(f"{count:,} {what}" for what, count in tried.items())
        terminalreporter.write_line(f"hostile input tried: {counts}")


@pytest.fixture(scope="module")
def grammars():
    """llama.cpp's grammar engine over the bundled model's vocabulary (tests/grammar_runner.py)."""
    from .grammar_runner import GrammarRunner

    runner = GrammarRunner()
    yield runner
    runner.llm.close()


def chat_log_content(hass: HomeAssistant, conversation_id: str) -> list[conversation.Content]:
    """What a conversation's chat log holds (the agent streams into it, which raises no events)."""
    with (
        chat_session.async_get_chat_session(hass, conversation_id) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        return list(chat_log.content)
