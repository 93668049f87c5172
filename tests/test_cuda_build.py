"""The CUDA kernels and their harness compile with nvcc here (where there is one), and
the harness's Python driver declares every C function with the C signature's argument
count, so neither can rot unnoticed between sessions with a GPU."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import types

import pytest

import tf_learnact

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARNESS = ROOT / "cc" / "cuda_harness"


def _load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("cuda_harness_build", HARNESS / "build.py")


def c_api_arities() -> dict[str, int]:
    """{function: argument count} of the harness's extern "C" functions."""
    source = (HARNESS / "harness.cu").read_text()
    found = re.findall(r"^(?:int|size_t|const char\*) (tla_\w+)\(([^)]*)\)", source, flags=re.M)
    return {name: len([a for a in params.split(",") if a.strip()]) for name, params in found}


def test_driver_declares_every_c_function_with_its_argument_count(monkeypatch):
    # The driver imports torch only for dtype keys; a stand-in lets it load here.
    fake = types.ModuleType("torch")
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        setattr(fake, dtype, dtype)
    monkeypatch.setitem(sys.modules, "torch", fake)
    driver = _load("cuda_harness_driver_check", HARNESS / "driver.py")
    declared = {name: len(argtypes) for name, (argtypes, _) in driver._SIGNATURES.items()}
    assert declared == c_api_arities()


needs_nvcc = pytest.mark.skipif(build.find_nvcc() is None, reason="no nvcc on this machine")
ARCHS = ("sm_80",)  # one architecture: a compile check


@pytest.fixture(scope="module")
def cuda_build_dir(tmp_path_factory):
    """One build folder for the module, so the harness and the GPU op library share the
    nvcc objects (PAU's take about a minute here)."""
    return tmp_path_factory.mktemp("cuda_build")


@needs_nvcc
def test_harness_compiles_and_exports_its_c_api(cuda_build_dir):
    library = build.build(cuda_build_dir / "libtla_cuda_harness.so", ARCHS, cuda_build_dir / "cuda")
    symbols = subprocess.run(
        ["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True
    ).stdout
    for name in c_api_arities():
        assert f" T {name}" in symbols, name


# Loads the GPU library after the CPU one and reports the GPU kernels registered for each
# op, then runs each op on the CPU to show the CPU kernels still serve them.
_REGISTRATION_PROBE = """
import json, sys
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import kernels
import tf_learnact
from tf_learnact.ops.library import op_library
op_library()
tf.load_op_library(sys.argv[1])
report = {}
for op in ("Pau", "PauGrad", "Pwlu", "PwluGrad", "Abu", "AbuGrad"):
    found = kernels.get_registered_kernels_for_op("TfLearnact>" + op).kernel
    report[op] = sorted(
        [tf.dtypes.as_dtype(k.constraint[0].allowed_values.list.type[0]).name, list(k.host_memory_arg)]
        for k in found if k.device_type == "GPU"
    )
x = tf.constant(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4))
layers = [tf_learnact.PAU(), tf_learnact.PWLU(), tf_learnact.ABU()]
report["cpu_outputs_finite"] = all(bool(tf.reduce_all(tf.math.is_finite(layer(x)))) for layer in layers)
print(json.dumps(report))
"""


@needs_nvcc
def test_gpu_op_library_links_loads_and_registers_every_gpu_kernel(cuda_build_dir):
    builder = _load("build_ops", ROOT / "cc" / "build_ops.py")
    library = builder.build_gpu(cuda_build_dir / builder.GPU_LIBRARY_NAME, cuda_build_dir, ARCHS)
    # No dynamic CUDA runtime: the library loads in the CPU and the CUDA build of TensorFlow.
    needed = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True).stdout
    assert "libcudart" not in needed
    # The probe imports the package this test imports (installed, or the built checkout),
    # from a neutral folder so a source tree without the built library cannot shadow it.
    package_parent = str(pathlib.Path(tf_learnact.__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, "-c", _REGISTRATION_PROBE, str(library)],
        capture_output=True,
        text=True,
        cwd=cuda_build_dir,
        env={**os.environ, "PYTHONPATH": package_parent, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    dtypes = ["bfloat16", "float16", "float32", "float64"]
    for op in ("Pau", "PauGrad"):  # the RPAU seed is read on the host
        assert report[op] == [[d, ["seed"]] for d in dtypes], op
    for op in ("Pwlu", "PwluGrad", "Abu", "AbuGrad"):
        assert report[op] == [[d, []] for d in dtypes], op
    assert report["cpu_outputs_finite"]
