"""Python face of the CUDA harness: ctypes over libtla_cuda_harness.so with PyTorch CUDA
tensors. Needs no TensorFlow (the GPU test machine has none).

    h = Harness()
    y = h.pau_forward(x, numerator, denominator, version="B", axis=None)
    dx, d_num, d_den = h.pau_backward(dy, x, numerator, denominator)
"""

from __future__ import annotations

import ctypes
import math
import pathlib

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_LIBRARY = ROOT / "build" / "cuda_harness" / "libtla_cuda_harness.so"
DTYPE_CODES = {torch.float16: 0, torch.bfloat16: 1, torch.float32: 2, torch.float64: 3}
VERSION_CODES = {"A": 0, "B": 1, "C": 2, "N": 3}

_i64, _int, _float, _ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_float, ctypes.c_void_p
_LAYOUT = [_int, _i64, _i64, _i64, _int, _int, _int]  # dtype, outer, C, inner, version, m, n


def layout_of(shape, axis) -> tuple[int, int, int]:
    """[outer, channels, inner] of a tensor's shape; axis None = per-layer."""
    total = math.prod(shape)
    if axis is None:
        return 1, 1, total
    axis %= len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


class Harness:
    def __init__(self, library=DEFAULT_LIBRARY):
        self.lib = ctypes.CDLL(str(library))
        self.lib.tla_sm_count.argtypes, self.lib.tla_sm_count.restype = [_int], _int
        self.lib.tla_error_string.argtypes, self.lib.tla_error_string.restype = [_int], ctypes.c_char_p
        self.lib.tla_pau_backward_workspace_bytes.argtypes = [*_LAYOUT, _int]
        self.lib.tla_pau_backward_workspace_bytes.restype = ctypes.c_size_t
        self.lib.tla_pau_forward.argtypes = [*_LAYOUT, _float, _i64, _ptr, _ptr, _ptr, _ptr, _int, _ptr]
        self.lib.tla_pau_backward.argtypes = [*_LAYOUT, _float, _i64, *[_ptr] * 8, _int, _ptr]
        self.sm_count = self.lib.tla_sm_count(torch.cuda.current_device())

    def _check(self, code: int) -> None:
        if code != 0:
            raise RuntimeError(f"CUDA error {code}: {self.lib.tla_error_string(code).decode()}")

    def _prefix(self, x, numerator, denominator, version, axis):
        if x.dtype not in DTYPE_CODES:
            raise ValueError(f"x: unsupported dtype {x.dtype}")
        param_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        for name, p in (("numerator", numerator), ("denominator", denominator)):
            if p.dtype != param_dtype or not p.is_contiguous():
                raise ValueError(f"{name} must be contiguous {param_dtype}")
        m = numerator.shape[-1] - 1
        n = denominator.shape[-1] - (1 if version == "C" else 0)
        return [DTYPE_CODES[x.dtype], *layout_of(tuple(x.shape), axis), VERSION_CODES[version], m, n]

    def pau_forward(self, x, numerator, denominator, *, version="B", axis=None, noise=0.0, seed=0):
        x = x.contiguous()
        y = torch.empty_like(x)
        args = self._prefix(x, numerator, denominator, version, axis)
        stream = torch.cuda.current_stream().cuda_stream
        self._check(
            self.lib.tla_pau_forward(
                *args,
                noise,
                seed,
                x.data_ptr(),
                numerator.data_ptr(),
                denominator.data_ptr(),
                y.data_ptr(),
                self.sm_count,
                stream,
            )
        )
        return y

    def pau_backward(self, dy, x, numerator, denominator, *, version="B", axis=None, noise=0.0, seed=0):
        x, dy = x.contiguous(), dy.contiguous()
        args = self._prefix(x, numerator, denominator, version, axis)
        dx = torch.empty_like(x)
        d_num, d_den = torch.empty_like(numerator), torch.empty_like(denominator)
        nbytes = self.lib.tla_pau_backward_workspace_bytes(*args, self.sm_count)
        workspace = torch.empty(max(nbytes, 1), dtype=torch.uint8, device=x.device)
        stream = torch.cuda.current_stream().cuda_stream
        self._check(
            self.lib.tla_pau_backward(
                *args,
                noise,
                seed,
                dy.data_ptr(),
                x.data_ptr(),
                numerator.data_ptr(),
                denominator.data_ptr(),
                dx.data_ptr(),
                d_num.data_ptr(),
                d_den.data_ptr(),
                workspace.data_ptr(),
                self.sm_count,
                stream,
            )
        )
        return dx, d_num, d_den
