"""The op library: built, loaded, and namespaced as documented."""

from __future__ import annotations

import os

import pytest

import tf_learnact
from tf_learnact.ops import library


def test_op_library_is_built_and_loaded():
    """An install that silently fell back to the twins must not pass the tests.

    Set TF_LEARNACT_DISABLE_OPS=1 to test the fallback path deliberately.
    """
    if os.environ.get(library.DISABLE_ENV, "") not in ("", "0"):
        pytest.skip("ops disabled on purpose")
    assert tf_learnact.ops_available(), tf_learnact.unavailable_reason()
    assert tf_learnact.unavailable_reason() is None


def test_ops_are_namespaced():
    if not tf_learnact.ops_available():
        pytest.skip("no library")
    from tensorflow.python.framework import op_def_registry

    for name in ("TfLearnact>Pau", "TfLearnact>PauGrad"):
        assert op_def_registry.get(name) is not None, name
