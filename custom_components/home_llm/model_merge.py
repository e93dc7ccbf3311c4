"""The model file an entry runs: its base and LoRA adapter merged once into one fast file.

The merge (home_llm_core/merge_lora.py) runs in a child process on the entry's first set-up and
whenever its adapter or base changes; the result is kept in the config folder, one folder per
entry, under a name made of the adapter's name and a digest of both files, so a new adapter (an
update of the integration) gets a new file and the old one is removed. If the merge fails, the
entry runs base + adapter as before and the log says why.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from homeassistant.core import HomeAssistant

from .const import LOGGER
from .home_llm_core import merge_lora

MERGE_SCRIPT = Path(merge_lora.__file__)
MERGED_TYPE = "q8_0"  # the adapter's accuracy kept (q4_0 changes many answers), 1.6x base + adapter
MERGE_TIMEOUT_S = 900.0


def merge_folder(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path("home_llm", "merged", entry_id))


def merged_path(folder: Path, base: Path, adapter: Path, kind: str = MERGED_TYPE) -> Path:
    """Where the merge of this base and adapter is kept (blocking: reads the adapter)."""
    return folder / merge_lora.merged_name(base, adapter, kind)


async def async_merged_model(
    hass: HomeAssistant,
    entry_id: str,
    base: Path,
    adapter: Path,
    progress: Callable[[float], None] | None = None,
    kind: str = MERGED_TYPE,
) -> Path | None:
    """The merged file, made now if it isn't there yet; None when merging failed (logged)."""
    out = await hass.async_add_executor_job(merged_path, merge_folder(hass, entry_id), base, adapter, kind)
    if await hass.async_add_executor_job(out.exists):
        return out
    await hass.async_add_executor_job(lambda: out.parent.mkdir(parents=True, exist_ok=True))
    LOGGER.info("Merging %s into %s as %s, once (%s)", adapter.name, base.name, kind.upper(), out)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(MERGE_SCRIPT),
        str(base),
        str(adapter),
        str(out),
        "--type",
        kind,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(MERGE_TIMEOUT_S):
            assert proc.stdout is not None
            async for line in proc.stdout:
                done, _, total = line.decode().removeprefix("progress ").strip().partition(" ")
                if progress and done.isdigit() and total.isdigit():
                    progress(int(done) / int(total))
            _, stderr = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        LOGGER.warning("Merging %s took over %.0f s and was stopped; running it as an adapter", adapter.name, MERGE_TIMEOUT_S)
        return None
    if proc.returncode != 0 or not await hass.async_add_executor_job(out.exists):
        error = stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        LOGGER.warning("Could not merge %s into %s (%s); running it as an adapter", adapter.name, base.name, error[0])
        return None
    LOGGER.info("Merged %s into %s in %.1f s", adapter.name, base.name, time.monotonic() - started)
    await hass.async_add_executor_job(_remove_older_merges, out)
    return out


def _remove_older_merges(current: Path) -> None:
    """The entry's earlier merges (another adapter or base): 100+ MB each."""
    for other in current.parent.iterdir():
        if other != current:
            other.unlink(missing_ok=True)


def remove_merges(hass: HomeAssistant, entry_id: str) -> None:
    """Everything merged for an entry (blocking), when the entry is removed."""
    shutil.rmtree(merge_folder(hass, entry_id), ignore_errors=True)
