"""RapidOCR (PP-OCR models shipped in the wheel, onnxruntime) behind the OcrReader protocol."""

import os
import threading
from typing import Protocol

import numpy as np
from PIL import Image

from schemas import TextLine
from workbench.config import Settings
from workbench.errors import EngineError

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


class OcrReader(Protocol):
    """Reads the text lines of one page image."""

    def read(self, image: Image.Image) -> list[TextLine]:
        """Lines in reading order (top to bottom) with pixel boxes in the image's coordinates."""
        ...


class RapidOcrReader:
    """rapidocr with the angle classifier off (pages arrive upright from ingest) and a tuned detector size."""

    def __init__(self, settings: Settings) -> None:
        from rapidocr import RapidOCR

        params = {
            "Global.use_cls": False,
            "Global.log_level": "error",
            "Det.limit_side_len": settings.ocr_det_side,
            "Det.limit_type": "max",
            "Rec.rec_batch_num": settings.ocr_rec_batch,
            "EngineConfig.onnxruntime.intra_op_num_threads": settings.ocr_threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        try:
            self._engine = RapidOCR(params=params)
        except Exception as error:  # rapidocr raises plain exceptions for missing models or bad settings
            raise EngineError(f"the OCR engine could not start: {error}") from error
        # onnxruntime sessions are thread-safe, but rapidocr keeps per-call state in its pipeline objects.
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[TextLine]:
        """OCR one RGB page image."""
        array = np.asarray(image.convert("RGB"))[:, :, ::-1]
        with self._lock:
            result = self._engine(array)
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes.tolist(), result.txts, result.scores):
            xs = [point[0] for point in box]
            ys = [point[1] for point in box]
            lines.append(TextLine(text=text, bbox=(min(xs), min(ys), max(xs), max(ys)),
                                  score=min(max(float(score), 0.0), 1.0)))
        lines.sort(key=lambda line: (line.bbox[1], line.bbox[0]))
        return lines
