"""Read and validate the header of a GGUF model file.

Standard library only, so it can run anywhere (config flow executor, scripts,
tests) without Home Assistant or llama.cpp. Only the header is read: the
key/value metadata and the tensor directory, never the tensor data, so a
multi-gigabyte model is checked in milliseconds.

Format reference: the GGUF specification in the ggml repository
(docs/gguf.md). All integers are little-endian.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

GGUF_MAGIC = b"GGUF"
# Version 1 used 32-bit counts and has been unsupported by llama.cpp since 2023.
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Arrays longer than this (vocabularies, merges, token types) are skipped and
# recorded as SkippedArray instead of being materialised as Python lists.
MAX_ARRAY_ITEMS = 256

# Corrupt files can claim absurd lengths; these bounds stop us from reading
# gigabytes into memory before noticing.
_MAX_NAME_LENGTH = 64 * 1024  # metadata keys and tensor names
_MAX_STRING_LENGTH = 16 * 1024 * 1024  # string values (chat templates are ~10 KB)
_MAX_TENSOR_DIMS = 8

_TYPE_STRING = 8
_TYPE_ARRAY = 9
# Fixed-size metadata value types: GGUF type id -> (name, struct format).
_SCALAR_TYPES: dict[int, tuple[str, str]] = {
    0: ("uint8", "B"),
    1: ("int8", "b"),
    2: ("uint16", "H"),
    3: ("int16", "h"),
    4: ("uint32", "I"),
    5: ("int32", "i"),
    6: ("float32", "f"),
    7: ("bool", "?"),
    10: ("uint64", "Q"),
    11: ("int64", "q"),
    12: ("float64", "d"),
}

# ggml tensor types (as of the ggml in llama-cpp-python 0.3.36): type id ->
# (elements per block, bytes per block). Used only to compute how large the file must be;
# tensors of a type missing here just skip that check.
_GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
    42: (64, 18),  # Q2_0
}

# general.file_type (llama.cpp's llama_ftype) -> quantization name.
FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
    41: "Q2_0",
}


class InvalidGGUFError(Exception):
    """The file is missing, unreadable or not a usable GGUF model."""


@dataclass(frozen=True)
class SkippedArray:
    """Stands in for a metadata array too long to be worth loading."""

    item_type: str
    length: int

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"<array of {self.length} {self.item_type}>"


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says about the model."""

    version: int
    tensor_count: int
    metadata: dict[str, Any]
    file_size: int

    @property
    def architecture(self) -> str | None:
        """Model architecture, e.g. "llama" or "qwen2"."""
        return self._get("general.architecture", str)

    @property
    def name(self) -> str | None:
        """Human-readable model name, if the converter stored one."""
        return self._get("general.name", str)

    @property
    def chat_template(self) -> str | None:
        """The default Jinja chat template."""
        return self._get("tokenizer.chat_template", str)

    @property
    def context_length(self) -> int | None:
        """The context length the model was trained with."""
        if self.architecture is None:
            return None
        return self._get(f"{self.architecture}.context_length", int)

    @property
    def file_type(self) -> int | None:
        """Raw general.file_type (llama.cpp's llama_ftype enum)."""
        return self._get("general.file_type", int)

    @property
    def is_lora_adapter(self) -> bool:
        """True for a LoRA adapter (convert_lora_to_gguf.py's output), not a model."""
        return self._get("general.type", str) == "adapter" and self._get("adapter.type", str) == "lora"

    @property
    def quantization(self) -> str | None:
        """Quantization name such as "Q4_K_M", derived from file_type."""
        if self.file_type is None:
            return None
        return FILE_TYPE_NAMES.get(self.file_type)

    def _get(self, key: str, kind: type) -> Any:
        value = self.metadata.get(key)
        # bool is an int subclass but never a valid length or enum here.
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        return None


def check_lora_fits(adapter: GGUFInfo, model: GGUFInfo, adapter_name: str) -> None:
    """Raise InvalidGGUFError unless adapter is a LoRA adapter for model's architecture."""
    if not adapter.is_lora_adapter:
        raise InvalidGGUFError(f"{adapter_name} is not a LoRA adapter (convert one with llama.cpp's convert_lora_to_gguf.py)")
    if adapter.architecture != model.architecture:
        raise InvalidGGUFError(
            f"{adapter_name} is a LoRA adapter for {adapter.architecture!r} models, but the model is {model.architecture!r}"
        )


def read_gguf_metadata(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read the header of the GGUF file at path.

    Raises InvalidGGUFError, with a message meant for the user, when the file
    does not exist, cannot be read, is not GGUF, uses an unsupported GGUF
    version or is shorter than its own header says it must be.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidGGUFError(f"Model file {path} does not exist")
    if path.is_dir():
        raise InvalidGGUFError(f"{path} is a directory, not a GGUF model file")
    try:
        with path.open("rb") as file:
            return _HeaderParser(file, path).parse()
    except OSError as err:
        raise InvalidGGUFError(f"Cannot read model file {path}: {err.strerror or err}") from err


class _HeaderParser:
    """Walks the header front to back, checking every length against the file size."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        self._file = file
        self._path = path
        self._size = os.fstat(file.fileno()).st_size
        self._pos = 0

    def parse(self) -> GGUFInfo:
        if self._size == 0:
            raise InvalidGGUFError(f"{self._path.name} is empty (0 bytes), not a GGUF model")
        head = self._file.read(64)
        self._file.seek(0)
        if not head.startswith(GGUF_MAGIC):
            raise InvalidGGUFError(f"{self._path.name} is not a GGUF model file: {_describe_content(head)}")
        self._skip(len(GGUF_MAGIC), "the GGUF magic")

        version = self._u32("the GGUF version")
        if version not in SUPPORTED_VERSIONS:
            raise InvalidGGUFError(_version_message(self._path.name, version))
        tensor_count = self._u64("the tensor count")
        kv_count = self._u64("the metadata entry count")
        # Each tensor entry and each metadata entry takes at least this many bytes.
        self._check_count(tensor_count, 8 + 4 + 4 + 8, "the tensor directory")
        self._check_count(kv_count, 8 + 4 + 1, "the metadata")

        metadata: dict[str, Any] = {}
        for index in range(kv_count):
            key = self._string(f"the key of metadata entry {index + 1} of {kv_count}", _MAX_NAME_LENGTH)
            what = f"the value of metadata entry '{key}'"
            metadata[key] = self._value(self._u32(what), what)

        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise InvalidGGUFError(
                f"{self._path.name} is corrupt: general.alignment is {alignment!r}, which is not a power of two"
            )

        data_size = self._tensor_data_size(tensor_count)
        header_end = self._pos
        if tensor_count and self._size <= header_end:
            self._raise_incomplete(header_end + 1)
        data_offset = -(-header_end // alignment) * alignment
        if tensor_count and data_size is not None and self._size < data_offset + data_size:
            self._raise_incomplete(data_offset + data_size)
        return GGUFInfo(
            version=version,
            tensor_count=tensor_count,
            metadata=metadata,
            file_size=self._size,
        )

    def _tensor_data_size(self, tensor_count: int) -> int | None:
        """Bytes of tensor data the directory requires, or None if a type is unknown."""
        end = 0
        sizes_known = True
        for index in range(tensor_count):
            name = self._string(f"the name of tensor {index + 1} of {tensor_count}", _MAX_NAME_LENGTH)
            what = f"the description of tensor '{name}'"
            n_dims = self._u32(what)
            if n_dims > _MAX_TENSOR_DIMS:
                raise InvalidGGUFError(f"{self._path.name} is corrupt: tensor '{name}' claims {n_dims} dimensions")
            elements = math.prod(self._u64(what) for _ in range(n_dims))
            ggml_type = self._u32(what)
            offset = self._u64(what)
            block = _GGML_TYPE_SIZES.get(ggml_type)
            if block is None:
                sizes_known = False
                continue
            block_items, block_bytes = block
            end = max(end, offset + elements // block_items * block_bytes)
        return end if sizes_known else None

    def _raise_incomplete(self, required: int) -> NoReturn:
        percent = 100 * self._size // max(required, 1)
        raise InvalidGGUFError(
            f"{self._path.name} is truncated: its header says the file needs at least "
            f"{required:,} bytes but it has only {self._size:,} ({percent}%). "
            "The download was probably interrupted; delete it and download it again"
        )

    def _value(self, value_type: int, what: str) -> Any:
        if value_type in _SCALAR_TYPES:
            fmt = "<" + _SCALAR_TYPES[value_type][1]
            return struct.unpack(fmt, self._read(struct.calcsize(fmt), what))[0]
        if value_type == _TYPE_STRING:
            return self._string(what)
        if value_type == _TYPE_ARRAY:
            return self._array(what)
        raise InvalidGGUFError(f"{self._path.name} is corrupt: {what} has unknown type {value_type}")

    def _array(self, what: str) -> list[Any] | SkippedArray:
        item_type = self._u32(what)
        count = self._u64(what)
        if item_type in _SCALAR_TYPES:
            type_name, fmt = _SCALAR_TYPES[item_type]
            item_size = struct.calcsize(fmt)
            self._check_count(count, item_size, what)
            if count > MAX_ARRAY_ITEMS:
                self._skip(count * item_size, what)
                return SkippedArray(type_name, count)
            return list(struct.unpack(f"<{count}{fmt}", self._read(count * item_size, what)))
        if item_type == _TYPE_STRING:
            self._check_count(count, 8, what)
            if count > MAX_ARRAY_ITEMS:
                for _ in range(count):
                    self._skip(self._u64(what), what)
                return SkippedArray("string", count)
            return [self._string(what) for _ in range(count)]
        if item_type == _TYPE_ARRAY:
            # Nested arrays are rare and small in practice; each one still
            # skips itself if it is long.
            self._check_count(count, 12, what)
            if count > MAX_ARRAY_ITEMS:
                for _ in range(count):
                    self._array(what)
                return SkippedArray("array", count)
            return [self._array(what) for _ in range(count)]
        raise InvalidGGUFError(f"{self._path.name} is corrupt: {what} is an array of unknown type {item_type}")

    def _string(self, what: str, max_length: int = _MAX_STRING_LENGTH) -> str:
        length = self._u64(what)
        if length > max_length:
            raise InvalidGGUFError(f"{self._path.name} is corrupt: {what} claims to be {length:,} bytes long")
        return self._read(length, what).decode("utf-8", errors="replace")

    def _u32(self, what: str) -> int:
        return struct.unpack("<I", self._read(4, what))[0]

    def _u64(self, what: str) -> int:
        return struct.unpack("<Q", self._read(8, what))[0]

    def _check_count(self, count: int, min_item_size: int, what: str) -> None:
        # Refuse to loop over a count that cannot fit in the rest of the file.
        remaining = self._size - self._pos
        if count * min_item_size > remaining:
            raise InvalidGGUFError(
                f"{self._path.name} is truncated or corrupt: {what} claims {count:,} "
                f"entries, more than the remaining {remaining:,} bytes can hold"
            )

    def _read(self, length: int, what: str) -> bytes:
        if length > self._size - self._pos:
            self._raise_truncated(what, length)
        data = self._file.read(length)
        if len(data) != length:  # the file shrank while being read
            self._raise_truncated(what, length)
        self._pos += length
        return data

    def _skip(self, length: int, what: str) -> None:
        if length > self._size - self._pos:
            self._raise_truncated(what, length)
        # Seeking within the buffered reader's buffer costs no system call.
        self._file.seek(length, os.SEEK_CUR)
        self._pos += length

    def _raise_truncated(self, what: str, needed: int) -> NoReturn:
        raise InvalidGGUFError(
            f"{self._path.name} is truncated or corrupt: it ends at byte {self._size:,} "
            f"while {what} needs {needed:,} more bytes from byte {self._pos:,}"
        )


def _version_message(name: str, version: int) -> str:
    if version == 1:
        return f"{name} uses GGUF version 1, which llama.cpp no longer supports; download a recently converted file"
    if int.from_bytes(version.to_bytes(4, "little"), "big") in SUPPORTED_VERSIONS:
        return f"{name} is a big-endian GGUF file, which is only usable on big-endian machines"
    return f"{name} uses GGUF version {version}, which is not supported (supported: {', '.join(map(str, SUPPORTED_VERSIONS))})"


def _describe_content(head: bytes) -> str:
    """Guess what a non-GGUF file is from its first bytes, for the error message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "it looks like an HTML page (an error or login page saved instead of the model?)"
    if text.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer file, not the model itself (the repository was cloned without git-lfs)"
    if text.startswith(b"<?xml"):
        return "it looks like an XML document (an error response from a download server?)"
    # The old formats stored their magic as a little-endian uint32, hence reversed.
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"algg"):
        return "it is a model in the old GGML/GGJT format; llama.cpp now needs GGUF"
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000:
        return "it looks like a safetensors file; download a GGUF version of the model"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (a PyTorch checkpoint?), not a GGUF model"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed; decompress it first"
    if text.startswith((b"{", b"[")):
        return "it looks like a JSON document"
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return "it looks like a Python pickle (a PyTorch checkpoint?), not a GGUF model"
    if all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        first_line = head.decode("ascii").strip().splitlines()[0] if head.strip() else ""
        return f"it looks like a text file starting with {first_line[:40]!r}"
    return f"it starts with bytes {head[:8].hex(' ')} instead of 'GGUF'"
