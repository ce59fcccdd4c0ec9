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
from tlstudio.filenames import ERRORS, printable, require_utf8
from tlstudio.recipe import COMPARE_FIELDS, LR_FIND_FIELDS, STRATEGY_NAMES
from tlstudio.runs.folder import REPORT
from tlstudio.serve import DEFAULT_HOST, DEFAULT_PORT, MAX_UPLOAD_BYTES
from tlstudio.writable import check_writable, describe_os_error

# A shell's status for a writer killed by SIGPIPE (as `yes | head` gives): the reader left.
EXIT_READER_GONE = 128 + 13
# tlstudio.export.FORMATS, spelled here so `--help` costs no torch import (a test compares them)
EXPORT_FORMATS = ("onnx", "torchscript", "safetensors", "openvino", "tflite", "coreml")


def main(argv: Sequence[str] | None = None) -> int:
    _escape_unprintable_output()
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a pipe closed early fails here, not at exit
    except BrokenPipeError:
        _silence_output()
        return EXIT_READER_GONE
    return code


def _run(argv: Sequence[str] | None) -> int:
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


def _escape_unprintable_output() -> None:
    """File names that are not UTF-8 print as \\xNN instead of failing the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=ERRORS)


def _silence_output() -> None:
    # The standard recipe (Python's signal docs): point the closed streams at devnull so the
    # interpreter's final flush does not print a second BrokenPipeError.
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a stream without a file (tests' capture)
            pass
    os.close(devnull)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlstudio",
        description="Transfer learning on image folders. With no command, opens the window.",
        allow_abbrev=False,
    )
    parser.add_argument("--demo", action="store_true",
                        help="open the window with the bundled demo data and backbone")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("backbones", help="list the backbones and where their weights come from")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true",
                   help="also list every timm model with pretrained weights (timm:NAME.TAG)")
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

    p = sub.add_parser(
        "compare", help="which transfer strategy suits the images: strategies on identical "
                        "splits, compare.json and a chart",
        description="Train each strategy (classical heads on frozen features, head-only, last "
                    "stage, last two, full, two-phase, and random weights) on the same folds "
                    "or split; train's options apply to every strategy.")
    add_recipe_options(p, only=COMPARE_FIELDS)
    p.set_defaults(freeze=None)
    p.add_argument("--backbones", metavar="A,B", help="backbones to compare (default: "
                                                     "--recipe's, else the default backbone)")
    p.add_argument("--strategies", metavar="S,T", help=f"of {', '.join(STRATEGY_NAMES)} "
                                                       "(default: all)")
    p.add_argument("--budget", type=float, metavar="MINUTES",
                   help="stop starting folds and epochs that would not fit; says what it skipped")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the comparison already in --out")
    p.set_defaults(handler=cmd_compare)

    p = sub.add_parser("export", help="export a trained run for use without tlstudio")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="openvino, tflite and coreml need the deploy extra "
                        "(pip install 'tlstudio[deploy]')")
    p.add_argument("--quantize", choices=("int8", "fp16"),
                   help="int8: onnx, tflite (calibrated on the run's training images); "
                        "fp16: onnx, openvino, coreml")
    p.add_argument("--out", help="output file (default RUN/export/FORMAT[-QUANTIZE]/model.EXT)")
    p.add_argument("--json", action="store_true",
                   help="print the export's measurements as JSON")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("predict", help="classify images with a run or an exported model")
    p.add_argument("model", help="run folder, or .onnx, .pt, .safetensors, OpenVINO .xml, "
                   ".tflite (.mlpackage on macOS) export")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--top", type=int, default=3, help="how many classes to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", metavar="OUT.csv", help="also write the predictions as CSV")
    add_unknown_option(p)
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser("calibrate", help="fit a temperature so the run's confidence matches its "
                                         "accuracy on the validation images",
                       description="Temperature scaling on the validation predictions stored "
                                   "while training (no retraining). The temperature is saved with "
                                   "the run's model: predict, serve, Try images, the report "
                                   "and every later export use it.")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("--unknown-below", type=probability, metavar="P",
                   help="also save P as the model's threshold: a top probability below it is "
                        "answered 'unknown' (0 = off)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_calibrate)

    p = sub.add_parser("serve", help="answer HTTP requests with predictions (POST /predict)",
                       description="POST an image file (the body, or a multipart field 'file') "
                                   "to /predict and get the JSON list `predict --json` prints; "
                                   "GET /health answers 200. Ctrl+C stops it.")
    p.add_argument("model", help="run folder, or .onnx, .pt, .safetensors, OpenVINO .xml, "
                   ".tflite (.mlpackage on macOS) export")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on ({DEFAULT_PORT}; 0 = any free port)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on ({DEFAULT_HOST}: this machine only; 0.0.0.0: "
                        "every network)")
    p.add_argument("--max-mb", type=float, default=MAX_UPLOAD_BYTES / 2**20, metavar="MB",
                   help="largest request accepted (%(default)g MB); larger ones get 413")
    add_unknown_option(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("report", help="write a self-contained HTML report of a run")
    p.add_argument("run", help="run folder written by `tlstudio train`")
    p.add_argument("--data", help="labelled folder to evaluate on (default: the run's "
                                  "validation images)")
    p.add_argument("--out", default=REPORT, help="HTML file to write")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("ensemble", help="combine trained runs with the same classes into one",
                       description="Combine runs into an ensemble run folder that predict, "
                                   "report and export accept; its exports hold every member.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (two or more)")
    p.add_argument("--method", default="average", choices=("average", "weighted", "stacking"),
                   help="average the probabilities; weight them (weights chosen on the "
                        "validation predictions); or fit a logistic-regression stacker on "
                        "them (default: average)")
    p.add_argument("--out", required=True, metavar="ENS", help="the ensemble's run folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its old files are removed)")
    p.set_defaults(handler=cmd_ensemble)

    p = sub.add_parser("runs", help="list the runs of a runs folder")
    p.add_argument("folder", nargs="?", default=None,
                   help="the runs folder (default: the one the window uses)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_runs)

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
    for command in sub.choices.values():  # option names are a contract for scripts: no prefixes
        command.allow_abbrev = False
    return parser


def probability(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not from 0 to 1 (e.g. 0.6)")
    return value


def add_unknown_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unknown-below", type=probability, metavar="P",
                   help="answer 'unknown' when the top probability is below P (default: the "
                        "model's own threshold, set by train or calibrate; 0 = off)")


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

    rows = backbone_rows(every_timm_model=args.all)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':24} {'params':>9} {'input':>6}  {'weights':9} description")
    for r in rows:
        params = f"{r['parameters'] / 1e6:.1f}M" if r["parameters"] else "-"
        print(f"{r['name']:24} {params:>9} {r['input_size'] or '-':>6}  {r['weights']:9} "
              f"{r['description']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training import FitStarted, fit, is_main_process, resume_run

    recipe = None
    if args.resume:
        _check_resume_options(args)
        require_utf8(args.resume, "The run folder")
    else:
        recipe = recipe_from_args(args)
        require_utf8(recipe.out_dir, "The run folder", "give it a UTF-8 name with --out")
    fresh = args.out_dir is None and not args.overwrite  # never replace a run unasked
    if recipe is not None and recipe.folds:
        return _cross_validate(recipe, args.overwrite, fresh)
    started: list[str] = []  # the folder the run writes to (fresh_folder may number it)

    def remember(event: object) -> None:
        if isinstance(event, FitStarted):
            started.append(event.run_dir)

    main_process = is_main_process()  # under torchrun only rank 0 reports
    try:
        with ProgressPrinter() as printer:
            callbacks = [printer, remember] if main_process else [remember]
            result = (fit(recipe, callbacks=callbacks, overwrite=args.overwrite,
                          fresh_folder=fresh) if recipe
                      else resume_run(args.resume, args.epochs, callbacks=callbacks))
    except KeyboardInterrupt:
        if not started:
            raise
        from tlstudio.runs.unfinished import interrupted

        print(f"interrupted: {describe_failure(interrupted(started[-1]), FrontEnd.CLI)}",
              file=sys.stderr)
        return 130
    if main_process:
        print(f"run written to {result.run_dir}")
    return 1 if result.stopped else 0


def _cross_validate(recipe, overwrite: bool, fresh: bool) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training import cross_validate

    with ProgressPrinter() as printer:
        result = cross_validate(recipe, callbacks=[printer], overwrite=overwrite,
                                fresh_folder=fresh)
    cv = result.summary
    print(f"{len(result.folds)} folds: accuracy {cv['accuracy_mean']:.1%} ± "
          f"{cv['accuracy_std']:.1%}, macro-F1 {cv['macro_f1_mean']:.3f} ± "
          f"{cv['macro_f1_std']:.3f}")
    print(f"cross-validation written to {result.run_dir} (each fold's run in its folds/ "
          "folder, out-of-fold predictions beside them)")
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


def cmd_compare(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.comparison import compare, parse_strategies

    if args.out_dir is None:
        raise TlstudioError("give the comparison's folder: --out DIR")
    recipe = recipe_from_args(args)
    backbones = [b.strip() for b in (args.backbones or recipe.backbone).split(",") if b.strip()]
    strategies = parse_strategies(args.strategies)
    if args.budget is not None and args.budget <= 0:
        raise TlstudioError("--budget is in minutes and must be above 0")
    with ProgressPrinter() as printer:
        result = compare(recipe, backbones, strategies, args.budget, callbacks=[printer],
                         overwrite=args.overwrite)
    print(f"{'strategy':12} {'backbone':22} {'accuracy':>16} {'macro-F1':>8} {'seconds':>8}")
    for row in result.result["strategies"]:
        print(f"{row['strategy']:12} {row['backbone']:22} {row['accuracy_mean']:>7.1%} ± "
              f"{row['accuracy_std']:<6.1%} {row['macro_f1_mean']:>8.3f} {row['seconds']:>8.1f}")
    for line in result.lines:
        print(line)
    print(f"comparison written to {result.path} (compare.json, chart {result.chart})")
    return 1 if result.stopped else 0


def cmd_export(args: argparse.Namespace) -> int:
    from tlstudio.export import export_run, export_table

    require_utf8(args.run, "The run folder")
    if args.out is not None:
        require_utf8(args.out, "The export file", "give a UTF-8 name with --out")
    result = export_run(args.run, args.format, args.out, quantize=args.quantize)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.message)
        print(export_table([result]))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tlstudio.export import open_model
    from tlstudio.inference import expand_inputs, write_predictions_csv

    require_utf8(args.model, "The model")
    if args.csv:
        check_writable(args.csv)  # before predicting what could not be saved
    predictor = open_model(args.model)
    if args.unknown_below is not None:
        predictor.unknown_below = args.unknown_below
    files, passed_over = expand_inputs(args.inputs)
    predictions, skipped = predictor.predict_paths(files, top_k=args.top)
    skipped = passed_over + skipped
    if args.csv and predictions:
        write_predictions_csv(predictions, args.csv)
        print(f"predictions written to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=2))
    else:
        for p in predictions:
            top = ", ".join(f"{label} {prob:.1%}" for label, prob in p.top)
            print(f"{printable(p.path)}: {p.label} ({p.probability:.1%})  [{top}]")
    for s in skipped:
        print(f"skipped {printable(s.path)}: {s.reason}", file=sys.stderr)
    if not predictions:
        given = ", ".join(f"'{printable(path)}'" for path in args.inputs)
        raise TlstudioError(f"nothing to predict: no readable image in {given}"
                            + (f" ({len(skipped)} file(s) skipped, listed above)" if skipped
                               else ""))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from tlstudio.evaluation import calibrate_run
    from tlstudio.runs import RunFolder

    check_writable(RunFolder.at(args.run).model_info)
    result = calibrate_run(args.run, args.unknown_below)
    if args.json:
        print(json.dumps({"temperature": result.temperature, **result.to_dict(),
                          "unknown_below": result.unknown_below}, indent=2))
        return 0
    print(f"temperature {result.temperature:.3f}, fitted on {result.images} validation images "
          f"(epoch {result.epoch})")
    print(f"expected calibration error: {result.ece_before:.1%} before, "
          f"{result.ece_after:.1%} after")
    if result.unknown_below:
        print(f"'unknown' below {result.unknown_below:.0%}")
    print(f"saved in {RunFolder.at(args.run).model_info}: predict, serve, Try images and the "
          "report use it now; export again to carry it into exported files")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from tlstudio.export import open_model
    from tlstudio.serve import open_server

    predictor = open_model(args.model)
    if args.unknown_below is not None:
        predictor.unknown_below = args.unknown_below
    server = open_server(predictor, args.host, args.port, int(args.max_mb * 2**20),
                         log=lambda line: print(line, file=sys.stderr, flush=True))
    host, port = server.server_address[:2]
    print(f"serving {args.model} on http://{host}:{port}: POST an image to /predict, "
          "GET /health; Ctrl+C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tlstudio.evaluation.report import write_report

    require_utf8(args.run, "The run folder")
    print(f"report written to {write_report(args.run, args.out, data_dir=args.data)}")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from tlstudio.ensemble import build_ensemble

    result = build_ensemble(args.runs, args.method, args.out, overwrite=args.overwrite)
    print(f"{'member':24} {'backbone':22} {'input':>5} {'weight':>7} {'accuracy':>9} "
          f"{'macro-F1':>9}")
    for m in result.info.members:
        weight = "-" if args.method == "stacking" else f"{m.weight:.3f}"
        print(f"{os.path.basename(m.run):24} {m.backbone:22} {m.image_size:>5} {weight:>7} "
              f"{m.accuracy:>9.1%} {m.macro_f1:>9.3f}")
    print(f"{'ensemble (' + args.method + ')':24} {'':22} {'':>5} {'':>7} "
          f"{result.accuracy:>9.1%} {result.macro_f1:>9.3f}")
    print(f"scored on {result.images} validation images: {result.info.scoring}")
    if result.note:
        print(f"note: {result.note}")
    print(f"ensemble written to {result.run_dir}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from tlstudio.defaults import default_runs_dir
    from tlstudio.runs import list_runs

    folder = args.folder or default_runs_dir()
    # The default folder appears with the first run: before that there are simply none.
    runs = list_runs(folder) if args.folder or os.path.isdir(folder) else []
    if args.json:
        print(json.dumps([run.to_dict() for run in runs], indent=2))
        return 0
    if not runs:
        print(f"no runs in {folder}")
        return 0
    rows = [("name", "date", "backbone", "strategy", "best val", "time", "status")]
    rows += [(run.name, f"{run.date:%Y-%m-%d %H:%M}", run.backbone, run.strategy,
              "-" if run.best_val_accuracy is None else f"{run.best_val_accuracy:.1%}",
              f"{run.seconds:.1f}s", run.status) for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.rjust(w) if i in (4, 5) else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())
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
    print(f"mean confidence: {shift.confidence_images} {shift.source_confidence:.1%}, target "
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
