"""The page image with field boxes and the zoom on one field."""

from PIL import Image

from workbench.ui.grid import FieldView
from workbench.ui.page_image import COLOURS, SELECTED, draw_boxes, zoom


def _view(path: str, bbox: tuple[float, float, float, float], low: bool = False, page: int = 1) -> FieldView:
    return FieldView(path=path, label=path.title(), value="x", confidence=0.5 if low else 0.99, origin="ocr",
                     page=page, bbox=bbox, issues=(), low=low, required=False)


def test_boxes_are_drawn_in_their_state_colour_on_their_page_only() -> None:
    page = Image.new("RGB", (400, 600), "white")
    views = [_view("total", (100, 300, 200, 340)), _view("date", (100, 400, 200, 440), low=True),
             _view("merchant_name", (100, 500, 200, 540), page=2)]
    drawn = draw_boxes(page, 1, views, selected=None)
    assert drawn.size == page.size
    assert drawn.getpixel((150, 340)) == COLOURS["ok"]
    assert drawn.getpixel((150, 440)) == COLOURS["low"]
    assert drawn.getpixel((150, 540)) == (255, 255, 255)
    assert page.getpixel((150, 340)) == (255, 255, 255)


def test_the_selected_field_is_outlined_and_filled() -> None:
    page = Image.new("RGB", (400, 600), "white")
    drawn = draw_boxes(page, 1, [_view("total", (100, 300, 200, 340))], selected="total")
    assert drawn.getpixel((150, 340)) == SELECTED
    inside = drawn.getpixel((150, 320))
    assert inside != (255, 255, 255) and inside[2] > inside[0]


def test_zoom_crops_around_the_box_and_scales_it_up() -> None:
    page = Image.new("RGB", (1000, 1400), "white")
    page.paste((0, 0, 0), (500, 700, 600, 720))
    zoomed = zoom(page, (500, 700, 600, 720), width=900)
    assert zoomed.width == 900
    assert zoomed.height < 900
    assert zoomed.getpixel((450, zoomed.height // 2)) == (0, 0, 0)


def test_pan_region_is_the_magnified_part_and_stays_on_the_page() -> None:
    from workbench.ui.page_image import pan_region

    assert pan_region((600, 900), 1.0, 0.5, 0.5) == (0, 0, 600, 900)
    assert pan_region((600, 900), 2.0, 0.0, 0.0) == (0, 0, 300, 450)
    assert pan_region((600, 900), 2.0, 1.0, 1.0) == (300, 450, 600, 900)
    assert pan_region((600, 900), 3.0, 0.5, 2.0) == (200, 600, 400, 900)
