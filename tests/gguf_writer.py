"""Write small GGUF files for tests, following the GGUF specification (v3)."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL = range(8)
STRING, ARRAY, UINT64, INT64, FLOAT64 = range(8, 13)
_FORMATS = {
    UINT8: "B",
    INT8: "b",
    UINT16: "H",
    INT16: "h",
    UINT32: "I",
    INT32: "i",
    FLOAT32: "f",
    BOOL: "?",
    UINT64: "Q",
    INT64: "q",
    FLOAT64: "d",
}

GGML_F32 = 0
GGML_Q4_1 = 3


@dataclass(frozen=True)
class Typed:
    """A metadata value with an explicit GGUF type (for arrays: the item type)."""

    type: int
    value: Any


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int = GGML_F32
    # Bytes of data; defaults to zeros of the right size for F32.
    data: bytes | None = None

    def payload(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.ggml_type == GGML_F32, "give data for non-F32 tensors"
        return bytes(4 * math.prod(self.shape))


def gguf_bytes(
    metadata: Mapping[str, Any],
    tensors: Sequence[Tensor] = (),
    *,
    version: int = 3,
    alignment: int = 32,
) -> bytes:
    """Serialise a GGUF file; plain Python values get the usual llama.cpp types."""
    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, value in metadata.items():
        out += _string(key)
        value_type, value = _typed(value)
        out += struct.pack("<I", value_type)
        out += _value(value_type, value)

    offset = 0
    for tensor in tensors:
        out += _string(tensor.name)
        out += struct.pack("<I", len(tensor.shape))
        out += struct.pack(f"<{len(tensor.shape)}Q", *tensor.shape)
        out += struct.pack("<IQ", tensor.ggml_type, offset)
        offset += _padded(len(tensor.payload()), alignment)

    out += bytes(_padded(len(out), alignment) - len(out))
    for tensor in tensors:
        data = tensor.payload()
        out += data + bytes(_padded(len(data), alignment) - len(data))
    return bytes(out)


def _typed(value: Any) -> tuple[int, Any]:
    if isinstance(value, Typed):
        if isinstance(value.value, list):
            return ARRAY, value
        return value.type, value.value
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        return (UINT32 if 0 <= value < 2**32 else INT64), value
    if isinstance(value, float):
        return FLOAT32, value
    if isinstance(value, str):
        return STRING, value
    if isinstance(value, list):
        item_type = _typed(value[0])[0] if value else UINT8
        return ARRAY, Typed(item_type, value)
    raise TypeError(f"cannot store {value!r} in GGUF")


def _value(value_type: int, value: Any) -> bytes:
    if value_type == STRING:
        return _string(value)
    if value_type == ARRAY:
        items = [_typed(item)[1] if value.type == ARRAY else item for item in value.value]
        out = struct.pack("<IQ", value.type, len(items))
        return out + b"".join(_value(value.type, item) for item in items)
    return struct.pack("<" + _FORMATS[value_type], value)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _padded(length: int, alignment: int) -> int:
    return -(-length // alignment) * alignment
