"""Pictures embedded in the HTML report as data URLs, so the file needs nothing beside it."""

from __future__ import annotations

import base64
import io
from html import escape

from PIL import Image


def img_tag(image: Image.Image, alt: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
