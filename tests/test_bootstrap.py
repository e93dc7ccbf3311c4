"""scripts/lib.sh's llama.cpp build helpers: which instruction sets llama.cpp is built for, and
our wheel cache, keyed by the build arguments (pip's own cache is not, and handed CI a build made
with other arguments)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lib(script: str, tmp_path: Path, **env: str) -> str:
    result = subprocess.run(
        ["bash", "-c", f"source scripts/lib.sh; {script}"],
        cwd=ROOT,
        env={**os.environ, "REPO_ROOT": str(ROOT), "CACHE_DIR": str(tmp_path / "cache"), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the instruction sets are named on x86-64 only")
def test_llama_cpp_is_built_for_the_instruction_sets_the_cpu_lists_without_amx(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2 fma f16c bmi2 avx512f amx_tile amx_int8\n")
    args = _lib(f"llama_cpp_cmake_args {cpuinfo}", tmp_path).split()
    assert "-DGGML_NATIVE=OFF" in args
    assert {"-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=OFF"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF"} <= set(args)
    cpuinfo.write_text("flags\t\t: fpu sse avx\n")  # an older CPU: AVX only
    args = _lib(f"llama_cpp_cmake_args {cpuinfo}", tmp_path).split()
    assert {"-DGGML_AVX=ON", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF", "-DGGML_AVX512=OFF"} <= set(args)


def test_the_wheel_cache_is_keyed_by_the_build_arguments(tmp_path: Path) -> None:
    first = _lib("llama_cpp_wheel_dir bash", tmp_path, CMAKE_ARGS="-DGGML_AVX2=ON")
    assert first == _lib("llama_cpp_wheel_dir bash", tmp_path, CMAKE_ARGS="-DGGML_AVX2=ON")
    assert first != _lib("llama_cpp_wheel_dir bash", tmp_path, CMAKE_ARGS="-DGGML_NATIVE=ON")
    assert Path(first).parent == tmp_path / "cache" / "wheels"
    assert Path(first).name.startswith("llama-cpp-python-0.3.36-")  # the version requirements_test.txt pins


def test_a_wheel_is_built_once_without_pips_cache_then_reused(tmp_path: Path) -> None:
    # A stand-in for the venv's python: records its arguments and writes a wheel where -w says.
    calls = tmp_path / "calls"
    fake = tmp_path / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {calls}\n'
        'while [ "$1" != -w ]; do shift; done\n'
        'mkdir -p "$2" && touch "$2/llama_cpp_python-0.3.36-cp313-cp313-linux_x86_64.whl"\n'
    )
    fake.chmod(0o755)
    script = f"build_llama_cpp_wheel bash {fake} && ls $(llama_cpp_wheel_dir bash)"
    assert _lib(script, tmp_path, CMAKE_ARGS="-DGGML_AVX2=ON") == "llama_cpp_python-0.3.36-cp313-cp313-linux_x86_64.whl"
    assert calls.read_text().split() == [
        "-m", "pip", "wheel", "-q", "--no-deps", "--no-cache-dir", "-w",
        _lib("llama_cpp_wheel_dir bash", tmp_path, CMAKE_ARGS="-DGGML_AVX2=ON") + ".tmp",
        "llama-cpp-python==0.3.36",
    ]  # fmt: skip
    _lib(script, tmp_path, CMAKE_ARGS="-DGGML_AVX2=ON")
    assert len(calls.read_text().splitlines()) == 1  # found, not built again
    _lib(script, tmp_path, CMAKE_ARGS="-DGGML_AVX2=OFF")
    assert len(calls.read_text().splitlines()) == 2  # other arguments: built for them
