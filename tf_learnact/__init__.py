"""tf-learnact: learnable activation functions for Keras 3 / TensorFlow, backed by
fused C++ custom ops with hand-written gradients and pure-TensorFlow twins."""

# First: off the TensorFlow backend this raises, before anything else can fail obscurely.
from tf_learnact import keras_backend  # noqa: F401
from tf_learnact.alignment import alignment_iou
from tf_learnact.callbacks import PWLURealignment
from tf_learnact.coefficients import fit_pau, initial_coefficients
from tf_learnact.export import export_onnx, export_saved_model, load_saved_model
from tf_learnact.inspection import describe_layers, plot_activations
from tf_learnact.layers.abu import ABU, AdaptiveScaling
from tf_learnact.layers.base import coefficient_variables
from tf_learnact.layers.pau import PAU, RPAU
from tf_learnact.layers.pwlu import PWLU
from tf_learnact.monitor import ActivationMonitor
from tf_learnact.ops.abu import abu, abu_composite
from tf_learnact.ops.library import ops_available, unavailable_reason
from tf_learnact.ops.pau import pau, pau_composite
from tf_learnact.ops.pwlu import pwlu, pwlu_table_composite

__all__ = [
    "ABU",
    "ActivationMonitor",
    "AdaptiveScaling",
    "PAU",
    "PWLU",
    "PWLURealignment",
    "RPAU",
    "abu",
    "abu_composite",
    "alignment_iou",
    "coefficient_variables",
    "describe_layers",
    "export_onnx",
    "export_saved_model",
    "fit_pau",
    "initial_coefficients",
    "load_saved_model",
    "ops_available",
    "pau",
    "pau_composite",
    "plot_activations",
    "pwlu",
    "pwlu_table_composite",
    "unavailable_reason",
]
__version__ = "0.1.0"

# Register the custom ops now: a SavedModel that uses them loads only after this
# (warns once, and falls back to the twins, when the library is unavailable).
ops_available()
