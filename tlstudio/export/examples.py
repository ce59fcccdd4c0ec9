"""The runnable usage example written beside every export: `python example.py IMAGE...` prints
`IMAGE: LABEL PROBABILITY`, with the exact preprocessing the model expects (see
`tlstudio.data.describe_eval_transform`) and only the format's own runtime (plus Pillow, numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

from tlstudio.data import resize_size
from tlstudio.runs import ModelInfo

# Preprocessing as `tlstudio.data.load_rgb` and `eval_transform` do it, in Pillow and numpy.
PREPROCESS = '''
def to_rgb(image):
    """8-bit RGB: EXIF orientation applied, transparency over white, 16-bit scaled by 1/257."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def preprocess(path):
    """One image as the model expects it: float32 RGB in [0, 1], NCHW, batch of one."""
    with Image.open(path) as opened:
        opened.load()
        image = to_rgb(opened)
    width, height = image.size
    if width <= height:
        size = (RESIZE, int(RESIZE * height / width))
    else:
        size = (int(RESIZE * width / height), RESIZE)
    image = image.resize(size, Image.Resampling.BICUBIC)
    left, top = (size[0] - IMAGE_SIZE) // 2, (size[1] - IMAGE_SIZE) // 2
    image = image.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    pixels = np.asarray(image, dtype=np.float32) / 255.0  # no mean/std: the model does that
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[np.newaxis])


def main(paths):
    if not paths:
        print(f"usage: python {sys.argv[0]} IMAGE...", file=sys.stderr)
        return 2
    predict = load()
    for path in paths:
        probabilities = predict(preprocess(path))[0]
        best = int(np.argmax(probabilities))
        print(f"{path}: {CLASSES[best]} {probabilities[best]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


@dataclass(frozen=True)
class Runtime:
    needs: str  # what to pip install
    load: str  # Python defining load() -> predict(batch) -> probabilities


RUNTIMES = {
    "onnx": Runtime("onnxruntime pillow numpy", '''
import onnxruntime


def load():
    session = onnxruntime.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]
'''),
    "openvino": Runtime("openvino pillow numpy", '''
import openvino


def load():
    compiled = openvino.Core().compile_model(str(MODEL), "CPU")
    return lambda batch: compiled(batch)[0]
'''),
    "tflite": Runtime("ai-edge-litert pillow numpy", '''
from ai_edge_litert.interpreter import Interpreter


def load():
    interpreter = Interpreter(model_path=str(MODEL))
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def predict(batch):
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return interpreter.get_tensor(target)
    return predict
'''),
    "coreml": Runtime("coremltools pillow numpy (macOS: Core ML runs only there)", '''
import coremltools


def load():
    model = coremltools.models.MLModel(str(MODEL))
    return lambda batch: model.predict({"image": batch})["probabilities"]
'''),
    "torchscript": Runtime("torch pillow numpy", '''
import torch


def load():
    model = torch.jit.load(str(MODEL), map_location="cpu").eval()

    def predict(batch):
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()
    return predict
'''),
    "safetensors": Runtime("tlstudio (the weights need the model's code to run)", '''
from tlstudio.inference import load_predictor


def load():
    return load_predictor(MODEL).predict_tensor  # weights alone need the architecture's code
'''),
}


def python_example(fmt: str, title: str, model_file: str, info: ModelInfo) -> str:
    """example.py for the export `model_file` (a name in the same folder) in format `fmt`."""
    runtime = RUNTIMES[fmt]
    header = (
        f'"""Classify images with the exported {title} model: python example.py IMAGE...\n\n'
        f"Needs only: pip install {runtime.needs}\n"
        'Prints "IMAGE: LABEL PROBABILITY" per image.\n"""\n\n'
        "import sys\nfrom pathlib import Path\n\nimport numpy as np\n"
        "from PIL import Image, ImageOps\n"
    )
    constants = (
        f"\nMODEL = Path(__file__).with_name({model_file!r})\n"
        f"CLASSES = {list(info.classes)!r}\n"
        f"IMAGE_SIZE = {info.image_size}\n"
        f"RESIZE = {resize_size(info.image_size)}  # shorter side before the centre crop\n"
    )
    return header + runtime.load + constants + "\n" + PREPROCESS
