"""Home LLM: a conversation agent that runs a small language model locally with llama.cpp, or
on an inference server (OpenAI-compatible or Ollama)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CHAT_TEMPLATE_AUTO,
    CONF_API,
    CONF_API_KEY,
    CONF_CHAT_TEMPLATE,
    CONF_CONTEXT_LENGTH,
    CONF_GRAMMAR_FIELD,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_MERGE_ADAPTER,
    CONF_MODEL,
    CONF_MODEL_SOURCE,
    CONF_PROMPT_PRESET,
    CONF_THREADS,
    CONF_URL,
    CONF_VERIFY_SSL,
    DEFAULT_REMOTE_CHAT_TEMPLATE,
    DOMAIN,
    LOGGER,
    SOURCE_BUNDLED,
    SOURCE_REMOTE,
    SUBENTRY_CONVERSATION,
)
from .home_llm_core.defaults import (
    BUNDLED_270M_TITLE,
    BUNDLED_IN_CONTEXT_EXAMPLES,
    BUNDLED_MODEL_TITLE,
    BUNDLED_PRESET,
    DEFAULT_CONTEXT_LENGTH,
    DEFAULT_THREADS,
    BundledModelMissingError,
)
from .home_llm_core.gguf_metadata import InvalidGGUFError
from .home_llm_core.home_format import detect_template
from .home_llm_core.remote_engine import API_OPENAI, GRAMMAR_FIELD_NONE, RemoteEngine, url_for_display
from .home_llm_core.worker_client import ModelLoadError, ModelWorker, WorkerError
from .model_files import is_270m, read_model_files
from .model_merge import async_merged_model, remove_merges

PLATFORMS = [Platform.AI_TASK, Platform.CONVERSATION]
# The title Home LLM gives an entry of the bundled model; one a user wrote is left alone.
BUNDLED_TITLE_PATTERN = re.compile(r"Home LLM (135M|270M) v[0-9.]+ \(bundled\)")


@dataclass
class HomeLLMRuntime:
    """What the agents of one config entry share: the model worker (or the remote engine, which
    has its interface) and how to prompt it."""

    worker: ModelWorker | RemoteEngine
    chat_template: str  # a home_format template id, or "gguf" for the file's own template
    gguf_chat_template: str | None


type HomeLLMConfigEntry = ConfigEntry[HomeLLMRuntime]


async def async_migrate_entry(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> bool:
    """1.1 -> 1.2: the bundled model became Home LLM v2, trained on the v2 format. Its agents on
    the v1 format move to v2, and those on v1's default of 4 in-context examples to v2's 0;
    whatever else a user chose stays."""
    if entry.version > 1:
        return False  # written by a newer Home LLM
    if entry.minor_version < 2:
        if entry.data.get(CONF_MODEL_SOURCE) == SOURCE_BUNDLED:
            for subentry in entry.subentries.values():
                if subentry.subentry_type != SUBENTRY_CONVERSATION or subentry.data.get(CONF_PROMPT_PRESET) != "home_llm":
                    continue
                data = {**subentry.data, CONF_PROMPT_PRESET: BUNDLED_PRESET}
                if data.get(CONF_IN_CONTEXT_EXAMPLES) == 4:
                    data[CONF_IN_CONTEXT_EXAMPLES] = BUNDLED_IN_CONTEXT_EXAMPLES
                hass.config_entries.async_update_subentry(entry, subentry, data=data)
                LOGGER.info("Agent %s of the bundled model now uses the Home LLM v2 format", subentry.title)
        title = BUNDLED_MODEL_TITLE if entry.title == "Home LLM 135M v1 (bundled)" else entry.title
        hass.config_entries.async_update_entry(entry, title=title, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> bool:
    if entry.data.get(CONF_MODEL_SOURCE) == SOURCE_REMOTE:
        return await _async_setup_remote(hass, entry)
    if entry.data.get(CONF_MODEL_SOURCE) == SOURCE_BUNDLED and BUNDLED_TITLE_PATTERN.fullmatch(entry.title):
        # An update of the integration brings a new adapter: the title names the one that runs.
        hass.config_entries.async_update_entry(entry, title=BUNDLED_270M_TITLE if is_270m(entry.data) else BUNDLED_MODEL_TITLE)
    try:
        path, info, lora_path = await hass.async_add_executor_job(read_model_files, entry.data)
    except (BundledModelMissingError, InvalidGGUFError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="model_files_invalid", translation_placeholders={"error": str(err)}
        ) from err

    options = entry.options
    template = options.get(CONF_CHAT_TEMPLATE, CHAT_TEMPLATE_AUTO)
    if template == CHAT_TEMPLATE_AUTO:
        template = detect_template(info.chat_template, info.architecture)
    run_path, run_lora = path, lora_path
    if lora_path and options.get(CONF_MERGE_ADAPTER, True):
        merged = await async_merged_model(hass, entry.entry_id, path, lora_path)
        if merged:
            run_path, run_lora = merged, None
    worker = ModelWorker(
        str(run_path),
        lora_path=str(run_lora) if run_lora else None,
        n_ctx=options.get(CONF_CONTEXT_LENGTH, DEFAULT_CONTEXT_LENGTH),
        n_threads=options.get(CONF_THREADS, DEFAULT_THREADS) or None,
    )
    try:
        await worker.start()
    except ModelLoadError as err:
        await worker.stop()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="model_load_failed",
            translation_placeholders={"file": path.name, "error": str(err)},
        ) from err
    adapter = f" with LoRA adapter {lora_path.name}" if lora_path else ""
    adapter += f", merged into {run_path.name}" if run_path != path else ""
    LOGGER.info("Loaded %s%s (%s, chat template %s)", path.name, adapter, info.architecture, template)

    entry.runtime_data = HomeLLMRuntime(worker, template, info.chat_template)
    entry.async_on_unload(worker.stop)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_setup_remote(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> bool:
    """A model on an inference server: set up once the server answers and serves the model."""
    data, options = entry.data, entry.options
    placeholders = {"model": data[CONF_MODEL], "url": url_for_display(data[CONF_URL])}
    try:
        engine = RemoteEngine(
            data[CONF_URL],
            data[CONF_MODEL],
            api=data.get(CONF_API, API_OPENAI),
            api_key=data.get(CONF_API_KEY) or None,
            verify_ssl=data.get(CONF_VERIFY_SSL, True),
            grammar_field=data.get(CONF_GRAMMAR_FIELD, GRAMMAR_FIELD_NONE),
            n_ctx=options.get(CONF_CONTEXT_LENGTH, DEFAULT_CONTEXT_LENGTH),
            session=async_get_clientsession(hass, verify_ssl=data.get(CONF_VERIFY_SSL, True)),
        )
    except ValueError as err:  # settings no retry can fix (the flow doesn't make such entries)
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="remote_unavailable",
            translation_placeholders={**placeholders, "error": str(err)},
        ) from err
    try:
        await engine.start()
    except WorkerError as err:
        await engine.stop()
        # The server may start after Home Assistant, or be down for a while: Home Assistant retries.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="remote_unavailable",
            translation_placeholders={**placeholders, "error": str(err)},
        ) from err
    # The server's model file can't be read here, so the template is the one chosen in the flow.
    template = options.get(CONF_CHAT_TEMPLATE, DEFAULT_REMOTE_CHAT_TEMPLATE)
    entry.runtime_data = HomeLLMRuntime(engine, template, None)
    entry.async_on_unload(engine.stop)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> None:
    await hass.async_add_executor_job(remove_merges, hass, entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _async_reload(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
