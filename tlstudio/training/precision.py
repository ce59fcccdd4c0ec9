"""Mixed precision and memory layout: what a recipe's ``precision``/``channels_last`` mean on a
device (autocast dtype, loss scaling, NHWC), resolved once per run and applied by the loops.

``auto`` on CUDA: bf16 autocast where the GPU supports it, fp16 (with loss scaling) otherwise,
and channels_last. ``auto`` on a CPU: bf16 autocast (and channels_last) only when both hold:
- the CPU has native bf16 instructions (AVX512-BF16 or AMX, as torch.cpu reports): without
  them oneDNN emulates bf16 and it is slower than fp32;
- the backbone has at least BF16_MIN_PARAMS parameters: for tiny convolutions the casts cost
  as much as they save (benchmarks/mixed_precision.py: tiny_cnn 1.0x, EfficientNet-Lite0
  and ResNet-50 feature extraction 2-4x faster on an AVX512-BF16 EPYC).
Otherwise fp32. MPS and other devices: fp32 unless chosen explicitly.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe

BF16_MIN_PARAMS = 1_000_000  # smaller backbones stay fp32 on CPU under "auto"
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class PrecisionPlan:
    dtype: str  # "fp32", "bf16" or "fp16": the autocast dtype (weights stay fp32)
    autocast: bool  # forward passes run under torch.autocast(dtype)
    channels_last: bool  # model and image batches in NHWC memory layout
    device_type: str = "cpu"  # "cpu", "cuda", "mps"
    reason: str = ""  # why "auto" chose this, for the log

    @property
    def grad_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range."""
        return self.autocast and self.dtype == "fp16"

    def describe(self) -> str:
        text = f"{self.dtype} autocast" if self.autocast else "fp32"
        return text + (", channels_last" if self.channels_last else "")

    def autocast_context(self) -> contextlib.AbstractContextManager:
        if not self.autocast:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=DTYPES[self.dtype])

    def prepare_model(self, model: nn.Module) -> nn.Module:
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """An image batch in the plan's layout (feature batches pass through)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def make_scaler(self) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(self.device_type) if self.grad_scaler else None


FP32 = PrecisionPlan("fp32", False, False)


def resolve_precision(recipe: Recipe, device: torch.device | str) -> PrecisionPlan:
    """The recipe's precision and channels_last settings on ``device``; RecipeError for a
    combination the device cannot run (fp16 on a CPU, bf16 on a GPU without it)."""
    kind = torch.device(device).type
    dtype, reason = _dtype(recipe, kind)
    autocast = dtype != "fp32"
    if recipe.channels_last is None:
        channels_last = kind == "cuda" or (kind == "cpu" and autocast)
    else:
        channels_last = recipe.channels_last
    return PrecisionPlan(dtype, autocast, channels_last, kind, reason)


def _dtype(recipe: Recipe, kind: str) -> tuple[str, str]:
    choice = recipe.precision
    if choice == "fp32":
        return "fp32", "chosen"
    if choice == "fp16":
        if kind == "cpu":
            raise RecipeError("fp16 mixed precision needs a GPU; on a CPU choose bf16, fp32 "
                              "or auto")
        return "fp16", "chosen"
    if choice == "bf16":
        if kind == "cuda" and not torch.cuda.is_bf16_supported():
            raise RecipeError("This GPU does not support bf16; choose fp16, fp32 or auto")
        return "bf16", "chosen"
    if kind == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "the GPU supports bf16"
        return "fp16", "the GPU has no bf16"
    if kind == "cpu":
        return _cpu_auto(recipe.backbone)
    return "fp32", f"mixed precision is only automatic on CUDA and CPUs, not {kind}"


def cpu_has_native_bf16() -> bool:
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _cpu_auto(backbone: str) -> tuple[str, str]:
    from tlstudio.models.catalog import parameter_count

    if not cpu_has_native_bf16():
        return "fp32", "this CPU has no native bf16 instructions"
    if parameter_count(backbone) < BF16_MIN_PARAMS:
        return "fp32", "the backbone is too small for bf16 to pay off"
    return "bf16", "this CPU has native bf16 instructions"

