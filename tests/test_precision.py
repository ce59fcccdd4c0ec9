"""Mixed precision and channels_last: what each setting resolves to, and runs that use them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tlstudio.cli import main
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import FitStarted, fit
from tlstudio.training import precision as precision_module
from tlstudio.training.precision import resolve_precision


def _recipe(data: Path | str = "d", out: Path | str = "runs/run", **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="none")
    base.update(changes)
    return Recipe(**base)


def test_each_setting_on_a_cpu(monkeypatch):
    fp32 = resolve_precision(_recipe(precision="fp32"), "cpu")
    assert (fp32.dtype, fp32.autocast, fp32.channels_last) == ("fp32", False, False)
    assert fp32.describe() == "fp32" and fp32.make_scaler() is None

    bf16 = resolve_precision(_recipe(precision="bf16"), torch.device("cpu"))
    assert bf16.describe() == "bf16 autocast, channels_last"
    assert not bf16.grad_scaler
    assert not resolve_precision(_recipe(precision="bf16", channels_last=False),
                                 "cpu").channels_last

    with pytest.raises(RecipeError, match="fp16 mixed precision needs a GPU"):
        resolve_precision(_recipe(precision="fp16"), "cpu")

    # auto: bf16 only with native bf16 instructions and a backbone big enough to gain.
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision(_recipe(), "cpu").describe() == "fp32"  # tiny_cnn
    big = _recipe(backbone="tf_efficientnet_lite0")
    assert resolve_precision(big, "cpu").describe() == "bf16 autocast, channels_last"
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    auto = resolve_precision(big, "cpu")
    assert auto.describe() == "fp32" and "no native bf16" in auto.reason
    assert resolve_precision(big.replace(channels_last=True), "cpu").channels_last


@pytest.mark.parametrize(("bf16_gpu", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_on_cuda_prefers_bf16_and_scales_fp16_losses(monkeypatch, bf16_gpu, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_gpu)
    plan = resolve_precision(_recipe(), "cuda")
    assert plan.describe() == f"{expected} autocast, channels_last"
    assert plan.grad_scaler == (expected == "fp16")
    assert resolve_precision(_recipe(precision="fp32"), "cuda").describe() == "fp32, channels_last"
    if not bf16_gpu:
        with pytest.raises(RecipeError, match="does not support bf16"):
            resolve_precision(_recipe(precision="bf16"), "cuda")


def test_recipe_rejects_an_unknown_precision():
    with pytest.raises(RecipeError, match="precision must be one of auto, fp32, bf16, fp16"):
        _recipe(precision="fp8")


@pytest.mark.parametrize("freeze", ["none", "backbone"])
def test_forced_bf16_trains_end_to_end_on_a_cpu(colour_data, tmp_path, freeze):
    starts: list[FitStarted] = []
    result = fit(_recipe(colour_data, tmp_path / "run", precision="bf16", freeze=freeze),
                 [lambda e: isinstance(e, FitStarted) and starts.append(e)])

    assert starts[0].precision == "bf16 autocast, channels_last"
    assert starts[0].feature_cache == (freeze == "backbone")
    for epoch in result.epochs:
        assert torch.isfinite(torch.tensor([epoch.train_loss, epoch.val_loss])).all()
    weights = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float32}


def test_cli_start_line_says_the_precision(colour_data, tmp_path, capsys):
    args = ["train", str(colour_data), "--out", str(tmp_path / "run"), "--backbone", "tiny_cnn",
            "--image-size", "16", "--epochs", "1"]
    assert main([*args, "--precision", "bf16"]) == 0
    assert "on cpu (bf16 autocast, channels_last)" in capsys.readouterr().err
    assert main([*args, "--precision", "fp16", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "fp16 mixed precision needs a GPU" in err and "Traceback" not in err
