"""The example and benchmark scripts run end to end (tiny settings, fresh processes), so
the README's experiment and benchmark commands stay true."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
from conftest import run_fresh

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_script(relative: str, *args: str) -> str:
    proc = run_fresh([str(ROOT / relative), *args], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize(
    "script, rows",
    [
        ("examples/pau_table2.py", ["ReLU", "LReLU (0.01)", "Swish", "PReLU", "PAU", "RPAU"]),
        ("examples/pwlu_realignment.py", ["layer-wise, fix-init-10", "channel-wise, stat-realign"]),
        ("examples/abu_table.py", ["identity", "alpha swish", "ABU", "ABU_soft"]),
    ],
)
def test_paper_experiment_prints_its_table(script, rows):
    out = run_script(script, "--dataset", "digits", "--seeds", "1", "--epochs", "1")
    table = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    for row in rows:
        assert row in table, out
        assert "+-" in table[row]


def test_init_error_table_stays_within_the_stated_bounds():
    out = run_script("examples/pau_init_errors.py")
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and "e-" in line]
    assert len(rows) == 7
    for cells in rows:
        bound = float(cells[-1])
        assert all(float(cell.split()[0]) <= bound for cell in cells[1:-1]), cells


def test_kernel_ab_times_two_trees_and_tells_their_outputs_apart(tmp_path):
    # The base tree: this one's kernels with PWLU's dx doubled, so the backward's
    # outputs must differ and the forward's must not (the base build is really its code).
    base = tmp_path / "base"
    shutil.copytree(ROOT / "cc", base / "cc")
    kernel = base / "cc" / "kernels" / "pwlu_kernels.cc"
    source = kernel.read_text()
    assert source.count("return dyv * slopes;") == 1
    kernel.write_text(source.replace("return dyv * slopes;", "return dyv * slopes * Acc(2);"))
    out = run_script(
        "benchmarks/bench_kernels.py",
        *("--family", "pwlu", "--elements", "8192", "--threads", "1", "--repeats", "3"),
        *("--against", str(base), "--build-dir", str(tmp_path / "build")),
    )
    rows = {line[:30].strip(): line[30:].split() for line in out.splitlines() if line.startswith("PWLU ")}
    layouts, passes = ("per-layer", "per-channel"), ("fwd", "bwd")
    assert list(rows) == [f"PWLU {layout} {p}" for layout in layouts for p in passes]
    for name, cells in rows.items():
        assert all(float(value) > 0 for value in cells[:5]), out
        assert " ".join(cells[5:]) == ("differ" if name.endswith("bwd") else "same bytes"), out
    bad = run_fresh([str(ROOT / "benchmarks/bench_kernels.py"), "--against", str(tmp_path)], timeout=60)
    assert bad.returncode == 2 and "not a tf-learnact source tree" in bad.stderr


def test_op_benchmark_prints_every_case():
    out = run_script(
        "benchmarks/bench_ops.py", "--elements", "16384", "--repeats", "1", "--dtypes", "float32"
    )
    cases = [line for line in out.splitlines() if line.startswith(("PAU ", "RPAU ", "PWLU ", "ABU "))]
    assert len(cases) == 4 * 2 * 2  # families x layouts x passes
    assert all(line.split()[-1] in ("met", "MISSED") for line in cases)


def test_model_benchmark_prints_every_activation():
    out = run_script("benchmarks/bench_models.py", "--batch", "8", "--rounds", "1")
    names = [line.split()[0] for line in out.splitlines()[3:]]
    assert names == ["ReLU", "PAU", "RPAU", "PWLU", "ABU"]


def test_kernel_benchmark_builds_and_times_every_case(tmp_path):
    out = run_script(
        "benchmarks/bench_kernels.py",
        "--elements",
        "8192",
        "--repeats",
        "1",
        "--build-dir",
        str(tmp_path),
    )
    # The built harness again with bfloat16 storage (no second build).
    out_bf16 = subprocess.run(
        [str(tmp_path / "kernel_harness"), "8192", "2", "1", "bfloat16"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for text in (out, out_bf16):
        cases = [
            line.split() for line in text.splitlines() if line.startswith(("PAU ", "RPAU ", "PWLU ", "ABU "))
        ]
        assert [c[0] for c in cases] == ["PAU", "PAU", "RPAU", "RPAU", "PWLU", "PWLU", "ABU", "ABU"]
        assert all(float(value) > 0 for c in cases for value in c[-4:])
    assert "of 2 bytes" in out_bf16
    # One family alone over 300 channels, and a family name that does not exist.
    out_pwlu = subprocess.run(
        [str(tmp_path / "kernel_harness"), "9000", "1", "1", "float32", "pwlu", "300"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cases = [
        line.split()[:2]
        for line in out_pwlu.splitlines()
        if line.startswith(("PAU ", "RPAU ", "PWLU ", "ABU "))
    ]
    assert cases == [["PWLU", "per-layer"], ["PWLU", "per-channel"]]
    assert "(C=300)" in out_pwlu and out_pwlu.startswith("9000 elements")
    bad = subprocess.run(
        [str(tmp_path / "kernel_harness"), "8192", "1", "1", "float32", "relu"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "family must be" in bad.stderr
