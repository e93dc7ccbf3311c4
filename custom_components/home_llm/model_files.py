"""Where the model file of a config entry is, and whether it is usable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .const import CONF_LORA_PATH, CONF_MODEL_PATH, CONF_MODEL_SOURCE, SOURCE_BUNDLED
from .home_llm_core.defaults import bundled_adapter_path, bundled_model_path
from .home_llm_core.gguf_metadata import GGUFInfo, check_lora_fits, read_gguf_metadata


def model_path_of(data: Mapping[str, Any]) -> Path:
    """The GGUF file a config entry runs (the bundled one is looked up anew: venvs move)."""
    if data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED:
        return bundled_model_path()
    return Path(data[CONF_MODEL_PATH])


def lora_path_of(data: Mapping[str, Any]) -> Path | None:
    """The LoRA adapter a config entry applies on top of its model, if any."""
    if data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED:
        return bundled_adapter_path()
    return Path(data[CONF_LORA_PATH]) if data.get(CONF_LORA_PATH) else None


def read_model_files(data: Mapping[str, Any]) -> tuple[Path, GGUFInfo, Path | None]:
    """Check a config entry's model and adapter files (blocking I/O): the model's path and
    header, and the adapter's path. Raises BundledModelMissingError or InvalidGGUFError."""
    path = model_path_of(data)
    info = read_gguf_metadata(path)
    lora_path = lora_path_of(data)
    if lora_path is not None:
        check_lora_fits(read_gguf_metadata(lora_path), info, lora_path.name)
    return path, info, lora_path
