"""SavedModel export and loading for models with learnable activations.

Two kinds of export:
  * with ops (default): the graph runs the fused custom ops; loading it needs the op
    library, i.e. `import tf_learnact` (or `load_saved_model`) in the serving process.
  * portable: every layer is traced as its stock-TensorFlow twin (PWLU as its inference
    table), so the SavedModel loads anywhere TensorFlow does: TF Serving,
    `saved_model_cli`, `tf.lite.TFLiteConverter`, a process that never imports tf_learnact.

Both write the TF Serving layout `path/<version>/` and keep every variable bit for bit.
"""

from __future__ import annotations

import pathlib

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tf_learnact.ops.dispatch import composite_only
from tf_learnact.ops.library import ops_available, unavailable_reason

CUSTOM_OP_PREFIX = "TfLearnact>"


def export_saved_model(model, path, *, portable: bool = False, version: int | None = None) -> pathlib.Path:
    """Exports `model`'s inference function (`serve`, also `serving_default`) to
    `path/<version>/` and returns that directory.

    Args:
        model: a built Keras model.
        path: the model's base directory (TF Serving's model base path).
        portable: trace the learnable activations as stock TensorFlow only (see module doc).
        version: the version directory, a positive integer (default 1). An existing,
            non-empty version directory is never overwritten.
    """
    version = 1 if version is None else version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    if not getattr(model, "built", False):
        raise ValueError("model must be built (call it on data or give it an Input) before export")
    target = pathlib.Path(path) / str(version)
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"path: version directory {target} already exists and is not empty")
    if portable:
        with composite_only():
            model.export(str(target), format="tf_saved_model", verbose=False)
        custom = custom_op_types(target)
        if custom:  # a layer bypassed the dispatch: never hand out a non-portable "portable" export
            raise RuntimeError(f"portable export of {target} still holds custom ops {sorted(custom)}")
    else:
        model.export(str(target), format="tf_saved_model", verbose=False)
    return target


def export_onnx(model, path) -> pathlib.Path:
    """Exports `model`'s inference function to an ONNX file at `path` (Keras's ONNX export,
    which needs tf2onnx), traced as the stock-TensorFlow twins: ONNX has no tf_learnact ops.
    """
    path = pathlib.Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end in .onnx, got {str(path)!r}")
    if not getattr(model, "built", False):
        raise ValueError("model must be built (call it on data or give it an Input) before export")
    _call_once(model)
    with composite_only():
        model.export(str(path), format="onnx", verbose=False)
    return path


def _call_once(model) -> None:
    """Keras exports ONNX only from a model that has been called: a reloaded .keras model
    has not, so it is called once on zeros of its input shape."""
    if getattr(model, "_called", True) or not getattr(model, "inputs", None):
        return
    zeros = [tf.zeros([1, *(d or 1 for d in t.shape[1:])], t.dtype) for t in model.inputs]
    model(zeros[0] if len(zeros) == 1 else zeros, training=False)


def custom_op_types(saved_model_dir) -> set[str]:
    """The tf_learnact op types a SavedModel's graph (and its functions) uses."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((pathlib.Path(saved_model_dir) / "saved_model.pb").read_bytes())
    types = set()
    for meta in proto.meta_graphs:
        nodes = list(meta.graph_def.node)
        for fn in meta.graph_def.library.function:
            nodes.extend(fn.node_def)
        types.update(n.op for n in nodes if n.op.startswith(CUSTOM_OP_PREFIX))
    return types


def load_saved_model(path):
    """tf.saved_model.load, with a clear error when the export uses tf_learnact's ops and
    the op library is not available in this process."""
    path = pathlib.Path(path)
    if not (path / "saved_model.pb").is_file():
        raise ValueError(f"path: {path} is not a SavedModel directory (no saved_model.pb)")
    needed = custom_op_types(path)
    if needed and not ops_available():
        raise RuntimeError(
            f"{path} was exported with tf_learnact's custom ops ({', '.join(sorted(needed))}), but the "
            f"op library is not loaded in this process: {unavailable_reason()}. Install tf_learnact with "
            "its ops built and `import tf_learnact` before loading, or re-export with "
            "tf_learnact.export_saved_model(model, path, portable=True)."
        )
    return tf.saved_model.load(str(path))
