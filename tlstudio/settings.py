"""The schema of a Recipe's settings: one `Setting` per field, declared next to the field.

The CLI's options, the window's controls, the validation messages and README's option table
are derived from these declarations (``python -m tlstudio.settings`` prints the table).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

KINDS = ("int", "float", "bool", "choice", "text", "path", "list", "dict")
# Groups in the order the window and README show them: (key, title)
GROUPS = (
    ("data", "Data"), ("backbone", "Backbone"), ("layers", "Layers to train"),
    ("training", "Training"), ("augmentation", "Augmentation"),
    ("schedule", "Optimizer and schedule"), ("callbacks", "Callbacks"),
    ("fine-tuning", "Two-phase fine-tuning"), ("balance", "Class balance"),
    ("speed", "Speed"), ("output", "Output"),
)
# How a CLI flag sets the field: "value" (--flag VALUE), "list" (--flag A B ...),
# "on"/"off" (a bare --flag sets True/False), "both" (--flag / --no-flag), "" (no option)
CLI_ACTIONS = ("value", "list", "on", "off", "both", "")


@dataclass(frozen=True)
class Setting:
    """What a user needs to know about one Recipe field, declared once."""

    label: str  # the window's and README's name for it
    help: str  # one line in the user's words (tooltip, --help, README)
    group: str  # a key of GROUPS
    kind: str  # a KINDS entry
    beginner: bool = False  # shown in the window's numbered steps, not under Advanced
    low: float | None = None  # smallest valid value (inclusive)
    high: float | None = None  # largest valid value (inclusive)
    choices: tuple[tuple[Any, str], ...] = ()  # (recipe value, label) for kind "choice"
    pattern: str = ""  # a regular expression that further valid text values match ("cuda:N")
    pattern_text: str = ""  # those values in words, for messages and README: "cuda:N"
    unit: str = ""  # shown after the value: "epochs", "px", "°", "%"
    none_means: str = ""  # what None stands for ("off", "auto", ...); "" = None not allowed
    zero_means: str = ""  # what 0 stands for, if it is special ("off")
    window: bool = True  # the window has a control for it (else an opened recipe's value stays)
    decimals: int = 0  # digits the window shows for a float
    step: float = 1.0  # the window's arrow-key step
    percent: bool = False  # the window shows the fraction as a percentage
    flag: str = ""  # CLI option; "" = --field-name
    cli: str = "value"  # a CLI_ACTIONS entry
    metavar: str | None = None  # the CLI's placeholder for the value
    exclusive: str = ""  # CLI options with the same key cannot be given together
    invalid: str = ""  # the message when the value is out of range, if the generated one is not
    example: str = ""  # a typical value, added to the generated message: "e.g. 0.2"
    cli_default: str = ""  # what the CLI does without the option, if not the default

    def values_text(self) -> str:
        """The valid values in words: 'a number from 0 to 1', 'one of a, b'."""
        if self.kind == "choice":
            values = [_text(v) for v, _ in self.choices] + [self.pattern_text] * bool(
                self.pattern_text)
            return "one of " + ", ".join(values)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            return f"{what} from {_number(self.low)} to {_number(self.high)}"
        return {"path": "a path", "text": "a name", "list": "names",
                "dict": "named options"}.get(self.kind, "")


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _text(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(
        value)


def setting(default: Any = dataclasses.MISSING, **meta: Any) -> Any:
    """A dataclass field with its Setting; a list or dict default becomes a factory."""
    info = {"setting": Setting(**meta)}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=info)
    return dataclasses.field(default=default, metadata=info)


def settings_of(cls: type) -> Iterator[tuple[str, Setting, Any]]:
    """(field name, Setting, default) for every declared field of a dataclass, in order."""
    for f in dataclasses.fields(cls):
        if "setting" in f.metadata:
            yield f.name, f.metadata["setting"], field_default(f)


def field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def cli_flag(name: str, s: Setting) -> str:
    return s.flag or "--" + name.replace("_", "-")


def check_value(name: str, s: Setting, value: Any) -> str | None:
    """Why `value` is not valid for the setting, in the user's words; None when it is."""
    if value is None:
        return None if s.none_means else f"{s.label} must be given"
    if s.kind == "choice":
        ok = any(value == v and type(value) is type(v) for v, _ in s.choices) or bool(
            s.pattern and isinstance(value, str) and re.fullmatch(s.pattern, value))
        return None if ok else f"{name} must be {s.values_text()}, not {value!r}"
    if s.kind == "bool":
        return None if isinstance(value, bool) else f"{name} must be true or false"
    if s.kind in ("int", "float"):
        types = int if s.kind == "int" else int | float
        if isinstance(value, bool) or not isinstance(value, types) or not (
                s.low <= value <= s.high):
            return s.invalid or _range_message(s, value)
    if s.kind in ("text", "path") and not isinstance(value, str):
        return f"{name} must be text, not {value!r}"
    if s.kind == "list" and not all(isinstance(v, str) for v in value):
        return f"{name} must be a list of names, not {list(value)!r}"
    return None


def _range_message(s: Setting, value: Any) -> str:
    unit = f" {s.unit}" if s.unit and s.unit not in ("%", "°") else ""
    example = f" ({s.example})" if s.example else ""
    return f"{s.label} must be {s.values_text()}{unit}{example}, not {value!r}"


def markdown_table(declared: Iterable[tuple[str, Setting, Any]]) -> str:
    """A table of settings for README: one row each, grouped as the window groups them."""
    rows = ["| Setting | CLI | Window | Default | Valid values | What it does |",
            "|---|---|---|---|---|---|"]
    order = {key: i for i, (key, _) in enumerate(GROUPS)}
    for name, s, default in sorted(declared, key=lambda item: order[item[1].group]):
        flag = f"`{cli_flag(name, s)}`" if s.cli else "DATA" if name == "data_dir" else "-"
        if s.cli == "both":
            flag = f"`{cli_flag(name, s)}` / `--no-{cli_flag(name, s)[2:]}`"
        values = s.values_text() + (f" {s.unit}" if s.unit else "")
        if s.none_means:
            values += f"; null = {s.none_means}"
        shown = "steps" if s.beginner else "Advanced" if s.window else "-"
        rows.append(f"| `{name}` ({s.label}) | {flag} | {shown} | `{_default_text(default)}` | "
                    f"{values.strip('; ')} | {s.help} |")
    return "\n".join(rows) + "\n"


def _default_text(default: Any) -> str:
    if default is dataclasses.MISSING:
        return "required"
    if isinstance(default, list | tuple):
        return "[" + ", ".join(map(str, default)) + "]"
    return _text(default) if not isinstance(default, dict) else "{}"


def options_tables() -> str:
    """README's tables: the Recipe's settings, then the augmentation presets' controls."""
    from tlstudio.recipe import AUGMENT_OPTIONS, Recipe

    controls = [(name, s, "preset") for name, s in AUGMENT_OPTIONS.items()]
    return (markdown_table(settings_of(Recipe)) + "\nThe controls of the augmentation presets "
            "(`augment_options` in a recipe; each overrides the preset's value):\n\n"
            + markdown_table(controls))


def main() -> None:
    sys.stdout.write(options_tables())


if __name__ == "__main__":
    main()
