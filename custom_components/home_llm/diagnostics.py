"""Diagnostics (Settings → Devices & services → Home LLM → Download diagnostics): the model,
the entry's and agents' settings, and the worker's state, with file paths, API keys and the
credentials in a server's URL redacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import HomeLLMConfigEntry
from .const import CONF_API_KEY, CONF_LORA_PATH, CONF_MODEL_PATH, CONF_URL
from .home_llm_core.remote_engine import RemoteEngine, url_for_display

# Paths can name the user's home folder; the file names are kept below.
TO_REDACT = {CONF_MODEL_PATH, CONF_LORA_PATH, CONF_API_KEY}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: HomeLLMConfigEntry) -> dict[str, Any]:
    runtime = entry.runtime_data
    worker = runtime.worker
    data = dict(entry.data)
    if CONF_URL in data:
        data[CONF_URL] = url_for_display(data[CONF_URL])  # without user:password@ or a query
    model: dict[str, Any]
    if isinstance(worker, RemoteEngine):
        model = {"server": worker.display_url, "api": worker.api, "name": worker.model}
    else:
        model = {
            "file": Path(worker.model_path).name,
            "lora": Path(worker.lora_path).name if worker.lora_path else None,
        }
    return {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": async_redact_data(data, TO_REDACT),
            "options": dict(entry.options),
        },
        "agents": [{"title": s.title, "type": s.subentry_type, "options": dict(s.data)} for s in entry.subentries.values()],
        "model": {
            **model,
            "chat_template": runtime.chat_template,
            "context_length": worker.context_length,
            "metadata": worker.metadata,
        },
        "worker": {
            "pid": worker.pid,
            "running": worker.running,
            "starts": worker.starts,
            "last_error": worker.last_error,
        },
    }
