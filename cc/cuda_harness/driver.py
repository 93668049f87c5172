"""Python face of the CUDA harness: ctypes over libtla_cuda_harness.so with PyTorch CUDA
tensors. Needs no TensorFlow (the GPU test machine has none).

    h = Harness()
    y = h.pau_forward(x, numerator, denominator, version="B", axis=None)
    dx, d_num, d_den = h.pau_backward(dy, x, numerator, denominator)
    y = h.pwlu_forward(x, left, right, slopes, offsets, axis=-1)
    y = h.abu_forward(x, weights, beta, basis=("tanh", "relu"), axis=None)

Parameters follow the ops: float32 (float64 for float64 x), one row per channel when
`axis` is given (per-layer PWLU bounds are 1-element tensors here).
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
# cc/kernels/abu_kernels.h, enum Basis.
BASIS_CODES = {
    name: i
    for i, name in enumerate(
        ("tanh", "elu", "relu", "identity", "swish", "sigmoid", "selu", "leaky_relu", "softplus", "gelu")
    )
}

_i64, _int, _float, _ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_float, ctypes.c_void_p
_DIMS = [_int, _i64, _i64, _i64]  # dtype, outer, C, inner
_PAU = [*_DIMS, _int, _int, _int]  # + version, m, n
_SIGNATURES = {  # name: (argument types, result type)
    "tla_sm_count": ([_int], _int),
    "tla_error_string": ([_int], ctypes.c_char_p),
    "tla_pau_backward_workspace_bytes": ([*_PAU, _int], ctypes.c_size_t),
    "tla_pau_forward": ([*_PAU, _float, _i64, *[_ptr] * 4, _int, _ptr], _int),
    "tla_pau_backward": ([*_PAU, _float, _i64, *[_ptr] * 8, _int, _ptr], _int),
    "tla_pwlu_max_intervals": ([_int], _int),
    "tla_pwlu_backward_workspace_bytes": ([*_DIMS, _int, _int], ctypes.c_size_t),
    "tla_pwlu_forward": ([*_DIMS, _int, *[_ptr] * 6, _int, _ptr], _int),
    "tla_pwlu_backward": ([*_DIMS, _int, *[_ptr] * 10, _int, _ptr], _int),
    "tla_abu_backward_workspace_bytes": ([*_DIMS, _int, _int], ctypes.c_size_t),
    "tla_abu_forward": ([*_DIMS, _ptr, _int, *[_ptr] * 4, _int, _ptr], _int),
    "tla_abu_backward": ([*_DIMS, _ptr, _int, *[_ptr] * 8, _int, _ptr], _int),
}


def layout_of(shape, axis) -> tuple[int, int, int]:
    """[outer, channels, inner] of a tensor's shape; axis None = per-layer."""
    total = math.prod(shape)
    if axis is None:
        return 1, 1, total
    axis %= len(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


def _ptrs(*tensors) -> list[int]:
    return [t.data_ptr() for t in tensors]


class Harness:
    def __init__(self, library=DEFAULT_LIBRARY):
        self.lib = ctypes.CDLL(str(library))
        for name, (argtypes, restype) in _SIGNATURES.items():
            fn = getattr(self.lib, name)
            fn.argtypes, fn.restype = argtypes, restype
        self.sm_count = self.lib.tla_sm_count(torch.cuda.current_device())

    # ---- shared plumbing ----
    def _check(self, code: int) -> None:
        if code != 0:
            raise RuntimeError(f"CUDA error {code}: {self.lib.tla_error_string(code).decode()}")

    @staticmethod
    def _stream() -> int:
        return torch.cuda.current_stream().cuda_stream

    @staticmethod
    def _dims(x, params: dict, axis) -> list[int]:
        """[dtype code, outer, C, inner] after checking the parameters' dtype and layout."""
        if x.dtype not in DTYPE_CODES:
            raise ValueError(f"x: unsupported dtype {x.dtype}")
        param_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        for name, p in params.items():
            if p.dtype != param_dtype or not p.is_contiguous():
                raise ValueError(f"{name} must be contiguous {param_dtype}")
        return [DTYPE_CODES[x.dtype], *layout_of(tuple(x.shape), axis)]

    def _workspace(self, nbytes: int, device) -> torch.Tensor:
        return torch.empty(max(nbytes, 1), dtype=torch.uint8, device=device)

    # ---- PAU ----
    def _pau_prefix(self, x, numerator, denominator, version, axis):
        dims = self._dims(x, {"numerator": numerator, "denominator": denominator}, axis)
        m = numerator.shape[-1] - 1
        n = denominator.shape[-1] - (1 if version == "C" else 0)
        return [*dims, VERSION_CODES[version], m, n]

    def pau_forward(self, x, numerator, denominator, *, version="B", axis=None, noise=0.0, seed=0):
        x = x.contiguous()
        y = torch.empty_like(x)
        args = self._pau_prefix(x, numerator, denominator, version, axis)
        self._check(
            self.lib.tla_pau_forward(
                *args, noise, seed, *_ptrs(x, numerator, denominator, y), self.sm_count, self._stream()
            )
        )
        return y

    def pau_backward(self, dy, x, numerator, denominator, *, version="B", axis=None, noise=0.0, seed=0):
        x, dy = x.contiguous(), dy.contiguous()
        args = self._pau_prefix(x, numerator, denominator, version, axis)
        dx = torch.empty_like(x)
        d_num, d_den = torch.empty_like(numerator), torch.empty_like(denominator)
        workspace = self._workspace(self.lib.tla_pau_backward_workspace_bytes(*args, self.sm_count), x.device)
        ptrs = _ptrs(dy, x, numerator, denominator, dx, d_num, d_den, workspace)
        self._check(self.lib.tla_pau_backward(*args, noise, seed, *ptrs, self.sm_count, self._stream()))
        return dx, d_num, d_den

    # ---- PWLU ----
    def pwlu_max_intervals(self, dtype) -> int:
        return self.lib.tla_pwlu_max_intervals(DTYPE_CODES[dtype])

    def _pwlu_prefix(self, x, left, right, slopes, offsets, axis):
        params = {"left": left, "right": right, "slopes": slopes, "offsets": offsets}
        return [*self._dims(x, params, axis), slopes.shape[-1] - 2]

    def pwlu_forward(self, x, left, right, slopes, offsets, *, axis=None):
        x = x.contiguous()
        y = torch.empty_like(x)
        args = self._pwlu_prefix(x, left, right, slopes, offsets, axis)
        ptrs = _ptrs(x, left, right, slopes, offsets, y)
        self._check(self.lib.tla_pwlu_forward(*args, *ptrs, self.sm_count, self._stream()))
        return y

    def pwlu_backward(self, dy, x, left, right, slopes, offsets, *, axis=None):
        x, dy = x.contiguous(), dy.contiguous()
        args = self._pwlu_prefix(x, left, right, slopes, offsets, axis)
        dx, d_slopes, d_offsets = torch.empty_like(x), torch.empty_like(slopes), torch.empty_like(offsets)
        workspace = self._workspace(
            self.lib.tla_pwlu_backward_workspace_bytes(*args, self.sm_count), x.device
        )
        ptrs = _ptrs(dy, x, left, right, slopes, offsets, dx, d_slopes, d_offsets, workspace)
        self._check(self.lib.tla_pwlu_backward(*args, *ptrs, self.sm_count, self._stream()))
        return dx, d_slopes, d_offsets

    # ---- ABU ----
    def _abu_prefix(self, x, weights, beta, basis, axis):
        unknown = [b for b in basis if b not in BASIS_CODES]
        if unknown:
            raise ValueError(f"basis: unknown functions {unknown}")
        dims = self._dims(x, {"weights": weights, "beta": beta}, axis)
        codes = (ctypes.c_int * len(basis))(*(BASIS_CODES[b] for b in basis))
        return dims, codes

    def abu_forward(self, x, weights, beta, *, basis, axis=None):
        x = x.contiguous()
        y = torch.empty_like(x)
        dims, codes = self._abu_prefix(x, weights, beta, basis, axis)
        ptrs = _ptrs(x, weights, beta, y)
        self._check(self.lib.tla_abu_forward(*dims, codes, len(basis), *ptrs, self.sm_count, self._stream()))
        return y

    def abu_backward(self, dy, x, weights, beta, *, basis, axis=None):
        x, dy = x.contiguous(), dy.contiguous()
        dims, codes = self._abu_prefix(x, weights, beta, basis, axis)
        dx, d_weights, d_beta = torch.empty_like(x), torch.empty_like(weights), torch.empty_like(beta)
        nbytes = self.lib.tla_abu_backward_workspace_bytes(*dims, len(basis), self.sm_count)
        workspace = self._workspace(nbytes, x.device)
        ptrs = _ptrs(dy, x, weights, beta, dx, d_weights, d_beta, workspace)
        self._check(self.lib.tla_abu_backward(*dims, codes, len(basis), *ptrs, self.sm_count, self._stream()))
        return dx, d_weights, d_beta
