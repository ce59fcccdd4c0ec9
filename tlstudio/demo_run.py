"""The headless demo: bundled digits, bundled EfficientNet-Lite0, a trained and exported model."""

from __future__ import annotations

import sys
from pathlib import Path

from tlstudio.cli_progress import ProgressPrinter
from tlstudio.data import default_demo_root, demo_data_dir, write_digits_demo
from tlstudio.recipe import Recipe
from tlstudio.writable import check_writable

DEMO_BACKBONE = "tf_efficientnet_lite0"


def demo_recipe(root: Path, epochs: int = 10) -> Recipe:
    data = write_digits_demo(demo_data_dir(root))
    return Recipe(
        data_dir=str(data / "train"),
        val_dir=str(data / "val"),
        out_dir=str(root / "run"),
        backbone=DEMO_BACKBONE,
        epochs=epochs,
        lr=3e-3,
        image_size=128,
    )


def run_demo(out: str | None = None, epochs: int = 10) -> Path:
    """Train, export to ONNX (checked against PyTorch), and print where the model is."""
    from tlstudio.export import export_run
    from tlstudio.training import fit

    root = check_writable(Path(out) if out else default_demo_root(), folder=True)
    recipe = demo_recipe(root, epochs)
    print(f"demo: {DEMO_BACKBONE} on handwritten digits in {recipe.data_dir}", file=sys.stderr)
    with ProgressPrinter() as printer:
        result = fit(recipe, callbacks=[printer], overwrite=True)  # the demo's own folder
    exported = export_run(result.run_dir, "onnx")
    print(exported.message, file=sys.stderr)
    print(f"exported model: {exported.path}")
    return Path(exported.path)
