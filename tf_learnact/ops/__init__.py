"""Custom ops, their gradients and their composite (pure-TensorFlow) twins."""
