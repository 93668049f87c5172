"""The one Keras backend the layers run on: TensorFlow (they call TensorFlow custom ops)."""

from __future__ import annotations

import keras


def require_tensorflow_backend(backend: str | None = None) -> None:
    """Raises ImportError naming the backend unless Keras runs on TensorFlow: on JAX or
    PyTorch the layers would hand foreign arrays to TensorFlow ops and fail far from
    the cause."""
    backend = keras.backend.backend() if backend is None else backend
    if backend != "tensorflow":
        raise ImportError(
            f"tf_learnact needs Keras's TensorFlow backend (its layers run TensorFlow ops), "
            f"but Keras runs on {backend!r}: set KERAS_BACKEND=tensorflow before Keras is imported"
        )


require_tensorflow_backend()
