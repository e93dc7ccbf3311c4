"""The LoRA adapter merged into its base at set-up (home_llm_core/merge_lora.py, model_merge.py):
the merged file predicts what base + adapter predict, set-up runs it, keeps it and cleans up."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from homeassistant.core import HomeAssistant

from custom_components.home_llm.const import CONF_MERGE_ADAPTER
from home_llm_core import merge_lora
from home_llm_core.defaults import BUNDLED_ADAPTER, bundled_model_path
from home_llm_core.home_format import build_request

from .conftest import home_llm_entry
from .fixture_home import FIXTURE_HOME, NOW

REPLY = '{"service": "light.turn_off", "target_device": "light.office"}<|im_end|>'


def _next_token_choices(model: Path, tokens: list[int], lora: Path | None = None) -> np.ndarray:
    """The model's most likely next token at every position of tokens (one forward pass)."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(model),
        lora_path=str(lora) if lora else None,
        n_ctx=2048,
        n_threads=1,
        n_threads_batch=1,
        logits_all=True,
        verbose=False,
    )
    llm.eval(tokens)
    return np.asarray(llm.scores[: len(tokens)]).argmax(axis=1)


@pytest.fixture(scope="module")
def merged_q8(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("merged") / "model.q8_0.gguf"
    merge_lora.merge(bundled_model_path(), BUNDLED_ADAPTER, out, "q8_0")
    return out


def test_the_merged_model_predicts_what_base_and_adapter_predict(merged_q8: Path) -> None:
    from llama_cpp import Llama

    prompt = build_request(FIXTURE_HOME, "turn off the office light", now=NOW, chat_template="chatml", preset="home_llm_v2")
    vocab = Llama(model_path=str(merged_q8), vocab_only=True, verbose=False)
    tokens = vocab.tokenize((prompt.prompt + REPLY).encode(), add_bos=True, special=True)
    reply_from = len(tokens) - len(vocab.tokenize(REPLY.encode(), add_bos=False, special=True)) - 1

    adapted = _next_token_choices(bundled_model_path(), tokens, BUNDLED_ADAPTER)
    merged = _next_token_choices(merged_q8, tokens)
    base = _next_token_choices(bundled_model_path(), tokens)

    def agreement(a: np.ndarray, b: np.ndarray) -> float:
        return float((a[reply_from:-1] == b[reply_from:-1]).mean())

    # The reply is what the adapter learnt: the merged file agrees with base + adapter on it,
    # the base alone (an adapter dropped or applied wrongly) does not.
    assert agreement(merged, adapted) >= 0.95, (agreement(merged, adapted), agreement(base, adapted))
    assert agreement(base, adapted) < agreement(merged, adapted) - 0.2
    assert float((merged[:reply_from] == adapted[:reply_from]).mean()) >= 0.9


def test_a_file_that_is_not_an_adapter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(merge_lora.MergeError, match="not a GGUF adapter"):
        merge_lora.merge(bundled_model_path(), bundled_model_path(), tmp_path / "out.gguf")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.merges
async def test_set_up_runs_the_merged_file_once_made_and_removes_it_with_the_entry(
    hass: HomeAssistant, demo_home: None, scripted_worker
) -> None:
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    folder = Path(hass.config.path("home_llm", "merged", entry.entry_id))
    (merged,) = folder.iterdir()
    assert scripted_worker.model_path == str(merged) and scripted_worker.lora_path is None
    assert merged.name.startswith(BUNDLED_ADAPTER.stem) and merged.name.endswith(".q8_0.gguf")
    made_at = merged.stat().st_mtime_ns

    # A reload (an option changed, a restart) uses the file as it is.
    stale = folder / "home-llm-135m-v1.lora.0123456789ab.q8_0.gguf"  # an earlier adapter's merge
    stale.write_bytes(b"old")
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert merged.stat().st_mtime_ns == made_at and scripted_worker.model_path == str(merged)

    # Turned off: base + adapter at run time.
    hass.config_entries.async_update_entry(entry, options={CONF_MERGE_ADAPTER: False})
    await hass.async_block_till_done()
    assert scripted_worker.model_path == str(bundled_model_path()) and scripted_worker.lora_path == str(BUNDLED_ADAPTER)

    await hass.config_entries.async_remove(entry.entry_id)
    assert not folder.exists()


@pytest.mark.merges
async def test_a_failed_merge_runs_base_and_adapter_and_says_why(
    hass: HomeAssistant, demo_home: None, scripted_worker, tmp_path: Path, monkeypatch, caplog
) -> None:
    failing = tmp_path / "merge.py"
    failing.write_text("import sys\nprint('error the disk is full', file=sys.stderr)\nsys.exit(1)\n")
    monkeypatch.setattr("custom_components.home_llm.model_merge.MERGE_SCRIPT", failing)
    entry = home_llm_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert scripted_worker.model_path == str(bundled_model_path()) and scripted_worker.lora_path == str(BUNDLED_ADAPTER)
    assert "Could not merge" in caplog.text and "the disk is full" in caplog.text
    assert os.listdir(hass.config.path("home_llm", "merged", entry.entry_id)) == []
