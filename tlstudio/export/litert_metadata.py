"""The model's description inside a `.tflite` file: a named metadata entry of the LiteRT
flatbuffer (the place TFLite's own metadata tools use), holding the same JSON strings ONNX keeps
as metadata, so `predict` and `serve` read the classes from the file alone.
"""

from __future__ import annotations

import json

import numpy as np

from tlstudio.export.runtime import require

METADATA_NAME = "tlstudio"  # the metadata entry's name
IDENTIFIER = b"TFL3"  # the LiteRT flatbuffer's file identifier


def with_metadata(model: bytes, metadata: dict[str, str]) -> bytes:
    """`model` (a .tflite file's bytes) with `metadata` stored under METADATA_NAME."""
    import flatbuffers

    schema = require("ai_edge_litert.schema_py_generated", "LiteRT")
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    tree.metadata = [m for m in (tree.metadata or []) if _name(m.name) != METADATA_NAME]
    payload = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    tree.buffers.append(schema.BufferT(data=payload))
    tree.metadata.append(schema.MetadataT(name=METADATA_NAME, buffer=len(tree.buffers) - 1))
    builder = flatbuffers.Builder(len(model) + len(payload) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=IDENTIFIER)
    return bytes(builder.Output())


def read_metadata(model: bytes) -> dict[str, str] | None:
    """The metadata `with_metadata` stored, or None when the file holds none."""
    schema = require("ai_edge_litert.schema_py_generated", "LiteRT")
    root = schema.Model.GetRootAs(model, 0)
    for i in range(root.MetadataLength()):
        entry = root.Metadata(i)
        if _name(entry.Name()) == METADATA_NAME:
            data = root.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode("utf-8"))
    return None


def _name(value: bytes | str | None) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")
