"""Where the model file of a config entry is, and whether it is usable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .const import CONF_BUNDLED_MODEL, CONF_LORA_PATH, CONF_MODEL_PATH, CONF_MODEL_SOURCE, SOURCE_BUNDLED
from .home_llm_core.defaults import (
    BUNDLED_270M,
    assemble_270m_base,
    bundled_adapter_path,
    bundled_model_path,
)
from .home_llm_core.gguf_metadata import GGUFInfo, check_lora_fits, read_gguf_metadata


def is_270m(data: Mapping[str, Any]) -> bool:
    """Whether a config entry runs Home LLM 270M (bundled entries without the key are 135M)."""
    return data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED and data.get(CONF_BUNDLED_MODEL) == BUNDLED_270M


def data_of_270m(base: Path) -> dict[str, Any]:
    """A Home LLM 270M entry's data: its base, joined in the config folder at set-up."""
    return {CONF_MODEL_SOURCE: SOURCE_BUNDLED, CONF_BUNDLED_MODEL: BUNDLED_270M, CONF_MODEL_PATH: str(base)}


def model_path_of(data: Mapping[str, Any]) -> Path:
    """The GGUF file a config entry runs (the bundled 135M one is looked up anew: venvs move;
    the 270M one was assembled in the config folder at set-up)."""
    if data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED and not is_270m(data):
        return bundled_model_path()
    return Path(data[CONF_MODEL_PATH])


def lora_path_of(data: Mapping[str, Any]) -> Path | None:
    """The LoRA adapter a config entry applies on top of its model, if any."""
    if data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED:
        return bundled_adapter_path(data.get(CONF_BUNDLED_MODEL))
    return Path(data[CONF_LORA_PATH]) if data.get(CONF_LORA_PATH) else None


def read_model_files(data: Mapping[str, Any]) -> tuple[Path, GGUFInfo, Path | None]:
    """Check a config entry's model and adapter files (blocking I/O): the model's path and
    header, and the adapter's path. Raises BundledModelMissingError or InvalidGGUFError."""
    path = model_path_of(data)
    if is_270m(data) and not path.is_file():  # removed since set-up: joined again from its packages
        assemble_270m_base(path.parent)
    info = read_gguf_metadata(path)
    lora_path = lora_path_of(data)
    if lora_path is not None:
        check_lora_fits(read_gguf_metadata(lora_path), info, lora_path.name)
    return path, info, lora_path
