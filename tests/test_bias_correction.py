"""Bias correction of the int8 LiteRT export: a layer's bias absorbs the mean shift its rounded
weights cause, so the quantized model's outputs are centred where fp32's are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_runs import make_run

from tlstudio.export.bias_correction import output_shift
from tlstudio.runs import load_model

IMAGES = 24


@pytest.mark.parametrize("groups", [1, 4])
def test_the_shift_is_the_change_of_each_outputs_mean(groups: int) -> None:
    torch.manual_seed(0)
    x = torch.rand(8, 4, 9, 9) + torch.arange(4.0).view(1, 4, 1, 1)  # channels of unequal mean
    weight, delta = torch.randn(4, 4 // groups, 3, 3), torch.randn(4, 4 // groups, 3, 3) * 0.01
    change = F.conv2d(x, weight + delta, groups=groups) - F.conv2d(x, weight, groups=groups)
    # without padding every output sees the whole 7x7 interior: compare on a constant image
    flat = torch.ones(1, 4, 3, 3) * x.mean(dim=(0, 2, 3)).view(1, 4, 1, 1)
    expected = (F.conv2d(flat, weight + delta, groups=groups)
                - F.conv2d(flat, weight, groups=groups)).flatten()
    shift = output_shift(delta, x.mean(dim=(0, 2, 3)), groups)
    assert torch.allclose(shift, expected, atol=1e-5)
    assert torch.allclose(shift, change.mean(dim=(0, 2, 3)), atol=0.02)


def test_a_linear_layers_shift() -> None:
    x, delta = torch.rand(16, 5), torch.randn(3, 5)
    assert torch.allclose(output_shift(delta, x.mean(0), 1), (x @ delta.T).mean(0), atol=1e-5)


def _calibration(colour_data: Path, size: int) -> torch.Tensor:
    from tiny_runs import image_batch

    paths = sorted(p for p in colour_data.rglob("*.png"))[:IMAGES]
    return torch.from_numpy(image_batch(paths, size))


def _logit_bias(run_dir: Path, colour_data: Path, quantized) -> float:
    """How far the quantized model's mean logits sit from fp32's, over the images."""
    classifier, info = load_model(run_dir)
    images = _calibration(colour_data, info.image_size)
    with torch.inference_mode():
        reference = classifier.eval()(images).numpy()
    return float(np.abs((quantized(images) - reference).mean(axis=0)).max())


def test_pt2e_bias_correction_centres_the_int8_logits(tmp_path: Path, colour_data: Path) -> None:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    from tlstudio.export.bias_correction import correct_pt2e
    from tlstudio.export.litert import _quantizer

    run_dir = make_run(tmp_path / "run", colour_data)
    classifier, info = load_model(run_dir)
    images = _calibration(colour_data, info.image_size)
    biases = {}
    for corrected in (False, True):
        graph = prepare_pt2e(
            torch.export.export(classifier.eval(), (images[:1],)).module(),
            _quantizer(info.image_size * 8),  # nothing is "high resolution": every layer int8
        )
        for image in images:
            graph(image.unsqueeze(0))
        graph = convert_pt2e(graph, fold_quantize=False)
        before = {name: value.clone() for name, value in classifier.state_dict().items()}
        assert not corrected or correct_pt2e(graph, images) == 4  # 3 convolutions and the head
        # the graph shares the head's bias with the model the export is measured against
        assert all(torch.equal(v, before[k]) for k, v in classifier.state_dict().items())

        def run(batch, graph=graph):
            with torch.no_grad():
                return torch.cat([graph(image.unsqueeze(0)) for image in batch]).numpy()

        biases[corrected] = _logit_bias(run_dir, colour_data, run)
    assert biases[True] < 0.8 * biases[False]

