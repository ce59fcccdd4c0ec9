"""Usage examples in the languages where the formats are deployed: JavaScript (onnxruntime-web)
and C# for ONNX, Kotlin for LiteRT on Android, Swift for Core ML. Written, not executed here;
each states the preprocessing the model expects (`tlstudio.data.describe_eval_transform`).
"""

# ruff: noqa: E501 - the templates are in other languages, with their own line lengths

from __future__ import annotations

import json

from tlstudio.data import describe_eval_transform, resize_size
from tlstudio.runs import ModelInfo

JAVASCRIPT = """// Classify an image in the browser with onnxruntime-web:
//   <script src="https://cdn.jsdelivr.net/npm/onnxruntime-web/dist/ort.min.js"></script>
// classify(imgElement).then(([label, p]) => console.log(label, p));
{steps}
const MODEL = "{model}";
const CLASSES = {classes};
const IMAGE_SIZE = {size};
const RESIZE = {resize};  // shorter side before the centre crop

function preprocess(img) {{
  // Browsers resize with their own filter; Pillow's bicubic gives the exact training input.
  const scale = RESIZE / Math.min(img.naturalWidth, img.naturalHeight);
  const w = Math.floor(img.naturalWidth * scale), h = Math.floor(img.naturalHeight * scale);
  const canvas = document.createElement("canvas");
  canvas.width = IMAGE_SIZE; canvas.height = IMAGE_SIZE;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white"; ctx.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);  // transparency on white
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, -Math.floor((w - IMAGE_SIZE) / 2), -Math.floor((h - IMAGE_SIZE) / 2), w, h);
  const rgba = ctx.getImageData(0, 0, IMAGE_SIZE, IMAGE_SIZE).data;
  const plane = IMAGE_SIZE * IMAGE_SIZE, data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {{
    for (let c = 0; c < 3; c++) data[c * plane + i] = rgba[4 * i + c] / 255;  // no mean/std
  }}
  return new ort.Tensor("float32", data, [1, 3, IMAGE_SIZE, IMAGE_SIZE]);
}}

async function classify(img) {{
  const session = await ort.InferenceSession.create(MODEL);
  const output = await session.run({{ image: preprocess(img) }});
  const probabilities = output.probabilities.data;
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
  return [CLASSES[best], probabilities[best]];
}}
"""

CSHARP = """// dotnet add package Microsoft.ML.OnnxRuntime; dotnet add package SixLabors.ImageSharp
// dotnet run -- IMAGE...   prints "IMAGE: LABEL PROBABILITY"
{steps}
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

static class Example
{{
    const string Model = "{model}";
    static readonly string[] Classes = {classes_cs};
    const int ImageSize = {size};
    const int Resize = {resize};  // shorter side before the centre crop

    static DenseTensor<float> Preprocess(string path)
    {{
        using var image = Image.Load<Rgba32>(path);
        image.Mutate(x => x.AutoOrient().BackgroundColor(Color.White));
        float scale = (float)Resize / Math.Min(image.Width, image.Height);
        int w = (int)(image.Width * scale), h = (int)(image.Height * scale);
        image.Mutate(x => x.Resize(w, h, KnownResamplers.Bicubic)
            .Crop(new Rectangle((w - ImageSize) / 2, (h - ImageSize) / 2, ImageSize, ImageSize)));
        var tensor = new DenseTensor<float>(new[] {{ 1, 3, ImageSize, ImageSize }});
        for (int y = 0; y < ImageSize; y++)
            for (int x = 0; x < ImageSize; x++)
            {{
                var p = image[x, y];  // values in [0, 1], no mean/std: the model does that
                tensor[0, 0, y, x] = p.R / 255f; tensor[0, 1, y, x] = p.G / 255f; tensor[0, 2, y, x] = p.B / 255f;
            }}
        return tensor;
    }}

    static void Main(string[] args)
    {{
        using var session = new InferenceSession(Model);
        foreach (var path in args)
        {{
            var input = NamedOnnxValue.CreateFromTensor("image", Preprocess(path));
            using var output = session.Run(new[] {{ input }});
            var probabilities = output.First().AsEnumerable<float>().ToArray();
            int best = Array.IndexOf(probabilities, probabilities.Max());
            Console.WriteLine($"{{path}}: {{Classes[best]}} {{probabilities[best]:F4}}");
        }}
    }}
}}
"""

KOTLIN = """// Android: implementation("com.google.ai.edge.litert:litert:+"); put {model} in assets/.
{steps}
import android.content.Context
import android.graphics.Bitmap
import org.tensorflow.lite.Interpreter
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel

val CLASSES = listOf({classes_kt})
const val IMAGE_SIZE = {size}
const val RESIZE = {resize}  // shorter side before the centre crop

fun loadModel(context: Context): Interpreter {{
    val fd = context.assets.openFd("{model}")
    val buffer = FileInputStream(fd.fileDescriptor).channel
        .map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
    return Interpreter(buffer)
}}

fun preprocess(bitmap: Bitmap): ByteBuffer {{
    val scale = RESIZE.toFloat() / minOf(bitmap.width, bitmap.height)
    val w = (bitmap.width * scale).toInt()
    val h = (bitmap.height * scale).toInt()
    val resized = Bitmap.createScaledBitmap(bitmap, w, h, true)
    val crop = Bitmap.createBitmap(resized, (w - IMAGE_SIZE) / 2, (h - IMAGE_SIZE) / 2, IMAGE_SIZE, IMAGE_SIZE)
    val input = ByteBuffer.allocateDirect(4 * 3 * IMAGE_SIZE * IMAGE_SIZE).order(ByteOrder.nativeOrder())
    val pixels = IntArray(IMAGE_SIZE * IMAGE_SIZE)
    crop.getPixels(pixels, 0, IMAGE_SIZE, 0, 0, IMAGE_SIZE, IMAGE_SIZE)
    for (shift in intArrayOf(16, 8, 0)) {{  // channels first: R plane, G plane, B plane
        for (p in pixels) input.putFloat(((p shr shift) and 0xFF) / 255f)  // no mean/std
    }}
    return input.rewind() as ByteBuffer
}}

fun classify(interpreter: Interpreter, bitmap: Bitmap): Pair<String, Float> {{
    val output = Array(1) {{ FloatArray(CLASSES.size) }}
    interpreter.run(preprocess(bitmap), output)
    val best = output[0].indices.maxBy {{ output[0][it] }}
    return CLASSES[best] to output[0][best]
}}
"""

SWIFT = """// Xcode: add {model} to the target; Core ML generates its class.
{steps}
import CoreML
import CoreImage

let classes = {classes}
let imageSize = {size}
let resize = {resize}  // shorter side before the centre crop

func classify(_ image: CGImage) throws -> (String, Float) {{
    let url = Bundle.main.url(forResource: "model", withExtension: "mlmodelc")!
    let model = try MLModel(contentsOf: url)
    let input = try MLMultiArray(shape: [1, 3, NSNumber(value: imageSize), NSNumber(value: imageSize)],
                                 dataType: .float32)
    let pixels = centreCrop(image)  // RGBA bytes, imageSize x imageSize, after the resize
    let plane = imageSize * imageSize
    for i in 0..<plane {{
        for c in 0..<3 {{ input[c * plane + i] = NSNumber(value: Float(pixels[4 * i + c]) / 255) }}
    }}
    let output = try model.prediction(from: MLDictionaryFeatureProvider(dictionary: ["image": input]))
    let probabilities = output.featureValue(for: "probabilities")!.multiArrayValue!
    var best = 0
    for i in 0..<classes.count where probabilities[i].floatValue > probabilities[best].floatValue {{ best = i }}
    return (classes[best], probabilities[best].floatValue)
}}

func centreCrop(_ image: CGImage) -> [UInt8] {{
    let scale = CGFloat(resize) / CGFloat(min(image.width, image.height))
    let w = Int(CGFloat(image.width) * scale), h = Int(CGFloat(image.height) * scale)
    var bytes = [UInt8](repeating: 255, count: 4 * imageSize * imageSize)  // white background
    let context = CGContext(data: &bytes, width: imageSize, height: imageSize, bitsPerComponent: 8,
                            bytesPerRow: 4 * imageSize, space: CGColorSpaceCreateDeviceRGB(),
                            bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue)!
    context.interpolationQuality = .high
    context.draw(image, in: CGRect(x: -(w - imageSize) / 2, y: -(h - imageSize) / 2, width: w, height: h))
    return bytes
}}
"""

TEMPLATES = {  # format -> (file name key, template)
    "onnx": (("javascript", JAVASCRIPT), ("csharp", CSHARP)),
    "tflite": (("kotlin", KOTLIN),),
    "coreml": (("swift", SWIFT),),
}


def other_examples(fmt: str, model_file: str, info: ModelInfo) -> dict[str, str]:
    """Language -> source for the export `model_file` in format `fmt` (none for most formats)."""
    steps = "\n".join(f"// {i}. {step}" for i, step in
                      enumerate(describe_eval_transform(info.image_size), start=1))
    values = {
        "steps": "// Preprocessing the model expects:\n" + steps,
        "model": model_file,
        "classes": json.dumps(list(info.classes)),
        "classes_cs": "{ " + ", ".join(json.dumps(c) for c in info.classes) + " }",
        "classes_kt": ", ".join(json.dumps(c) for c in info.classes),
        "size": info.image_size,
        "resize": resize_size(info.image_size),
    }
    return {language: template.format(**values) for language, template in TEMPLATES.get(fmt, ())}
