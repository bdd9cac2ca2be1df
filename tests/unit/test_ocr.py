"""The OCR reader on synthetic pages with known text: lines, boxes, scores, order, and turned pages."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from workbench.config import Settings
from workbench.errors import ConfigError, EngineError
from workbench.ocr import RapidOcrReader, computed_precision
from workbench.ocr.rapid import (
    REC_WIDTH_STEP,
    OpenVinoSession,
    float32_det_preprocess,
    is_latin,
    looks_upright,
    restricted_recogniser,
)

LINES = [("GREEN GROCER", 40), ("Total 12.50", 130), ("THANK YOU", 220)]
"""Text and top edge (px) of each line on the page."""


def page() -> Image.Image:
    image = Image.new("RGB", (520, 300), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    for text, top in LINES:
        draw.text((30, top), text, fill="black", font=font)
    return image


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    return RapidOcrReader(Settings())


@pytest.fixture(scope="module")
def upright(reader: RapidOcrReader):
    return reader.read(page())


def squeeze(text: str) -> str:
    return text.replace(" ", "").upper()


def test_reads_each_line_in_order_with_scores(upright) -> None:
    assert [squeeze(line.text) for line in upright] == [squeeze(text) for text, _ in LINES]
    assert all(0.9 <= line.score <= 1.0 for line in upright)
    assert looks_upright(upright)


def test_boxes_sit_on_their_lines(upright) -> None:
    for line, (_, top) in zip(upright, LINES):
        x0, y0, x1, y1 = line.bbox
        assert 15 <= x0 <= 45 and 180 <= x1 <= 500
        assert top - 15 <= y0 < top + 20 < y1 <= top + 70


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_90])
def test_turned_page_is_read_upright_with_boxes_on_the_original(reader: RapidOcrReader, upright, turn) -> None:
    turned = page().transpose(turn)
    before = reader.turned_pages
    lines = reader.read(turned)
    assert reader.turned_pages == before + 1
    assert [squeeze(line.text) for line in lines] == [squeeze(text) for text, _ in LINES]
    # The same line found upright, turned the same way, covers the same pixels.
    width, height = 520, 300
    for line, straight in zip(lines, upright):
        x0, y0, x1, y1 = straight.bbox
        expected = ((width - x1, height - y1, width - x0, height - y0) if turn is Image.Transpose.ROTATE_180
                    else (y0, width - x1, y1, width - x0))
        assert all(abs(a - b) <= 8 for a, b in zip(line.bbox, expected))


def test_blank_page_has_no_lines(reader: RapidOcrReader) -> None:
    assert reader.read(Image.new("RGB", (300, 200), "white")) == []


def test_default_backend_is_openvino_with_padded_recogniser_inputs(reader: RapidOcrReader) -> None:
    recogniser = reader._engine.text_rec
    assert isinstance(recogniser.session, OpenVinoSession)
    assert recogniser.session._width_step == REC_WIDTH_STEP
    batch = np.zeros((2, 3, 48, 100), dtype=np.float32)
    padded = recogniser.session(batch)
    assert padded.shape[0] == 2 and padded.shape[1] > recogniser.session(batch[:, :, :, :64]).shape[1]


def test_onnxruntime_backend_reads_the_same_lines(upright) -> None:
    lines = RapidOcrReader(Settings(ocr_backend="onnxruntime")).read(page())
    assert [squeeze(line.text) for line in lines] == [squeeze(line.text) for line in upright]


def test_latin_recogniser_is_the_full_one_renormalised_over_its_classes(reader: RapidOcrReader) -> None:
    full = RapidOcrReader(Settings(ocr_charset="all"))._engine.text_rec
    latin = reader._engine.text_rec
    characters = full.postprocess_op.character
    keep = [index for index, character in enumerate(characters) if index == 0 or is_latin(character)]
    assert latin.postprocess_op.character == [characters[index] for index in keep]
    assert 600 < len(keep) < 1000 and "€" in latin.postprocess_op.character and "中" not in latin.postprocess_op.character
    batch = np.random.default_rng(0).random((2, 3, 48, 128), dtype=np.float32)
    everything = full.session(batch)[:, :, keep].copy()
    assert np.allclose(latin.session(batch), everything / everything.sum(axis=2, keepdims=True), atol=2e-2)


def test_latin_recogniser_reads_a_latin_page_as_the_full_one(upright) -> None:
    lines = RapidOcrReader(Settings(ocr_charset="all")).read(page())
    assert [line.text for line in lines] == [line.text for line in upright]


def test_a_model_without_the_expected_output_layer_is_refused() -> None:
    import openvino
    from openvino import opset13

    image = opset13.parameter([1, 3, 48, 64], np.float32)
    model = openvino.Model([opset13.relu(image).output(0)], [image])
    with pytest.raises(EngineError, match="WORKBENCH_OCR_CHARSET=all"):
        restricted_recogniser(model, ["blank", "a"], [0, 1])


def test_float32_detector_preprocessing_equals_rapidocrs() -> None:
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    image = np.random.default_rng(1).integers(0, 256, (1400, 600, 3), dtype=np.uint8)
    theirs = DetPreProcess(960, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(image)
    ours = float32_det_preprocess(960, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(image)
    assert ours.dtype == np.float32 and ours.flags.c_contiguous and ours.shape == theirs.shape == (1, 3, 960, 416)
    assert np.allclose(ours, theirs, atol=1e-6)


def _computes_bf16() -> bool:
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_f32_precision_is_what_openvino_compiles(upright) -> None:
    reader = RapidOcrReader(Settings(ocr_precision="f32"))
    request = reader._engine.text_rec.session._request
    assert "float32" in str(request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT"))
    assert computed_precision(Settings(ocr_precision="f32")) == "f32"
    assert [squeeze(line.text) for line in reader.read(page())] == [squeeze(line.text) for line in upright]


def test_auto_precision_is_bf16_exactly_where_the_cpu_computes_it() -> None:
    assert computed_precision(Settings()) == ("bf16" if _computes_bf16() else "f32")
    assert computed_precision(Settings(ocr_backend="onnxruntime")) == "f32"


def test_bf16_is_refused_with_onnxruntime_and_on_cpus_without_it() -> None:
    with pytest.raises(ConfigError, match="WORKBENCH_OCR_BACKEND=openvino"):
        RapidOcrReader(Settings(ocr_backend="onnxruntime", ocr_precision="bf16"))
    if _computes_bf16():
        assert computed_precision(Settings(ocr_precision="bf16")) == "bf16"
    else:
        with pytest.raises(ConfigError, match="does not compute bf16"):
            RapidOcrReader(Settings(ocr_precision="bf16"))
