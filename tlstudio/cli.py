"""The ``tlstudio`` command: argument parsing and printing only; the work is in the core."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tlstudio.errors import TlstudioError
from tlstudio.filenames import ERRORS, printable, require_utf8
from tlstudio.recipe import (
    AUGMENTS,
    BALANCES,
    DEVICES,
    MONITORS,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    Recipe,
)

# A shell's status for a writer killed by SIGPIPE (as `yes | head` gives): the reader left.
EXIT_READER_GONE = 128 + 13


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
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
    )
    parser.add_argument("--demo", action="store_true",
                        help="open the window with the bundled demo data and backbone")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("backbones", help="list the backbones and where their weights come from")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_backbones)

    p = sub.add_parser("train", help="fine-tune a backbone on class folders")
    p.add_argument("data", nargs="?", help="training folder: one subfolder per class (or a "
                                           "folder holding train/ and val/ such folders)")
    p.add_argument("--recipe", help="a recipe.json to replay (other options override it)")
    p.add_argument("--resume", metavar="RUN",
                   help="continue RUN from its last finished epoch (--epochs N sets a new total)")
    p.add_argument("--backbone", help="backbone name (see `tlstudio backbones`)")
    p.add_argument("--weights", help="local weights file (safetensors or a state dict)")
    p.add_argument("--out", help="run folder to write (default: runs/DATA, or the recipe's "
                                 "out_dir; -2, -3 ... added when that already holds a run)")
    val = p.add_mutually_exclusive_group()
    val.add_argument("--val", help="validation folder with the same class subfolders")
    val.add_argument("--val-split", type=float, help="fraction held out per class (0.2)")
    p.add_argument("--freeze", help="backbone (head only, default), none, or stages:K")
    p.add_argument("--unfreeze", nargs="+", metavar="GLOB", help="parameter names to train too")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="adamw (default), adam, sgd")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (constant)")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up length, in epochs")
    p.add_argument("--label-smoothing", type=float, help="e.g. 0.1 (default 0)")
    p.add_argument("--augment", choices=AUGMENTS, help="training augmentation preset (none)")
    _add_augment_options(p)
    p.add_argument("--mixup", type=float, metavar="ALPHA", help="MixUp strength, e.g. 0.2 (0 off)")
    p.add_argument("--cutmix", type=float, metavar="ALPHA",
                   help="CutMix strength, e.g. 1.0 (0 off); with --mixup one per batch")
    p.add_argument("--balance", choices=BALANCES,
                   help="for uneven classes: sampler (draw rare classes more often) or loss "
                        "(class-weighted); default none")
    p.add_argument("--monitor", choices=MONITORS,
                   help="metric for the best epoch, early stopping and reduce-on-plateau")
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without improvement")
    p.add_argument("--reduce-lr", type=int, metavar="PATIENCE",
                   help="lower the lr after PATIENCE epochs without improvement")
    p.add_argument("--reduce-lr-factor", type=float, help="what --reduce-lr multiplies by (0.1)")
    p.add_argument("--keep-last", action="store_true",
                   help="save the last epoch's model instead of the best one")
    p.add_argument("--image-size", type=int)
    p.add_argument("--device", choices=DEVICES)
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int, help="data loading processes (default 0)")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--no-feature-cache", action="store_true",
                   help="run the frozen backbone every epoch instead of caching its features")
    _add_fine_tuning_options(p)
    p.set_defaults(handler=cmd_train)
    train = p

    p = sub.add_parser("lr-find", parents=[train], add_help=False,
                       help="learning-rate range test: suggests an lr for a recipe",
                       description="Train briefly with an exponentially rising learning rate "
                                   "and suggest the lr where the loss falls fastest. Takes the "
                                   "same options as train; writes nothing to the run folder.")
    p.add_argument("--steps", type=int, default=100, help="batches in the ramp (100)")
    p.add_argument("--start-lr", type=float, default=1e-7)
    p.add_argument("--end-lr", type=float, default=10.0)
    p.add_argument("--plot", metavar="OUT.png", help="also save loss against lr as a PNG")
    p.set_defaults(handler=cmd_lr_find)
    # After lr-find copied the train options: it writes no run folder.
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run already in --out (its old files are removed)")

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
    p.add_argument("--out", default="report.html", help="HTML file to write")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("demo", help="train the bundled backbone on bundled digits and export it")
    p.add_argument("--out", default=None, help="where to put demo data and the run")
    p.add_argument("--headless", action="store_true", help="never open the window")
    p.add_argument("--epochs", type=int, default=10)
    p.set_defaults(handler=cmd_demo)
    return parser


# --flag -> augment_options key; each overrides the preset's control.
AUGMENT_FLAGS = {"aug_crop_scale": "crop_scale", "hflip": "hflip", "vflip": "vflip",
                 "rotation": "rotation", "shift": "shift", "shear": "shear", "zoom": "zoom",
                 "color_jitter": "color_jitter"}


def _add_augment_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("augmentation controls (override the --augment preset)")
    group.add_argument("--aug-crop-scale", type=float, metavar="F",
                       help="random crops keep at least this fraction of the area (1 = off)")
    group.add_argument("--hflip", action=argparse.BooleanOptionalAction,
                       help="flip left-right half of the time")
    group.add_argument("--vflip", action=argparse.BooleanOptionalAction,
                       help="flip upside down half of the time")
    group.add_argument("--rotation", type=float, metavar="DEG", help="rotate up to DEG degrees")
    group.add_argument("--shift", type=float, metavar="F",
                       help="shift up to this fraction of the size")
    group.add_argument("--shear", type=float, metavar="DEG", help="shear up to DEG degrees")
    group.add_argument("--zoom", type=float, metavar="F", help="zoom by 1-F to 1+F")
    group.add_argument("--color-jitter", type=float, metavar="F",
                       help="brightness/contrast/saturation/hue jitter strength, 0 to 1")
def _add_fine_tuning_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--head-epochs", type=int, metavar="N",
                   help="two-phase fine-tuning: the first N epochs train the head only")
    p.add_argument("--lr-decay", type=float, metavar="F",
                   help="each earlier trainable stage gets F times the next one's lr (1.0)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="autocast dtype (auto: bf16/fp16 on CUDA, bf16 on CPUs where faster)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout (default: on for CUDA and bf16 CPUs)")


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


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    base = Recipe.load(args.recipe) if args.recipe else None
    changes = {
        "data_dir": args.data,
        "backbone": args.backbone,
        "weights": args.weights,
        "out_dir": args.out,
        "val_dir": args.val,
        "val_split": args.val_split,
        "freeze": args.freeze,
        "unfreeze": tuple(args.unfreeze) if args.unfreeze else None,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "warmup_epochs": args.warmup_epochs,
        "label_smoothing": args.label_smoothing,
        "augment": args.augment,
        "mixup_alpha": args.mixup,
        "cutmix_alpha": args.cutmix,
        "balance": args.balance,
        "monitor": args.monitor,
        "early_stopping_patience": args.early_stopping,
        "reduce_lr_patience": args.reduce_lr,
        "reduce_lr_factor": args.reduce_lr_factor,
        "keep_best": False if args.keep_last else None,
        "image_size": args.image_size,
        "device": args.device,
        "seed": args.seed,
        "num_workers": args.workers,
        "threads": args.threads,
        "feature_cache": False if args.no_feature_cache else None,
        "head_epochs": args.head_epochs,
        "lr_decay": args.lr_decay,
        "precision": args.precision,
        "channels_last": args.channels_last,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    options = {key: getattr(args, flag) for flag, key in AUGMENT_FLAGS.items()
               if getattr(args, flag) is not None}
    if options:  # on top of the replayed recipe's own overrides
        changes["augment_options"] = {**(base.augment_options if base else {}), **options}
    if args.val_split is not None:
        changes["val_dir"] = None
    if args.data is not None and args.val is None:
        changes.update(_split_layout_changes(args.data, args.val_split))
    if base is not None:
        return base.replace(**changes)
    if "data_dir" not in changes:
        raise TlstudioError("give a training folder (tlstudio train DATA) or --recipe FILE")
    changes.setdefault("out_dir", str(Path("runs") / Path(args.data).name))
    return Recipe(**changes)


def _split_layout_changes(data: str, val_split: float | None) -> dict[str, str]:
    """DATA holds train/ and val/: train on train/, validate on val/ (or hold out --val-split)."""
    from tlstudio.data.layout import split_folders

    layout = split_folders(data)
    if layout is None:
        return {}
    if val_split is not None:
        print(layout.held_out_note(val_split), file=sys.stderr)
        return {"data_dir": layout.train_dir}
    print(layout.note, file=sys.stderr)
    if layout.val_dir is None:
        return {"data_dir": layout.train_dir}
    return {"data_dir": layout.train_dir, "val_dir": layout.val_dir}


def cmd_train(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training import fit, resume_run

    if args.resume:
        _check_resume_options(args)
        require_utf8(args.resume, "The run folder")
        with ProgressPrinter() as printer:
            result = resume_run(args.resume, args.epochs, callbacks=[printer])
    else:
        recipe = recipe_from_args(args)
        require_utf8(recipe.out_dir, "The run folder", "give it a UTF-8 name with --out")
        if args.out is None and not args.overwrite:
            recipe = _fresh_out_dir(recipe)
        with ProgressPrinter() as printer:
            result = fit(recipe, callbacks=[printer], overwrite=args.overwrite)
    print(f"run written to {result.run_dir}")
    return 1 if result.stopped else 0


def _fresh_out_dir(recipe: Recipe) -> Recipe:
    """No --out given: never replace a run (a replayed recipe names the run it came from)."""
    from tlstudio.training.run_folder import free_run_folder

    out_dir = free_run_folder(recipe.out_dir)
    if out_dir == Path(recipe.out_dir):
        return recipe
    print(f"'{recipe.out_dir}' already holds a run; writing this one to '{out_dir}'",
          file=sys.stderr)
    return recipe.replace(out_dir=str(out_dir))


def _check_resume_options(args: argparse.Namespace) -> None:
    """A resumed run keeps its recipe; only the total number of epochs may change."""
    flags = ("keep_last", "no_feature_cache", "overwrite")  # False when not given
    ignored = {"command", "handler", "demo", "resume", "epochs", *flags}
    given = [name for name, value in vars(args).items()
             if name not in ignored and value is not None]
    given += [name for name in flags if getattr(args, name)]
    if given:
        options = ", ".join("DATA" if name == "data" else "--" + name.replace("_", "-")
                            for name in sorted(given))
        raise TlstudioError(f"--resume continues the run with its own recipe; only --epochs can "
                            f"change ({options} given)")


def cmd_lr_find(args: argparse.Namespace) -> int:
    from tlstudio.cli_progress import ProgressPrinter
    from tlstudio.training.lr_finder import lr_find, plot_lr_find

    if args.resume:
        raise TlstudioError("lr-find takes a training folder or --recipe, not --resume")
    recipe = recipe_from_args(args)
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

    require_utf8(args.run, "The run folder")
    if args.out is not None:
        require_utf8(args.out, "The export file", "give a UTF-8 name with --out")
    result = export_run(args.run, args.format, args.out)
    print(result.message)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tlstudio.inference import expand_inputs, load_predictor, write_predictions_csv

    require_utf8(args.model, "The model")
    predictor = load_predictor(args.model)
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


def cmd_report(args: argparse.Namespace) -> int:
    from tlstudio.evaluation.report import write_report

    require_utf8(args.run, "The run folder")
    print(f"report written to {write_report(args.run, args.out, data_dir=args.data)}")
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
