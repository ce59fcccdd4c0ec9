"""The train and lr-find options, derived from the Recipe's settings, and the Recipe they give.

Every option's flag, type, choices, help and default come from the field's Setting; only the
input sugar (DATA, --recipe, --freeze, the augmentation controls) is written here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection
from typing import Any

from tlstudio.defaults import default_run_dir
from tlstudio.errors import TlstudioError
from tlstudio.recipe import AUGMENT_OPTIONS, HEAD_ONLY, Recipe
from tlstudio.runs.folder import RECIPE
from tlstudio.settings import GROUPS, Setting, cli_flag, settings_of

# argparse's name of each augmentation option -> its augment_options key
AUGMENT_DESTS = {cli_flag(key, s)[2:].replace("-", "_"): key
                 for key, s in AUGMENT_OPTIONS.items()}
FREEZE_HELP = ("input sugar for --train-stages: backbone (head only, the default), none, or "
               "stages:K (all but the first K stages)")


def add_recipe_options(p: argparse.ArgumentParser, only: Collection[str] | None = None) -> None:
    """DATA, --recipe and one option per Recipe setting (those in `only`, if given)."""
    p.add_argument("data", nargs="?", help="training folder: one subfolder per class (or a "
                                           "folder holding train/ and val/ such folders)")
    p.add_argument("--recipe", help=f"a {RECIPE} to replay (other options override it)")
    titles = dict(GROUPS)
    groups: dict[str, Any] = {}
    exclusive: dict[str, Any] = {}
    for name, s, default in settings_of(Recipe):
        if not s.cli or (only is not None and name not in only):
            continue
        if s.group not in groups:
            groups[s.group] = p.add_argument_group(titles[s.group].lower())
        group = groups[s.group]
        if s.exclusive:
            if s.exclusive not in exclusive:
                exclusive[s.exclusive] = group.add_mutually_exclusive_group()
            group = exclusive[s.exclusive]
        group.add_argument(cli_flag(name, s), dest=name, help=_help(s, default), default=None,
                           **_action(s))
        if name == "train_stages":
            group.add_argument("--freeze", help=FREEZE_HELP)
        if name == "augment":
            _add_augment_options(group)


def _help(s: Setting, default: Any) -> str:
    if s.cli == "off":
        return s.help.replace("%", "%%")
    if s.cli_default:
        shown = s.cli_default
    elif default is None:
        shown = s.none_means
    elif isinstance(default, bool):
        shown = "on" if default else "off"
    elif isinstance(default, tuple):
        shown = " ".join(default) or "none"
    else:
        shown = f"{default}" + (f" {s.unit}" if s.unit and s.unit not in ("%", "°") else "")
    return f"{s.help} (default: {shown})".replace("%", "%%")


def _action(s: Setting) -> dict[str, Any]:
    if s.cli in ("on", "off"):
        return {"action": "store_const", "const": s.cli == "on"}
    if s.cli == "both":
        return {"action": argparse.BooleanOptionalAction}
    if s.cli == "list":
        return {"nargs": "+", "metavar": s.metavar}
    kwargs: dict[str, Any] = {"type": {"int": int, "float": float}.get(s.kind, str),
                              "metavar": s.metavar}
    if s.kind == "choice" and s.pattern:  # the Recipe checks the pattern's values
        values = [str(value) for value, _ in s.choices] + [s.pattern_text]
        kwargs["metavar"] = "{" + ",".join(values) + "}"
    elif s.kind == "choice":
        kwargs["choices"] = [value for value, _ in s.choices]
    return kwargs


def _add_augment_options(group: Any) -> None:
    """One option per control of the augmentation presets, overriding the preset's value."""
    for key, s in AUGMENT_OPTIONS.items():
        group.add_argument(cli_flag(key, s), help=f"{s.help} (default: the preset's)",
                           default=None, **_action(s))


def option_names(args: argparse.Namespace) -> dict[str, str]:
    """dest -> the flag a user typed, for messages about given options."""
    flags = {name: cli_flag(name, s) for name, s, _ in settings_of(Recipe)}
    return {dest: "DATA" if dest == "data" else flags.get(dest, "--" + dest.replace("_", "-"))
            for dest in vars(args)}


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The Recipe the options describe, on top of --recipe's; paths made absolute."""
    base = Recipe.load(args.recipe) if args.recipe else None
    changes = {name: getattr(args, name, None) for name, s, _ in settings_of(Recipe) if s.cli}
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()
               if v is not None}
    if args.data is not None:
        changes["data_dir"] = args.data
    if args.freeze is not None:
        changes["freeze"] = args.freeze
    options = {key: getattr(args, dest) for dest, key in AUGMENT_DESTS.items()
               if getattr(args, dest, None) is not None}
    if options:  # on top of the replayed recipe's own overrides
        changes["augment_options"] = {**(base.augment_options if base else {}), **options}
    val_split = getattr(args, "val_split", None)
    if val_split is not None:
        changes["val_dir"] = None
    if args.data is not None and getattr(args, "val_dir", None) is None:
        changes.update(_split_layout_changes(args.data, val_split))
    if base is not None:
        return _replace_on(base, changes).with_absolute_paths()
    if "data_dir" not in changes:
        raise TlstudioError("give a training folder (tlstudio train DATA) or --recipe FILE")
    changes.setdefault("out_dir", str(default_run_dir(args.data)))
    return Recipe(**changes).with_absolute_paths()


def _replace_on(base: Recipe, changes: dict[str, Any]) -> Recipe:
    """`base` with `changes`. Its trainable stages name the old backbone's stages: another
    backbone needs --freeze or --train-stages too, unless only the head trains."""
    new_backbone = changes.get("backbone", base.backbone) != base.backbone
    if (new_backbone and base.train_stages != HEAD_ONLY
            and not {"freeze", "train_stages"} & set(changes)):
        raise TlstudioError(f"the recipe trains stages of {base.backbone} "
                            f"({', '.join(base.train_stages)}); with another backbone, say what "
                            "trains too (--freeze or --train-stages)")
    return base.replace(**changes)


def _split_layout_changes(data: str, val_split: float | None) -> dict[str, str]:
    """DATA holds train/ and val/: train on train/, validate on val/ (or hold out --val-split)."""
    from tlstudio.data import resolve_data_folders

    folders = resolve_data_folders(data, hold_out=val_split)
    if folders.note is None:
        return {}
    print(folders.note, file=sys.stderr)
    changes = {"data_dir": folders.train_dir}
    return changes if folders.val_dir is None else {**changes, "val_dir": folders.val_dir}
