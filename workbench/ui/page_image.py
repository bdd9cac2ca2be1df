"""Page images for review: the fields' source boxes drawn on the page, and a zoom on one field's region."""

import io

from PIL import Image, ImageDraw, ImageFont

from workbench.ui.grid import FieldView

COLOURS = {"failing": (214, 39, 40), "low": (240, 140, 0), "ok": (44, 160, 44), "corrected": (120, 90, 200)}
SELECTED = (31, 119, 180)


def decode(image: bytes) -> Image.Image:
    """A stored page image (JPEG or PNG bytes) as an RGB image."""
    with Image.open(io.BytesIO(image)) as opened:
        return opened.convert("RGB")


def draw_boxes(page: Image.Image, number: int, fields: list[FieldView], selected: str | None) -> Image.Image:
    """A copy of page `number` with each field's source box outlined in its state's colour, the selected one filled."""
    canvas = page.copy()
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width = max(2, round(max(canvas.size) / 400))
    font = ImageFont.load_default(size=max(12, round(max(canvas.size) / 70)))
    for field in fields:
        if field.page != number or field.bbox is None:
            continue
        x0, y0, x1, y1 = field.bbox
        is_selected = field.path == selected
        colour = SELECTED if is_selected else COLOURS[field.state]
        draw.rectangle((x0, y0, x1, y1), outline=(*colour, 255), width=width * (2 if is_selected else 1),
                       fill=(*colour, 60) if is_selected else None)
        label_box = draw.textbbox((x0, y0), field.label, font=font, anchor="lb")
        draw.rectangle(label_box, fill=(*colour, 220))
        draw.text((x0, y0), field.label, font=font, fill=(255, 255, 255, 255), anchor="lb")
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def zoom(page: Image.Image, bbox: tuple[float, float, float, float], width: int = 900) -> Image.Image:
    """The region around `bbox` (with some context) scaled to `width` pixels wide."""
    x0, y0, x1, y1 = bbox
    pad_x = max(40.0, (x1 - x0) * 0.3)
    pad_y = max(30.0, (y1 - y0) * 1.5)
    box = (max(0, int(x0 - pad_x)), max(0, int(y0 - pad_y)),
           min(page.width, int(x1 + pad_x)), min(page.height, int(y1 + pad_y)))
    if box[2] <= box[0] or box[3] <= box[1]:
        box = (0, 0, page.width, page.height)
    region = page.crop(box)
    scale = width / region.width
    return region.resize((width, max(1, round(region.height * scale))), Image.Resampling.LANCZOS)


MAGNIFICATIONS = (1.0, 1.5, 2.0, 3.0)
"""How far the page may be magnified; 1 fits the whole page to its column."""


def pan_region(size: tuple[int, int], magnification: float, across: float,
               down: float) -> tuple[int, int, int, int]:
    """The part of a page of `size` shown at `magnification`: 1/magnification of each side, its left and top
    edges `across` and `down` (0-1) of the way along what is left over."""
    width, height = size
    part_width, part_height = round(width / magnification), round(height / magnification)
    left = round((width - part_width) * min(max(across, 0.0), 1.0))
    top = round((height - part_height) * min(max(down, 0.0), 1.0))
    return left, top, left + part_width, top + part_height
