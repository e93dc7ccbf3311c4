"""Tests for finding and downloading GGUF files, against the local FakeHub.

No mocks: huggingface_hub talks HTTP to tests/hub_server.py on 127.0.0.1.
"""

from __future__ import annotations

import filecmp
import re
import socket
import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RevisionNotFoundError

from custom_components.home_llm.model_download import (
    HubUnreachableError,
    InsufficientDiskSpaceError,
    ModelDownloadError,
    NoGGUFFilesError,
    QuantizationNotFoundError,
    RepoNotFoundError,
    _check_disk_space,
    choose_file,
    download_model,
    find_gguf_files,
    quantization_of,
)
from home_llm_core.gguf_metadata import read_gguf_metadata

from .gguf_writer import Tensor, gguf_bytes
from .hub_server import FakeHub
from .hub_server import hub_server as hub_server_fixture  # noqa: F401  (registers the hub_server fixture)
from .test_gguf_metadata import smollm2_path

REPO = "acme/Tiny-GGUF"
TOKEN = "hf_test_token"


def tiny_gguf(name: str = "Tiny", tensor_elements: int = 64) -> bytes:
    return gguf_bytes(
        {"general.architecture": "llama", "general.name": name, "llama.context_length": 2048},
        [Tensor("token_embd.weight", (tensor_elements,))],
    )


def closed_port_endpoint() -> str:
    """An endpoint on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def leftovers(directory: Path) -> list[Path]:
    """Temporary download files left anywhere under directory."""
    return [path for path in directory.rglob("*") if path.name.endswith(".incomplete")]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("Home-3B-v3.q4_k_m.gguf", "Q4_K_M"),
        ("home-llm/Home-3B-v3.Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-0.5b-instruct-q4_0.gguf", "Q4_0"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        ("Llama-3.2-1B-Instruct-Q5_K_S.gguf", "Q5_K_S"),
        ("model-Q3_K_L.gguf", "Q3_K_L"),
        ("gemma-3-1b-it-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("model_Q2_K.gguf", "Q2_K"),
        ("model.Q8_0.gguf", "Q8_0"),
        ("phi-2.f16.gguf", "F16"),
        ("model-fp16.gguf", "F16"),
        ("model-BF16.gguf", "BF16"),
        ("model-f32.gguf", "F32"),
        ("Meta-Llama-3-8B-Instruct-IQ4_XS.gguf", "IQ4_XS"),
        ("model-IQ2_XXS.gguf", "IQ2_XXS"),
        ("model-iq4_nl.gguf", "IQ4_NL"),
        ("model-IQ3_M.gguf", "IQ3_M"),
        ("model-TQ1_0.gguf", "TQ1_0"),
        ("gpt-oss-20b-MXFP4.gguf", "MXFP4"),
        ("model-Q4_0_4_8.gguf", "Q4_0_4_8"),
        ("model-Q1_0.gguf", "Q1_0"),
        ("model-NVFP4.gguf", "NVFP4"),
        ("Q8_0/model-Q8_0-00001-of-00002.gguf", "Q8_0"),
        # The last tag wins: the base model's precision may appear earlier.
        ("model-f16-finetune.Q6_K.gguf", "Q6_K"),
        ("model.gguf", None),
        ("Qwen2-7B.gguf", None),
        ("modelq4_0.gguf", None),
    ],
)
def test_quantization_of(filename: str, expected: str | None) -> None:
    assert quantization_of(filename) == expected


FILES = [
    "Home-3B-v3.f16.gguf",
    "Home-3B-v3.q4_k_m.gguf",
    "Home-3B-v3.q8_0.gguf",
    "mmproj-Home-3B-v3-q8_0.gguf",
    "big/Home-3B-v3.Q6_K-00002-of-00002.gguf",
    "big/Home-3B-v3.Q6_K-00001-of-00002.gguf",
]


@pytest.mark.parametrize(
    ("quantization", "expected"),
    [
        ("Q4_K_M", "Home-3B-v3.q4_k_m.gguf"),
        ("q4_k_m", "Home-3B-v3.q4_k_m.gguf"),
        (" F16 ", "Home-3B-v3.f16.gguf"),
        # The projector file has the same quantization but is not a model.
        ("Q8_0", "Home-3B-v3.q8_0.gguf"),
        # Split models are chosen by their first part.
        ("Q6_K", "big/Home-3B-v3.Q6_K-00001-of-00002.gguf"),
    ],
)
def test_choose_file(quantization: str, expected: str) -> None:
    assert choose_file(FILES, quantization) == expected


def test_choose_file_prefers_first_in_sorted_order() -> None:
    files = ["b-model.Q4_0.gguf", "a-model.Q4_0.gguf"]
    assert choose_file(files, "Q4_0") == "a-model.Q4_0.gguf"


def test_choose_file_missing_quantization() -> None:
    with pytest.raises(QuantizationNotFoundError) as excinfo:
        choose_file(FILES, "q5_k_m")
    assert excinfo.value.quantization == "Q5_K_M"
    assert excinfo.value.available == ["F16", "Q4_K_M", "Q6_K", "Q8_0"]
    assert str(excinfo.value) == ("No Q5_K_M file in the repository; available quantizations: F16, Q4_K_M, Q6_K, Q8_0")
    assert isinstance(excinfo.value, ModelDownloadError)


def test_choose_file_without_named_quantizations() -> None:
    with pytest.raises(QuantizationNotFoundError, match="none of its file names states"):
        choose_file(["model.gguf"], "Q4_0")


def test_find_gguf_files(hub_server: FakeHub) -> None:
    hub_server.add_repo(
        REPO,
        {
            "README.md": b"# Tiny\n",
            "tiny.Q8_0.gguf": tiny_gguf(),
            "tiny.Q4_0.GGUF": tiny_gguf(),
            "sub/tiny.F16.gguf": tiny_gguf(),
        },
    )
    assert find_gguf_files(REPO, endpoint=hub_server.endpoint) == [
        "sub/tiny.F16.gguf",
        "tiny.Q4_0.GGUF",
        "tiny.Q8_0.gguf",
    ]


def test_find_then_choose_missing_quantization(hub_server: FakeHub) -> None:
    hub_server.add_repo(REPO, {"tiny.Q8_0.gguf": tiny_gguf(), "tiny.Q4_0.gguf": tiny_gguf()})
    files = find_gguf_files(REPO, endpoint=hub_server.endpoint)
    with pytest.raises(QuantizationNotFoundError) as excinfo:
        choose_file(files, "Q4_K_M")
    assert excinfo.value.available == ["Q4_0", "Q8_0"]


def test_repo_without_gguf_files(hub_server: FakeHub) -> None:
    hub_server.add_repo(REPO, {"config.json": b"{}", "model.safetensors": b"\0" * 16})
    with pytest.raises(NoGGUFFilesError) as excinfo:
        find_gguf_files(REPO, endpoint=hub_server.endpoint)
    assert excinfo.value.files == ["config.json", "model.safetensors"]
    assert "contains no GGUF files (it has: config.json, model.safetensors)" in str(excinfo.value)


def test_unknown_repo(hub_server: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RepoNotFoundError, match="'acme/missing' was not found"):
        find_gguf_files("acme/missing", endpoint=hub_server.endpoint)
    with pytest.raises(RepoNotFoundError, match="'acme/missing' was not found"):
        download_model("acme/missing", "x.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint)
    assert list(tmp_path.iterdir()) == []


def test_invalid_repo_id(hub_server: FakeHub) -> None:
    with pytest.raises(RepoNotFoundError, match=re.escape("is not a valid repository id (expected owner/name)")):
        find_gguf_files("not a repo//id", endpoint=hub_server.endpoint)


def test_missing_file(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(REPO, {"tiny.Q8_0.gguf": tiny_gguf()})
    with pytest.raises(ModelDownloadError, match=re.escape("'tiny.Q4_0.gguf' was not found in repository")):
        download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint)


@pytest.mark.parametrize("filename", ["tiny.Q4_0.gguf", "Q4_0/tiny.Q4_0.gguf", "tiny-q4_0.bin.txt"])
def test_download_small_file(hub_server: FakeHub, tmp_path: Path, filename: str) -> None:
    """.gguf files go through the CDN redirect like LFS files; others come from /resolve."""
    content = tiny_gguf(tensor_elements=64 * 1024)
    hub_server.add_repo(REPO, {filename: content})
    reported: list[float] = []

    path = download_model(REPO, filename, tmp_path / "models", endpoint=hub_server.endpoint, progress=reported.append)

    assert path == tmp_path / "models" / filename
    assert path.read_bytes() == content
    assert reported[-1] == 1.0
    assert reported == sorted(reported)
    assert reported.count(1.0) == 1
    assert read_gguf_metadata(path).name == "Tiny"
    assert leftovers(tmp_path) == []


def test_download_real_model(hub_server: FakeHub, tmp_path: Path) -> None:
    source = smollm2_path()
    hub_server.add_repo("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", {source.name: source})
    reported: list[float] = []

    path = download_model(
        "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
        source.name,
        tmp_path,
        endpoint=hub_server.endpoint,
        progress=reported.append,
    )

    assert path.stat().st_size == source.stat().st_size
    info = read_gguf_metadata(path)
    assert info.architecture == "llama"
    assert info.chat_template
    # 98 MB arrive in several chunks: progress is reported along the way.
    assert len(reported) > 3
    assert reported == sorted(reported)
    assert 0 <= reported[0] < 0.5
    assert reported[-1] == 1.0


def test_token_goes_to_hub_not_cdn(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(REPO, {"tiny.Q4_0.gguf": tiny_gguf()})
    download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint, token=TOKEN)

    auth = {(request.server, request.method): request.headers.get("authorization") for request in hub_server.requests}
    assert auth[("hub", "HEAD")] == f"Bearer {TOKEN}"
    assert auth[("cdn", "GET")] is None


def test_second_download_is_skipped(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(REPO, {"tiny.Q4_0.gguf": tiny_gguf()})
    download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint)
    hub_server.requests.clear()
    reported: list[float] = []

    download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint, progress=reported.append)

    assert [r for r in hub_server.requests if r.method == "GET"] == []
    assert reported == [1.0]


def test_download_split_model(hub_server: FakeHub, tmp_path: Path) -> None:
    parts = {f"Q4_0/tiny-Q4_0-{index:05d}-of-00003.gguf": tiny_gguf(f"part {index}", 1024 * index) for index in (1, 2, 3)}
    hub_server.add_repo(REPO, {**parts, "tiny-Q8_0.gguf": tiny_gguf()})
    files = find_gguf_files(REPO, endpoint=hub_server.endpoint)
    first = choose_file(files, "Q4_0")
    assert first == "Q4_0/tiny-Q4_0-00001-of-00003.gguf"
    reported: list[float] = []

    path = download_model(REPO, first, tmp_path, endpoint=hub_server.endpoint, progress=reported.append)

    assert path == tmp_path / first
    for name, content in parts.items():
        assert (tmp_path / name).read_bytes() == content
    assert not (tmp_path / "tiny-Q8_0.gguf").exists()
    # The first part, whose path callers check, is fetched last.
    fetched = [r.path for r in hub_server.requests if r.server == "cdn" and r.method == "GET"]
    assert fetched[-1].endswith("tiny-Q4_0-00001-of-00003.gguf")
    assert len(fetched) == 3
    assert reported == sorted(reported)
    assert reported[-1] == 1.0


def test_split_model_with_missing_part(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(
        REPO,
        {
            "tiny-Q4_0-00001-of-00002.gguf": tiny_gguf(),
            # part 2 was never uploaded
        },
    )
    with pytest.raises(ModelDownloadError, match=re.escape("'tiny-Q4_0-00002-of-00002.gguf' was not found")):
        download_model(REPO, "tiny-Q4_0-00001-of-00002.gguf", tmp_path, endpoint=hub_server.endpoint)
    assert not (tmp_path / "tiny-Q4_0-00001-of-00002.gguf").exists()


def test_interrupted_download_leaves_no_file(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(REPO, {"tiny.Q4_0.gguf": tiny_gguf(tensor_elements=100_000)})
    hub_server.cdn_truncate_bytes = 1000
    reported: list[float] = []

    with pytest.raises(ModelDownloadError) as excinfo:
        download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=hub_server.endpoint, progress=reported.append)

    message = str(excinfo.value)
    assert message.startswith(f"Could not download 'tiny.Q4_0.gguf' from '{REPO}': Consistency check failed")
    assert "\n" not in message

    assert not (tmp_path / "tiny.Q4_0.gguf").exists()
    assert leftovers(tmp_path) == []
    assert 1.0 not in reported


def test_dropped_connection_resumes(hub_server: FakeHub, tmp_path: Path) -> None:
    """huggingface_hub resumes with a Range request after a dropped connection (after a 1 s pause).

    It writes in 10 MiB chunks, so only a drop past the first chunk resumes
    mid-file: hence the real 98 MB model.
    """
    source = smollm2_path()
    hub_server.add_repo(REPO, {source.name: source})
    hub_server.cdn_interrupt_after = 30_000_000
    reported: list[float] = []

    path = download_model(REPO, source.name, tmp_path, endpoint=hub_server.endpoint, progress=reported.append)

    assert filecmp.cmp(path, source, shallow=False)
    first, resumed = [r.headers.get("range") for r in hub_server.requests if r.server == "cdn"]
    assert first is None
    assert resumed.startswith("bytes=")
    assert resumed != "bytes=0-"
    assert reported == sorted(reported)
    assert reported[-1] == 1.0


def test_fake_hub_serves_other_huggingface_hub_calls(hub_server: FakeHub) -> None:
    """The listing and metadata calls this module does not use work too."""
    commit = hub_server.add_repo(REPO, {"README.md": b"hi", "Q4_0/tiny.Q4_0.gguf": tiny_gguf()})
    api = HfApi(endpoint=hub_server.endpoint)

    assert sorted(api.list_repo_files(REPO)) == ["Q4_0/tiny.Q4_0.gguf", "README.md"]
    top_level = {entry.path: type(entry).__name__ for entry in api.list_repo_tree(REPO)}
    assert top_level == {"Q4_0": "RepoFolder", "README.md": "RepoFile"}
    info = api.model_info(REPO, revision=commit, files_metadata=True)
    assert info.sha == commit
    sizes = {sibling.rfilename: (sibling.size, sibling.lfs is not None) for sibling in info.siblings}
    assert sizes == {"README.md": (2, False), "Q4_0/tiny.Q4_0.gguf": (len(tiny_gguf()), True)}
    with pytest.raises(RevisionNotFoundError):
        api.model_info(REPO, revision="no-such-branch")


def test_not_enough_disk_space(tmp_path: Path) -> None:
    with pytest.raises(InsufficientDiskSpaceError, match=r"the model needs 1,000,000,000,000 MB, only [\d,]+ MB are free"):
        _check_disk_space(tmp_path / "models", {"huge.gguf": 10**18})


@pytest.mark.usefixtures("socket_enabled")
def test_unreachable_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = closed_port_endpoint()
    sleeps: list[float] = []  # a retry loop would back off with time.sleep
    monkeypatch.setattr(time, "sleep", sleeps.append)

    with pytest.raises(HubUnreachableError) as excinfo:
        find_gguf_files(REPO, endpoint=endpoint)
    assert excinfo.value.endpoint == endpoint
    assert str(excinfo.value).startswith(f"Cannot reach the model hub at {endpoint}: ")

    with pytest.raises(HubUnreachableError, match=f"Cannot reach the model hub at {endpoint}"):
        download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=endpoint)

    assert sleeps == []  # no retry loop with back-off sleeps: the user hears at once
    assert list(tmp_path.iterdir()) == []


def test_endpoint_from_environment(hub_server: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_ENDPOINT counts even when set after huggingface_hub was imported."""
    hub_server.add_repo(REPO, {"tiny.Q4_0.gguf": tiny_gguf()})
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    assert find_gguf_files(REPO) == ["tiny.Q4_0.gguf"]
    assert download_model(REPO, "tiny.Q4_0.gguf", tmp_path).is_file()


def test_endpoint_trailing_slash(hub_server: FakeHub, tmp_path: Path) -> None:
    hub_server.add_repo(REPO, {"tiny.Q4_0.gguf": tiny_gguf()})
    endpoint = hub_server.endpoint + "/"
    assert find_gguf_files(REPO, endpoint=endpoint) == ["tiny.Q4_0.gguf"]
    assert download_model(REPO, "tiny.Q4_0.gguf", tmp_path, endpoint=endpoint).is_file()
