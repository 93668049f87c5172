"""Builds the op library (cc/) against the TensorFlow installed in this environment.

Install with `pip install --no-build-isolation .` so the build sees that TensorFlow
(an isolated build environment would compile against another copy). Where TensorFlow
or a compiler is missing, the package installs without the library and runs on its
composite twins; the reason is printed here and warned about at import.
"""

import importlib.util
import pathlib
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = pathlib.Path(__file__).resolve().parent


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_ops", ROOT / "cc" / "build_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithOps(build_py):
    def run(self):
        super().run()
        builder = _load_builder()
        out = pathlib.Path(self.build_lib) / "tf_learnact" / builder.LIBRARY_NAME
        try:
            builder.build(out)  # objects cached in build/ops/
        except Exception as err:  # noqa: BLE001 - any failure falls back to the twins
            print(
                f"tf_learnact: WARNING: op library not built ({err}); the package will use "
                "its pure-TensorFlow composite implementations.",
                file=sys.stderr,
            )
            return
        self._build_gpu(builder, out.with_name(builder.GPU_LIBRARY_NAME))

    @staticmethod
    def _build_gpu(builder, out):
        """The separate GPU library, where nvcc and a CUDA build of TensorFlow are present;
        the log says what was built or why not."""
        try:
            wanted, reason = builder.gpu_build_decision()
            if not wanted:
                print(f"tf_learnact: GPU kernels not built: {reason}.", file=sys.stderr)
                return
            print(f"tf_learnact: building the GPU kernels ({reason}).", file=sys.stderr)
            builder.build_gpu(out)  # objects cached in build/ops_gpu/
        except Exception as err:  # noqa: BLE001 - the CPU library still serves every op
            print(
                f"tf_learnact: WARNING: GPU kernels not built ({err}); ops run on the CPU kernels.",
                file=sys.stderr,
            )


class BinaryDistribution(Distribution):
    """The wheel carries a compiled library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithOps}, distclass=BinaryDistribution)
