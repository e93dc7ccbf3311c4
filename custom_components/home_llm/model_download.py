"""Find and download GGUF model files from a Hugging Face repository.

Free of Home Assistant imports: the config flow runs these blocking
functions in an executor. huggingface_hub does the HTTP work; this module
picks the file, reports progress as a fraction and turns huggingface_hub's
exceptions into the ModelDownloadError family below, whose messages are
meant for the user.

Every function takes an `endpoint` (default: the HF_ENDPOINT environment
variable, else huggingface_hub's https://huggingface.co) and an optional `token`
(default: the token huggingface_hub finds in HF_TOKEN or its login cache).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, Self

import httpx2  # huggingface_hub's HTTP client; its errors mean "no connection"
from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

# Seconds to wait for the hub to answer an API or HEAD request. Also keeps
# failures quick: the listing and metadata calls below are never retried.
API_TIMEOUT = 10

_SPLIT_RE = re.compile(r"^(?P<prefix>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Quantization names as llama.cpp and the usual uploaders spell them in file
# names. Order matters where one name is a prefix of another.
_QUANT_RE = re.compile(
    r"(?<![a-z0-9])("
    r"iq[1-4]_(?:xxs|xs|nl|s|m)"
    r"|q[2-8]_k(?:_(?:xl|s|m|l))?"
    r"|q4_0_[48]_[48]"
    r"|q[1-8]_[01]"
    r"|tq[12]_0"
    r"|mxfp4(?:_moe)?|nvfp4"
    r"|bf16|fp?16|fp?32"
    r")(?![a-z0-9])",
    re.IGNORECASE,
)


class ModelDownloadError(Exception):
    """Finding or downloading a model failed; str() is a user-facing message."""


class HubUnreachableError(ModelDownloadError):
    """No connection to the hub: refused, DNS failure, timeout or offline mode."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"Cannot reach the model hub at {endpoint}: {reason}")
        self.endpoint = endpoint


class RepoNotFoundError(ModelDownloadError):
    """The repository does not exist, is private or gated, or the id is malformed."""

    def __init__(self, repo_id: str, detail: str | None = None) -> None:
        super().__init__(
            f"Repository '{repo_id}' " + (detail or "was not found (check the spelling; private repositories need a token)")
        )
        self.repo_id = repo_id


class NoGGUFFilesError(ModelDownloadError):
    """The repository exists but contains no .gguf file."""

    def __init__(self, repo_id: str, files: list[str]) -> None:
        shown = ", ".join(files[:8]) + (", ..." if len(files) > 8 else "")
        super().__init__(
            f"Repository '{repo_id}' contains no GGUF files"
            + (f" (it has: {shown})" if files else " (it is empty)")
            + "; look for a repository with a GGUF conversion of the model"
        )
        self.repo_id = repo_id
        self.files = files


class QuantizationNotFoundError(ModelDownloadError):
    """No file in the repository has the requested quantization."""

    def __init__(self, quantization: str, available: list[str]) -> None:
        super().__init__(
            f"No {quantization} file in the repository; "
            + (
                f"available quantizations: {', '.join(available)}"
                if available
                else "none of its file names states a quantization"
            )
        )
        self.quantization = quantization
        self.available = available


class InsufficientDiskSpaceError(ModelDownloadError):
    """The destination does not have room for the download."""

    def __init__(self, needed: int, free: int, dest_dir: Path) -> None:
        super().__init__(
            f"Not enough disk space in {dest_dir}: the model needs {needed / 1e6:,.0f} MB, only {free / 1e6:,.0f} MB are free"
        )
        self.needed = needed
        self.free = free


def find_gguf_files(repo_id: str, *, endpoint: str | None = None, token: str | None = None) -> list[str]:
    """Return the paths of all .gguf files in the repository, sorted."""
    endpoint = _endpoint(endpoint)
    with _hub_errors(endpoint, repo_id):
        # model_info is one request with a timeout and no retries, unlike
        # list_repo_files, which retries a refused connection for ~30 s.
        info = HfApi(endpoint=endpoint).model_info(repo_id, token=token, timeout=API_TIMEOUT)
    files = sorted(sibling.rfilename for sibling in info.siblings or [])
    gguf_files = [name for name in files if name.lower().endswith(".gguf")]
    if not gguf_files:
        raise NoGGUFFilesError(repo_id, files)
    return gguf_files


def quantization_of(filename: str) -> str | None:
    """The quantization named in a GGUF file name, upper-cased ("Q4_K_M"), or None."""
    name = filename.rsplit("/", 1)[-1]
    matches = _QUANT_RE.findall(name)
    if not matches:
        return None
    # The quantization is conventionally the last tag in the name.
    quantization = matches[-1].upper()
    return {"FP16": "F16", "FP32": "F32"}.get(quantization, quantization)


def choose_file(files: list[str], quantization: str) -> str:
    """Pick the file with the given quantization (case-insensitive) from files.

    Multimodal projector files (mmproj) are never chosen. For a model split
    into parts ("-00001-of-00003.gguf") the first part is returned;
    download_model fetches the others. If several models match, the first
    in sorted order wins.
    """
    wanted = quantization.strip().upper()
    models = [name for name in files if not _is_projector(name)]
    matches = sorted(name for name in models if quantization_of(name) == wanted and _split_index(name) in (None, 1))
    if not matches:
        available = sorted({q for name in models if (q := quantization_of(name)) is not None})
        raise QuantizationNotFoundError(wanted, available)
    return matches[0]


def download_model(
    repo_id: str,
    filename: str,
    dest_dir: str | Path,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Download filename from the repository into dest_dir; return its path.

    The file lands at dest_dir/filename only once complete: huggingface_hub
    writes to a temporary file under dest_dir/.cache/huggingface/ and
    renames it, deleting it on failure. A file already present and
    unchanged on the hub is not downloaded again. For a split model every
    part is downloaded, the first part last, so the returned path exists
    only when the whole model does.

    progress, if given, is called from this thread with fractions rising
    from 0 to below 1 during the transfer, and with exactly 1.0 once the
    file is in place.
    """
    endpoint = _endpoint(endpoint)
    dest_dir = Path(dest_dir)
    parts = _split_parts(filename)
    # One HEAD per part, without retries: fails fast when the hub is
    # unreachable (hf_hub_download would retry for ~30 s), and pins every
    # part to the same commit.
    sizes: dict[str, int | None] = {}
    revision: str | None = None
    for part in parts:
        with _hub_errors(endpoint, repo_id, part):
            url = hf_hub_url(repo_id, part, revision=revision, endpoint=endpoint)
            metadata = get_hf_file_metadata(url, token=token, timeout=API_TIMEOUT, endpoint=endpoint)
        if metadata.commit_hash is None:
            raise ModelDownloadError(
                f"{endpoint} does not behave like a Hugging Face hub (its response lacks the X-Repo-Commit header)"
            )
        revision = revision or metadata.commit_hash
        sizes[part] = metadata.size

    _check_disk_space(dest_dir, sizes)
    tracker = _ProgressTracker(progress, sizes)
    # Later parts first: the first part, whose path is returned, comes last.
    for part in reversed(parts):
        with _hub_errors(endpoint, repo_id, part):
            local_path = hf_hub_download(
                repo_id,
                part,
                revision=revision,
                local_dir=dest_dir,
                endpoint=endpoint,
                token=token,
                etag_timeout=API_TIMEOUT,
                tqdm_class=tracker.bar_class(),
            )
        tracker.part_done(part)
    tracker.finish()
    return Path(local_path)


class _ProgressTracker:
    """Turns huggingface_hub's progress-bar updates into fractions of the whole download.

    huggingface_hub instantiates `tqdm_class` for each file and calls
    update(n) as bytes arrive; the class from bar_class() forwards those
    byte counts here instead of drawing anything.
    """

    def __init__(self, callback: Callable[[float], None] | None, sizes: dict[str, int | None]) -> None:
        self._callback = callback
        self._sizes = sizes
        self._total = sum(size or 0 for size in sizes.values())
        self._finished_bytes = 0
        self._reported = -1.0

    def bar_class(self) -> Any:
        tracker = self

        class _Bar:
            # Having update_transfer makes the Xet downloader feed this single
            # bar with bytes written, instead of opening a second bar for
            # network bytes.
            def __init__(self, *args: Any, total: int | None = None, initial: float = 0, **kwargs: Any) -> None:
                self.total = total  # read and raised by the Xet downloader
                self.n = initial
                tracker.bytes_of_part(self.n)

            def update(self, n: float = 1) -> None:
                self.n += n
                tracker.bytes_of_part(self.n)

            def update_transfer(self, n: int) -> None:
                """Network bytes; progress counts bytes written instead."""

            def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
                """Nothing is drawn."""

            set_transfer_postfix_str = set_postfix_str

            def refresh(self) -> None:
                """Nothing is drawn."""

            def close(self) -> None:
                """Nothing to release."""

            def __enter__(self) -> Self:
                return self

            def __exit__(self, *exc_info: object) -> None:
                self.close()

        return _Bar

    def part_done(self, part: str) -> None:
        self._finished_bytes += self._sizes.get(part) or 0

    def finish(self) -> None:
        if self._callback is not None:
            self._callback(1.0)

    def bytes_of_part(self, done: float) -> None:
        if self._callback is None or not self._total:
            return
        # Stay below 1.0 until the file is in place; report every whole
        # percent only, and never go backwards (a resumed download may
        # rewind its counter).
        fraction = min((self._finished_bytes + max(done, 0)) / self._total, 0.999)
        if fraction - self._reported >= 0.01:
            self._reported = fraction
            self._callback(fraction)


def _endpoint(endpoint: str | None) -> str:
    # HF_ENDPOINT is read at call time too: huggingface_hub reads it only once, at import.
    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _is_projector(filename: str) -> bool:
    return "mmproj" in filename.rsplit("/", 1)[-1].lower()


def _split_index(filename: str) -> int | None:
    match = _SPLIT_RE.match(filename)
    return int(match["index"]) if match else None


def _split_parts(filename: str) -> list[str]:
    """All files of a split model, first part first; [filename] if not split."""
    match = _SPLIT_RE.match(filename)
    if match is None:
        return [filename]
    count = int(match["count"])
    return [f"{match['prefix']}-{index:05d}-of-{count:05d}.gguf" for index in range(1, count + 1)]


def _check_disk_space(dest_dir: Path, sizes: dict[str, int | None]) -> None:
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest_dir).free
    except OSError as err:
        raise ModelDownloadError(f"Cannot use {dest_dir} for models: {err}") from err
    # Parts already present at full size are most likely not fetched again.
    needed = sum(
        size
        for part, size in sizes.items()
        if size and not ((dest_dir / part).is_file() and (dest_dir / part).stat().st_size == size)
    )
    if needed > free:
        raise InsufficientDiskSpaceError(needed, free, dest_dir)


@contextmanager
def _hub_errors(endpoint: str, repo_id: str, filename: str | None = None) -> Iterator[None]:
    """Translate huggingface_hub and HTTP errors into ModelDownloadError subclasses."""
    try:
        yield
    except ModelDownloadError:
        raise
    except (httpx2.TransportError, OfflineModeIsEnabled) as err:
        _raise_unreachable(endpoint, err)
    except HFValidationError as err:
        raise RepoNotFoundError(repo_id, "is not a valid repository id (expected owner/name)") from err
    except GatedRepoError as err:
        raise RepoNotFoundError(
            repo_id,
            "is gated: accept its terms on the hub, then use a token of that account",
        ) from err
    except RepositoryNotFoundError as err:
        raise RepoNotFoundError(repo_id) from err
    except RemoteEntryNotFoundError as err:
        raise ModelDownloadError(f"File '{filename}' was not found in repository '{repo_id}'") from err
    except HfHubHTTPError as err:
        status = err.response.status_code
        hint = ": check the access token" if status in (401, 403) else ""
        raise ModelDownloadError(f"The model hub at {endpoint} answered HTTP {status} for '{repo_id}'{hint}") from err
    except LocalEntryNotFoundError as err:
        # hf_hub_download's way of saying the hub could not be reached.
        if isinstance(err.__cause__, (httpx2.TransportError, OfflineModeIsEnabled)):
            _raise_unreachable(endpoint, err.__cause__)
        raise ModelDownloadError(f"Could not download '{filename}' from '{repo_id}': {_first_line(err)}") from err
    except OSError as err:
        # Disk full, permissions, or huggingface_hub's size consistency check.
        raise ModelDownloadError(f"Could not download '{filename}' from '{repo_id}': {_first_line(err)}") from err


def _first_line(err: BaseException) -> str:
    """The gist of an error; huggingface_hub appends advice meant for programmers."""
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _raise_unreachable(endpoint: str, err: BaseException) -> NoReturn:
    if isinstance(err, OfflineModeIsEnabled):
        reason = "offline mode is enabled (HF_HUB_OFFLINE is set)"
    elif isinstance(err, httpx2.TimeoutException):
        reason = f"no answer within {API_TIMEOUT} seconds"
    else:
        reason = _first_line(err)
    raise HubUnreachableError(endpoint, reason) from err
