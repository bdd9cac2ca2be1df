"""Decode an image file into upright RGB page images, refusing decompression bombs before decoding."""

import warnings
from io import BytesIO

import numpy as np
from PIL import Image, ImageOps

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest.limits import check_page_count, check_pixels

_PIL_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "tiff": ["TIFF"], "webp": ["WEBP"], "bmp": ["BMP"]}
_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")


def read_image(data: bytes, kind: str, label: str, settings: Settings) -> list[Image.Image]:
    """The pages of an image file as RGB images, EXIF orientation applied; a TIFF may hold several pages."""
    try:
        # Pillow's own bomb check warns before it errors; both must stop the file, not just log.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=_PIL_FORMATS[kind])
            # Only TIFF pages are pages: other formats' extra frames are previews or animation.
            frames = getattr(image, "n_frames", 1) if kind == "tiff" else 1
            check_page_count(label, frames, settings)
            pages = []
            for index in range(frames):
                if index:
                    image.seek(index)
                check_pixels(label, image.size, settings)
                image.load()
                pages.append(upright_rgb(image, copy=frames > 1))
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        limit = min(settings.max_pixels, Image.MAX_IMAGE_PIXELS or settings.max_pixels)
        raise InputError(label, f"refused: the image is too large to decode safely ({error}); at most {limit:,} "
                                "pixels are accepted (setting WORKBENCH_MAX_PIXELS)") from error
    # Decoders raise many types on damaged data (OSError, SyntaxError, ValueError, struct.error, ...).
    except Exception as error:
        raise InputError(label, f"the image is truncated or corrupt ({error})") from error
    return pages


def upright_rgb(image: Image.Image, copy: bool) -> Image.Image:
    """The decoded image turned upright by its EXIF orientation, in RGB (transparency on white)."""
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
        copy = False
    if image.mode in _SIXTEEN_BIT_MODES:
        pixels = np.asarray(image, dtype=np.uint32)
        if pixels.max(initial=0) > 255:
            pixels = pixels >> 8
        return Image.fromarray(pixels.astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image.copy() if copy else image

