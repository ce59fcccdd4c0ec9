"""The ``tlstudio`` command: argument parsing and printing only; the work is in the core."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from tlstudio.cli_options import add_recipe_options, option_names, recipe_from_args
from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure, save_details
from tlstudio.recipe import LR_FIND_FIELDS
from tlstudio.runs.folder import REPORT
from tlstudio.writable import check_writable, describe_os_error


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return open_window(demo=args.demo)
    try:
        return args.handler(args)
    except TlstudioError as e:
        print(f"error: {describe_failure(e, FrontEnd.CLI)}", file=sys.stderr)
        return 2
    except OSError as e:  # a write the core did not foresee: the same words, no traceback
        if isinstance(e, BrokenPipeError):  # the reader went away: nothing to tell it
            raise
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug or a crash is one plain line, not a traceback
        details = save_details(e)
        print(f"error: {describe_failure(e, FrontEnd.CLI, details=details)}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlstudio",
        description="Transfer learning on image folders. With no command, opens the window.",
    )
    parser.add_argument("--demo", action="store_true",
                        help="open the window with the bundled demo data and backbone")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("backbones", help="list the backbones and where their weights come from")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_backbones)

    p = sub.add_parser("train", help="fine-tune a backbone on class folders")
    add_recipe_options(p)
    p.add_argument("--resume", metavar="RUN",
                   help="continue RUN from its last finished epoch (--epochs N sets a new total)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its old files are removed)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("lr-find", help="learning-rate range test: suggests an lr for a recipe",
                       description="Train briefly with an exponentially rising learning rate "
                                   "and suggest the lr where the loss falls fastest. Takes "
                                   "train's options that the test uses; writes no run folder.")
    add_recipe_options(p, only=LR_FIND_FIELDS)
    p.add_argument("--steps", type=int, default=100, help="batches in the ramp (100)")
    p.add_argument("--start-lr", type=float, default=1e-7)
    p.add_argument("--end-lr", type=float, default=10.0)
    p.add_argument("--plot", metavar="OUT.png", help="also save loss against lr as a PNG")
    p.set_defaults(handler=cmd_lr_find)

    p = sub.add_parser("export", help="export a trained run for use without tlstudio")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("--format", required=True, choices=("onnx", "torchscript", "safetensors"))
    p.add_argument("--out", help="output file (default RUN/export/model.EXT)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("predict", help="classify images with a run or an exported model")
    p.add_argument("model", help="run folder, .onnx or .pt file")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--top", type=int, default=3, help="how many classes to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", metavar="OUT.csv", help="also write the predictions as CSV")
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser("report", help="write a self-contained HTML report of a run")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("--data", help="labelled folder to evaluate on (default: the run's "
                                  "validation images)")
    p.add_argument("--out", default=REPORT, help="HTML file to write")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("shift", help="how far new images are from a run's training images",
                       description="Compare the run's training images with TARGET_DIR's images "
                                   "in the backbone's feature space: a domain classifier's "
                                   "accuracy (0.5 = no shift), confidence, predicted classes.")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("target", metavar="TARGET_DIR", help="folder of new images (any layout)")
    p.add_argument("--json", action="store_true", help="print JSON (with the map's points)")
    p.add_argument("--map", metavar="OUT.png", help="also save the 2-D map as a PNG")
    p.set_defaults(handler=cmd_shift)

    p = sub.add_parser("demo", help="train the bundled backbone on bundled digits and export it")
    p.add_argument("--out", default=None, help="where to put demo data and the run")
    p.add_argument("--headless", action="store_true", help="never open the window")
    p.add_argument("--epochs", type=int, default=10)
    p.set_defaults(handler=cmd_demo)
    return parser


def open_window(demo: bool = False) -> int:
    if not _has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        # Qt would abort the process without a screen; say what works instead.
        print("No display found, so the window cannot open. Run `tlstudio demo --headless`, "
              "or the commands (tlstudio --help).", file=sys.stderr)
        return 1
    try:
        from tlstudio.gui import run_app
    except ImportError as e:
        print(f"The window cannot open: {e}. The commands work without it (tlstudio --help).",
              file=sys.stderr)
        return 1
    return run_app(demo=demo)


def cmd_backbones(args: argparse.Namespace) -> int:
    from tlstudio.models.catalog import backbone_rows

    rows = backbone_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':24} {'params':>9} {'input':>6}  {'weights':9} description")
    for r in rows:
        params = f"{r['parameters'] / 1e6:.1f}M"
        print(f"{r['name']:24} {params:>9} {r['input_size']:>6}  {r['weights']:9} "
              f"{r['description']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training import FitStarted, fit, resume_run

    recipe = None
    if args.resume:
        _check_resume_options(args)
    else:
        recipe = recipe_from_args(args)
    fresh = args.out_dir is None and not args.overwrite  # never replace a run unasked
    started: list[str] = []  # the folder the run writes to (fresh_folder may number it)

    def remember(event: object) -> None:
        if isinstance(event, FitStarted):
            started.append(event.run_dir)

    try:
        with ProgressPrinter() as printer:
            result = (fit(recipe, callbacks=[printer, remember], overwrite=args.overwrite,
                          fresh_folder=fresh) if recipe
                      else resume_run(args.resume, args.epochs, callbacks=[printer, remember]))
    except KeyboardInterrupt:
        if not started:
            raise
        from tlstudio.runs.unfinished import interrupted

        print(f"interrupted: {describe_failure(interrupted(started[-1]), FrontEnd.CLI)}",
              file=sys.stderr)
        return 130
    print(f"run written to {result.run_dir}")
    return 1 if result.stopped else 0


def _check_resume_options(args: argparse.Namespace) -> None:
    """A resumed run keeps its recipe; only the total number of epochs may change."""
    ignored = {"command", "handler", "demo", "resume", "epochs", "overwrite"}
    given = [name for name, value in vars(args).items()
             if name not in ignored and value is not None]
    given += ["overwrite"] if args.overwrite else []
    if given:
        flags = option_names(args)
        options = ", ".join(sorted(flags[name] for name in given))
        raise TlstudioError(f"--resume continues the run with its own recipe; only --epochs can "
                            f"change ({options} given)")


def cmd_lr_find(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training.lr_finder import lr_find, plot_lr_find

    recipe = recipe_from_args(args)
    if args.plot:
        check_writable(args.plot)
    with ProgressPrinter() as printer:
        result = lr_find(recipe, emit=printer, steps=args.steps, start_lr=args.start_lr,
                         end_lr=args.end_lr)
    print(result.table())
    if args.plot:
        print(f"plot written to {plot_lr_find(result, args.plot)}")
    if result.suggested_lr is None:
        print("no suggestion: the loss did not fall over the range (try more --steps)")
        return 1
    print(f"suggested lr: {result.suggested_lr:.3g}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tlstudio.export import export_run

    result = export_run(args.run, args.format, args.out)
    print(result.message)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tlstudio.inference import expand_inputs, load_predictor, write_predictions_csv

    if args.csv:
        check_writable(args.csv)  # before predicting what could not be saved
    predictor = load_predictor(args.model)
    predictions, skipped = predictor.predict_paths(expand_inputs(args.inputs), top_k=args.top)
    if args.csv:
        write_predictions_csv(predictions, args.csv)
        print(f"predictions written to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        for p in predictions:
            top = ", ".join(f"{label} {prob:.1%}" for label, prob in p.top)
            print(f"{p.path}: {p.label} ({p.probability:.1%})  [{top}]")
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tlstudio.evaluation.report import write_report

    print(f"report written to {write_report(args.run, args.out, data_dir=args.data)}")
    return 0


def cmd_shift(args: argparse.Namespace) -> int:
    from tlstudio.domain import measure_shift, write_shift_map

    if args.map:
        check_writable(args.map)
    shift = measure_shift(args.run, args.target)
    if args.map:
        print(f"map written to {write_shift_map(shift, args.map)}", file=sys.stderr)
    if args.json:
        print(json.dumps(shift.to_dict(), indent=2))
        return 0
    print(f"domain accuracy {shift.domain_accuracy:.2f} (0.5 = no shift, 1.0 = fully "
          f"separable; {shift.source_images} training vs {shift.target_images} target images)")
    print(f"verdict: {shift.verdict}")
    print(f"mean confidence: validation {shift.source_confidence:.1%}, target "
          f"{shift.target_confidence:.1%}")
    print(f"{'class':20} {'training':>9} {'target (predicted)':>19}")
    for name, share in shift.training_distribution.items():
        print(f"{name:20} {share:>9.1%} {shift.target_distribution[name]:>19.1%}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.headless and _has_display():
        return open_window(demo=True)
    from tlstudio.demo_run import run_demo

    run_demo(args.out, args.epochs)
    return 0


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
