"""Claiming a run folder is atomic across processes: two trainings never share a folder, a
claim left by a killed process is taken over, a named folder in use is refused in words."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlstudio.cli import main
from tlstudio.errors import TlstudioError
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, RunFolderBusyError, claim_run_folder
from tlstudio.training import fit

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# Waits for the go file, claims, says what it got, holds the claim until stdin closes.
# (Killed instead, it leaves its marker behind, as a killed training does.)
CLAIMANT = """
import os, sys, time
from tlstudio.runs.claim import RunFolderBusyError, claim_free_run_folder, claim_run_folder
folder, go, fresh = sys.argv[1], sys.argv[2], sys.argv[3] == "fresh"
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.0005)
try:
    claim = claim_free_run_folder(folder) if fresh else claim_run_folder(folder)
except RunFolderBusyError:
    print("busy", flush=True)
    sys.stdin.read()
else:
    print("claimed", claim.path, flush=True)
    sys.stdin.read()
    claim.release()
"""


def _claimants(folder: Path, go: Path, mode: str, n: int = 2) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMANT, str(folder), str(go), mode],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=ENV) for _ in range(n)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    return procs


def _race(tmp_path: Path, round_: int, mode: str) -> list[str]:
    """Two processes claim the same folder at the same moment; what each got."""
    go = tmp_path / f"go-{round_}"
    procs = _claimants(tmp_path / f"run-{round_}", go, mode)
    go.touch()
    answers = [proc.stdout.readline().strip() for proc in procs]  # both hold what they got
    for proc in procs:
        proc.communicate("")
    return answers


@pytest.mark.parametrize("mode", ["out", "fresh"])
def test_two_processes_started_together_never_share_a_folder(tmp_path, mode) -> None:
    for round_ in range(20):
        answers = _race(tmp_path, round_, mode)
        claimed = sorted(a.split(" ", 1)[1] for a in answers if a.startswith("claimed"))
        if mode == "out":  # a named folder: one trains, the other is refused
            assert sorted(a.split(" ")[0] for a in answers) == ["busy", "claimed"], answers
        else:  # the default folder: the second gets the next free one
            run = tmp_path / f"run-{round_}"
            assert claimed == [str(run), f"{run}-2"], answers
        assert not (tmp_path / f"run-{round_}" / ".tlstudio-claim").exists()  # released


def test_a_claim_left_by_a_killed_process_is_taken_over(tmp_path) -> None:
    folder, go = tmp_path / "run", tmp_path / "go"
    go.touch()
    [holder] = _claimants(folder, go, "out", n=1)
    assert holder.stdout.readline().startswith("claimed")
    busy = rf"in use: another training \(process {holder.pid}\)"
    with pytest.raises(RunFolderBusyError, match=busy):
        claim_run_folder(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert RunFolder(folder).claim_marker.read_text().strip() == str(holder.pid)  # stale
    with claim_run_folder(folder) as claim:
        assert RunFolder(folder).claim_marker.read_text().strip() == str(os.getpid())
        assert claim.path == folder


def test_the_cli_refuses_a_named_folder_in_use(colour_data, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    with claim_run_folder(run):
        code = main(["train", str(colour_data), "--backbone", "tiny_cnn", "--epochs", "1",
                     "--image-size", "16", "--out", str(run)])
    err = capsys.readouterr().err
    assert code == 2 and f"error: '{run}' is in use: another training" in err
    assert "Traceback" not in err and not run.exists()  # nothing written; the claim made it


def test_a_fit_that_fails_before_writing_leaves_no_folder(tmp_path) -> None:
    out = tmp_path / "run"
    with pytest.raises(TlstudioError):
        fit(Recipe(data_dir=str(tmp_path / "missing"), out_dir=str(out), backbone="tiny_cnn"))
    assert not out.exists()


def test_two_trainings_started_together_write_two_whole_runs(colour_data, tmp_path) -> None:
    """End to end: two CLI trainings of the same data with the default folder, at once."""
    args = [sys.executable, "-m", "tlstudio", "train", str(colour_data), "--backbone",
            "tiny_cnn", "--epochs", "2", "--image-size", "16", "--batch-size", "8",
            "--val-split", "0.25", "--lr", "0.01"]
    env = {**ENV, "HOME": str(tmp_path)}  # the default runs folder is ~/tlstudio/runs
    procs = [subprocess.Popen([*args, "--seed", str(seed)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    started = time.monotonic()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    runs = sorted((tmp_path / "tlstudio" / "runs").iterdir())
    assert [r.name for r in runs] == [colour_data.name, f"{colour_data.name}-2"]
    seeds = set()
    for run in runs:  # each folder is one run's: its recipe, its model, its metrics
        recipe = json.loads((run / "recipe.json").read_text())
        model = json.loads((run / "model.json").read_text())
        assert recipe["out_dir"] == str(run.relative_to(tmp_path)) or recipe["out_dir"] == str(run)
        assert model["recipe"]["seed"] == recipe["seed"]
        assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 2
        assert not (run / ".tlstudio-claim").exists()
        seeds.add(recipe["seed"])
    assert seeds == {1, 2} and time.monotonic() - started < 300


def test_a_run_in_progress_is_neither_resumed_nor_overwritten_by_another(colour_data,
                                                                          tmp_path) -> None:
    from tlstudio.training import resume_run

    run = tmp_path / "run"
    fit(Recipe(data_dir=str(colour_data), out_dir=str(run), backbone="tiny_cnn", epochs=1,
               image_size=16, batch_size=8))
    model = RunFolder(run).model_weights.read_bytes()
    with claim_run_folder(run, resume=True):  # as the training in progress holds it
        with pytest.raises(RunFolderBusyError):
            resume_run(run, epochs=2)
        with pytest.raises(RunFolderBusyError):
            fit(Recipe(data_dir=str(colour_data), out_dir=str(run), backbone="tiny_cnn",
                       epochs=1, image_size=16), overwrite=True)
    assert RunFolder(run).model_weights.read_bytes() == model
    assert resume_run(run, epochs=2).epochs[-1].epoch == 2  # released: resumable again


def test_a_file_system_that_cannot_lock_still_trains(tmp_path, monkeypatch) -> None:
    """Some network shares refuse locks: the run goes ahead (as before claims existed)."""
    import errno

    from tlstudio.runs import claim as claim_module

    def no_locks(fd: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(claim_module, "_lock_fd", no_locks)
    with claim_run_folder(tmp_path / "run") as claim:
        assert claim.path == tmp_path / "run"

    def held(fd: int) -> None:
        raise BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable")

    monkeypatch.setattr(claim_module, "_lock_fd", held)
    with pytest.raises(RunFolderBusyError):
        claim_run_folder(tmp_path / "run")
