"""The command line (`python -m tf_learnact` / `tf-learnact`), in subprocesses."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sysconfig

import pytest
from conftest import run_fresh

from tf_learnact.export import custom_op_types


def cli(*args: str):
    return run_fresh(["-m", "tf_learnact", *map(str, args)])


def test_inspect_prints_the_layer_table(mixed_model):
    _, _, path = mixed_model
    proc = cli("inspect", path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["layer", "family"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"pau", "pwlu", "abu", "rpau"}
    assert "numerator[6, 6]" in rows["pau"] and " / 0" in rows["pwlu"]


def test_plot_writes_the_image(mixed_model, tmp_path):
    _, _, path = mixed_model
    out = tmp_path / "act.png"
    proc = cli("plot", path, "-o", out, "--max-channels", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_portable_with_version(mixed_model, tmp_path):
    _, _, path = mixed_model
    proc = cli("export", path, tmp_path / "served", "--portable", "--version", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    target = tmp_path / "served" / "2"
    assert proc.stdout.strip() == str(target)
    assert (target / "saved_model.pb").is_file() and custom_op_types(target) == set()


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d, m: ["inspect", d / "missing.keras"], "no such file"),
        (lambda d, m: ["inspect", d / "notes.keras"], "cannot load a Keras model"),
        (lambda d, m: ["plot", d / "notes.txt", "-o", d / "a.png"], "not a .keras model file"),
        (lambda d, m: ["plot", m, "-o", d / "a.jpg"], "path must end in"),
        (lambda d, m: ["export", m, d / "out", "--version", "0"], "version must be a positive integer"),
    ],
    ids=["missing", "not_a_model", "wrong_suffix", "bad_plot_path", "bad_version"],
)
def test_user_errors_print_one_line_and_exit_2(mixed_model, tmp_path, make_args, message):
    _, _, path = mixed_model
    (tmp_path / "notes.keras").write_text("not a model")
    (tmp_path / "notes.txt").write_text("not a model")
    proc = cli(*make_args(tmp_path, path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("tf-learnact: error: ") and message in lines[-1], proc.stderr[-2000:]
    assert not any("Traceback" in line for line in lines)


def test_usage_errors_exit_2():
    proc = cli("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_console_script_is_installed():
    try:
        entry_points = importlib.metadata.entry_points(group="console_scripts", name="tf-learnact")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        entry_points = ()
    if not entry_points:
        pytest.skip("running from a source tree: the console script exists once the package is installed")
    # pip puts the script beside the interpreter's other scripts, which need not be on
    # PATH (a virtualenv's python run without activating it).
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    script = shutil.which("tf-learnact", path=search)
    assert script is not None
    call_it = "import subprocess, sys; sys.exit(subprocess.call([sys.argv[1], '--help']))"
    proc = run_fresh(["-c", call_it, script])
    assert proc.returncode == 0 and "inspect" in proc.stdout
