"""The Qwen3-VL engine on a tiny random checkpoint: valid documents, bounded confidences, batch = one by one."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from schemas import Invoice, Page, Receipt, SourceDocument, TextLine
from workbench.config import Settings
from workbench.errors import ConfigError, EngineError

pytest.importorskip("torch")


def _document(name: str, size: tuple[int, int], text_lines: list[TextLine] | None = None) -> SourceDocument:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((4, 4), "TOTAL 12.50", fill="black")
    return SourceDocument(name=name, media_type="image/png", content_hash=name,
                          pages=[Page(number=1, image=image, text_lines=text_lines)])


@pytest.fixture(scope="module")
def engine(tiny_qwen_dir: Path):  # noqa: ANN201 - the engine type is imported lazily
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    settings = Settings(vlm_model=str(tiny_qwen_dir), vlm_pixel_budget=96 * 96, vlm_max_new_tokens=176,
                        vlm_batch_size=2)
    return Qwen3VLEngine(settings, use_ocr=False, device="cpu")


def _confidences(document: Receipt | Invoice) -> list[float]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "confidence" in node:
                found.append(node["confidence"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(document.model_dump())
    return found


def _strip_confidence(node: object) -> object:
    if isinstance(node, dict):
        return {key: _strip_confidence(value) for key, value in node.items() if key != "confidence"}
    if isinstance(node, list):
        return [_strip_confidence(value) for value in node]
    return node


def test_batch_equals_one_by_one_and_every_output_validates(engine) -> None:  # noqa: ANN001
    documents = [_document("tall", (64, 128)), _document("wide", (160, 64))]
    batched = engine.read_many(documents, "auto")
    single = [engine.read(document, "auto") for document in documents]
    assert len(batched) == len(documents)
    for one, many in zip(single, batched, strict=True):
        assert isinstance(one, (Receipt, Invoice))
        type(one).model_validate(one.model_dump())
        assert _strip_confidence(one.model_dump(mode="json")) == _strip_confidence(many.model_dump(mode="json"))
        assert _confidences(one) == pytest.approx(_confidences(many), abs=1e-4)
        assert all(0.0 <= value <= 1.0 for value in _confidences(one))
        fields = one.model_dump()
        assert {field["origin"] for field in fields.values() if isinstance(field, dict) and "origin" in field} \
            == {"vlm"}


def test_invoice_with_text_layer_caps_values_the_page_lacks(engine) -> None:  # noqa: ANN001
    lines = [TextLine(text="INVOICE 2024-001", bbox=(2, 2, 90, 12)), TextLine(text="TOTAL 12.50", bbox=(2, 20, 90, 30))]
    invoice = engine.read(_document("scan", (96, 96), lines), "invoice")
    assert isinstance(invoice, Invoice)
    Invoice.model_validate(invoice.model_dump())
    for value in (invoice.invoice_number, invoice.seller.name, invoice.grand_total):
        assert 0.0 <= value.confidence <= 1.0
        if value.value is not None and value.source is None:
            assert value.confidence <= 0.5


def test_document_without_pages_is_an_engine_error(engine) -> None:  # noqa: ANN001
    xml_only = SourceDocument(name="a.xml", media_type="application/xml", content_hash="x", pages=[])
    with pytest.raises(EngineError, match="a.xml"):
        engine.read(xml_only, "invoice")


def test_missing_model_folder_names_the_folder_and_the_fetch_command(tmp_path: Path) -> None:
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError) as raised:
        Qwen3VLEngine(Settings(vlm_model=str(missing)), use_ocr=False)
    assert str(missing) in raised.value.user_message
    assert "huggingface-cli download Qwen/Qwen3-VL-2B-Instruct --local-dir" in raised.value.user_message


def test_repo_id_missing_from_the_cache_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="huggingface-cli download Qwen/Qwen3-VL-4B-Instruct"):
        Qwen3VLEngine(Settings(vlm_model="Qwen/Qwen3-VL-4B-Instruct"), use_ocr=False)


def test_prompt_tokens_and_patches_match_the_transformers_processor(engine, tiny_qwen_dir: Path) -> None:  # noqa: ANN001, E501
    import torch
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen3VLProcessor

    from workbench.engines import vlm_output
    from workbench.engines.qwen3_vl import _left_padded, _patches

    class ImageOnlyProcessor(Qwen3VLProcessor):
        def __init__(self, image_processor: object = None, tokenizer: object = None, **kwargs: object) -> None:
            super().__init__(image_processor=image_processor, tokenizer=tokenizer, video_processor=None, **kwargs)

    budget = engine._settings.vlm_pixel_budget
    processor = ImageOnlyProcessor(
        image_processor=Qwen2VLImageProcessorPil(patch_size=16, temporal_patch_size=2, merge_size=2,
                                                 image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                                 size={"shortest_edge": 1024, "longest_edge": budget}),
        tokenizer=AutoTokenizer.from_pretrained(tiny_qwen_dir))
    tall, wide = _document("tall", (64, 200)), _document("wide", (300, 90))
    document = tall.model_copy(update={"pages": [tall.pages[0], wide.pages[0].model_copy(update={"number": 2})]})
    images = [vlm_output.scale_to_budget(page.image, budget, 32) for page in document.pages]
    text = (f"<|im_start|>user\n{vlm_output.prompt('receipt')}\n"
            + "<|vision_start|><|image_pad|><|vision_end|>" * 2 + "<|im_end|>\n<|im_start|>assistant\n")
    expected = processor(text=[text], images=images, return_tensors="pt")

    encoded = engine._encode(document, "receipt")
    inputs = _left_padded([encoded.tokens], engine._pad, engine._vision_ids[1])
    assert inputs["input_ids"].tolist() == expected["input_ids"].tolist()
    assert inputs["mm_token_type_ids"].tolist() == expected["mm_token_type_ids"].tolist()
    assert encoded.grids == expected["image_grid_thw"].tolist()
    patches = torch.cat([_patches(image, engine._image) for image in encoded.pixels])
    torch.testing.assert_close(patches, expected["pixel_values"].float(), atol=1e-5, rtol=0)
