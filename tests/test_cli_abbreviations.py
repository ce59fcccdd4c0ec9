"""Option names are a contract for scripts: no command takes a prefix of an option for the
option (argparse's allow_abbrev), so a wrong name is refused instead of silently meaning another."""

from __future__ import annotations

import argparse

import pytest
from imagefolders import write_class_folders

from tlstudio.cli import build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_compare_refuses_backbone_for_backbones(tmp_path, capsys) -> None:
    # `--backbone X` used to be read as `--backbones X`: the user got a comparison they did
    # not ask for (compare has no --backbone; it compares --backbones A,B).
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "compare",
                str(data),
                "--backbone",
                "tiny_cnn",
                "--strategies",
                "logreg",
                "--out",
                str(out),
            ]
        )
    assert exited.value.code == 2
    assert "unrecognized arguments: --backbone tiny_cnn" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_refuses_a_prefix_of_its_options(command: str, capsys) -> None:
    parser = _commands()[command]
    given = []  # the positionals and required options, so only the prefix can be wrong
    for action in parser._actions:
        value = str(action.choices[0]) if action.choices else "x"
        if not action.option_strings and action.nargs not in ("?", "*"):
            given += [value] * (action.nargs if isinstance(action.nargs, int) else 1)
        elif action.required:
            given += [action.option_strings[0], value]
    options = [
        o
        for o, a in parser._option_string_actions.items()
        if o.startswith("--") and o != "--help" and not a.required
    ]
    assert options, f"{command} has no long option to abbreviate"
    prefix = max(options, key=len)[:-1]
    while prefix in parser._option_string_actions:  # a prefix that is itself an option
        prefix = prefix[:-1]
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, *given, prefix, "1"])
    assert exited.value.code == 2
    assert f"unrecognized arguments: {prefix}" in capsys.readouterr().err
