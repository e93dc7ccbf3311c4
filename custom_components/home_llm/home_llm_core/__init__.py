"""Home LLM's core without Home Assistant: the prompt and reply format (home_format), the GGUF
header reader (gguf_metadata), the llama.cpp worker process and its client, and the defaults a
new agent starts with.

Its source lives inside the integration, so that HACS and a manual copy still ship one folder;
the integration imports it relatively (``from .home_llm_core.home_format import ...``). The
repository's pyproject.toml also makes it an installable package of its own, ``home_llm_core``,
which scripts/bootstrap.sh and scripts/bootstrap_training.sh install (editable) into both
virtual environments: data/, training/, benchmarks/ and tests import it by that name.

One process that loads both the integration and the tooling (only the tests do) would then see
the same files as two modules, with two ``Home`` classes that never compare equal. tests/conftest.py
prevents that: before Home Assistant loads the integration it registers every installed
``home_llm_core`` module under the integration's name as well,
so both names are the same module objects and a Home built by the integration goes to the
evaluator as it is. Nothing in here may import Home Assistant or anything outside this package,
except: numpy and gguf (merge_lora.py), aiohttp and yarl (remote_engine.py), which Home Assistant's
environment has; data/ and training/ use neither module.
"""
