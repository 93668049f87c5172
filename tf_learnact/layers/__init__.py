"""Keras layers, one module a family."""
