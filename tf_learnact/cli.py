"""Command line: `tf-learnact` / `python -m tf_learnact`.

    tf-learnact inspect MODEL.keras
    tf-learnact plot MODEL.keras -o activations.png [--max-channels 4]
    tf-learnact export MODEL.keras OUT_DIR [--portable] [--version N]

Errors (missing file, not a Keras model, bad arguments) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

PROG = "tf-learnact"


class CliError(Exception):
    """A user error: reported in one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Inspect, plot and export models with learnable activations."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="table of the learnable activations and their parameters")
    inspect.add_argument("model", help="a .keras model file")
    plot = commands.add_parser("plot", help="plot every learnable activation (learned vs initial)")
    plot.add_argument("model", help="a .keras model file")
    plot.add_argument("-o", "--output", required=True, help="output image (.png or .svg)")
    plot.add_argument("--max-channels", type=int, default=4, help="channels shown per per-channel layer")
    export = commands.add_parser("export", help="SavedModel for serving at OUT_DIR/<version>/")
    export.add_argument("model", help="a .keras model file")
    export.add_argument("out_dir", help="model base directory (TF Serving layout)")
    export.add_argument(
        "--portable", action="store_true", help="stock TensorFlow ops only (loads without tf_learnact)"
    )
    export.add_argument("--version", type=int, default=1, help="version directory (default 1)")
    return parser


def load_model(path: str):
    """The Keras model at `path`, or a CliError saying why not."""
    import keras  # noqa: PLC0415  (TensorFlow loads only for commands that need it)

    import tf_learnact  # noqa: F401, PLC0415  (registers the layers for deserialization)

    file = pathlib.Path(path)
    if not file.is_file():
        raise CliError(f"{path}: no such file")
    if file.suffix != ".keras":
        raise CliError(f"{path}: not a .keras model file")
    try:
        return keras.saving.load_model(file)
    except Exception as err:  # noqa: BLE001  (any failure to read it is the same user error)
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CliError(f"{path}: cannot load a Keras model from it ({first_line})") from err


def run(args: argparse.Namespace) -> None:
    from tf_learnact import export as export_module  # noqa: PLC0415
    from tf_learnact import inspection  # noqa: PLC0415

    model = load_model(args.model)
    if args.command == "inspect":
        rows = inspection.describe_layers(model)
        print(inspection.format_table(rows) if rows else "no learnable activation layers")
    elif args.command == "plot":
        try:
            inspection.plot_activations(model, args.output, max_channels=args.max_channels)
        except ValueError as err:
            raise CliError(str(err)) from err
        print(args.output)
    elif args.command == "export":
        try:
            target = export_module.export_saved_model(
                model, args.out_dir, portable=args.portable, version=args.version
            )
        except ValueError as err:
            raise CliError(str(err)) from err
        print(target)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 here
    try:
        run(args)
    except CliError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    return 0
