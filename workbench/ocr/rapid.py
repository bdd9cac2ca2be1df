"""RapidOCR (PP-OCR models shipped in the wheel, run by OpenVINO or onnxruntime) behind the OcrReader protocol."""

import os
import threading
from typing import Any, Protocol

import numpy as np
from PIL import Image

from schemas import TextLine
from workbench.config import Settings
from workbench.errors import ConfigError, EngineError

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

CONFIDENT_SCORE = 0.9
"""A line read with at least this score counts as read; an upright page has most of its text so read."""
UPRIGHT_SHARE = 0.5
"""Below this share of confidently read characters, the other three orientations are tried."""
_TURNS = (Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
REC_WIDTH_STEP = 64
"""OpenVINO recogniser inputs are padded on the right to a multiple of this width, so few input shapes occur."""
OPENVINO_SHAPE_CACHE = 50
"""Compiled input shapes OpenVINO keeps per process; its default (5000) let a worker grow past 1.4 GB."""
LATIN_RANGES = (
    (0x0020, 0x024F),  # Basic Latin, Latin-1 Supplement, Latin Extended-A and -B
    (0x0370, 0x03FF),  # Greek
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese and others)
    (0x2000, 0x206F),  # General Punctuation (dashes, quotes, bullets)
    (0x20A0, 0x20CF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols (numero sign, degree signs, trade mark)
    (0x2212, 0x2212),  # minus sign
)
"""Code points the recogniser keeps with `ocr_charset="latin"`; the model's other classes are mostly CJK."""


class OcrReader(Protocol):
    """Reads the text lines of one page image."""

    def read(self, image: Image.Image) -> list[TextLine]:
        """Lines in reading order (top to bottom) with pixel boxes in the image's coordinates."""
        ...


def fast_params(settings: Settings) -> dict[str, Any]:
    """rapidocr settings of the fast reader: no angle classifier, capped detector, narrow recogniser inputs.

    With the OpenVINO backend (the default) the models run in bf16 on CPUs that compute it natively
    (AVX512-BF16 or AMX), which makes recognition about 1.5 times faster than onnxruntime's fp32 here, and in
    fp32 elsewhere. Short lines are padded to `ocr_rec_min_width` instead of rapidocr's 320 px, which
    saves a fifth of the recogniser's work on receipts, where most lines are short. onnxruntime's CPU
    memory arena stays off: it saved at most a few percent of CPU time and keeps about 150 MB more per worker.
    """
    params: dict[str, Any] = {
        "Global.use_cls": False,
        "Global.log_level": "error",
        "Det.limit_side_len": settings.ocr_det_side,
        "Det.limit_type": "max",
        "Rec.rec_batch_num": settings.ocr_rec_batch,
        "Rec.rec_img_shape": [3, 48, settings.ocr_rec_min_width],
    }
    if settings.ocr_backend == "openvino":
        from rapidocr import EngineType

        return params | {
            "Det.engine_type": EngineType.OPENVINO,
            "Rec.engine_type": EngineType.OPENVINO,
            "EngineConfig.openvino.inference_num_threads": settings.ocr_threads,
            "EngineConfig.openvino.num_streams": 1,
        }
    return params | {
        "EngineConfig.onnxruntime.intra_op_num_threads": settings.ocr_threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }


class OpenVinoSession:
    """One OCR model compiled by OpenVINO with a bounded shape cache; inputs padded to a width step.

    OpenVINO compiles and caches kernels per input shape. Recogniser inputs are as wide as the widest line
    of their batch, so without padding nearly every batch has a new shape and memory grows with each one.
    Padding on the right with zeros is what rapidocr already does for the shorter lines of a batch: the
    recogniser reads the padding as blank.
    """

    def __init__(self, model: Any, threads: int, width_step: int = 1, precision: str = "auto") -> None:
        """Compile `model` (an openvino.Model) for the CPU with `threads` inference threads.

        `precision` "f32" or "bf16" fixes the inference precision; "auto" leaves OpenVINO's choice (bf16 on
        CPUs with AVX512-BF16 or AMX, f32 elsewhere).
        """
        import openvino

        core = openvino.Core()
        # Pinning off: each worker process would otherwise pin its thread to the same first core.
        properties: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "ENABLE_CPU_PINNING": False,
                                      "CPU_RUNTIME_CACHE_CAPACITY": OPENVINO_SHAPE_CACHE}
        if precision != "auto":
            if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
                raise ConfigError("WORKBENCH_OCR_PRECISION=bf16: this CPU does not compute bf16 natively (it needs "
                                  "AVX512-BF16 or AMX); use auto or f32")
            properties["INFERENCE_PRECISION_HINT"] = precision
        core.set_property("CPU", properties)
        self._request = core.compile_model(model, "CPU").create_infer_request()
        self._width_step = width_step

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on an NCHW batch; the output stays valid until the next call."""
        width = batch.shape[3]
        padded = -(-width // self._width_step) * self._width_step
        if padded != width:
            batch = np.pad(batch, ((0, 0), (0, 0), (0, 0), (0, padded - width)))
        self._request.infer([batch])
        return self._request.get_output_tensor().data


def computed_precision(settings: Settings) -> str:
    """The float precision the OCR models run in under `settings`: "bf16" or "f32" ("auto" resolved)."""
    if settings.ocr_backend == "onnxruntime":
        return "f32"
    if settings.ocr_precision != "auto":
        return settings.ocr_precision
    import openvino

    return "bf16" if "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


def describe(settings: Settings) -> str:
    """The OCR configuration in words, for every printed figure: backend, precision computed, the setting."""
    return (f"OCR {settings.ocr_backend} {computed_precision(settings)} (WORKBENCH_OCR_PRECISION="
            f"{settings.ocr_precision}), charset {settings.ocr_charset}")


def float32_det_preprocess(limit_side_len: int, limit_type: str, mean: list[float], std: list[float]) -> Any:
    """rapidocr's detector preprocessing (resize to 32-px steps, normalise, NCHW) computed in float32.

    rapidocr's own normalises through float64 arrays: 9 ms of a receipt's CPU time instead of 4.
    """
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    class Float32DetPreProcess(DetPreProcess):
        def __call__(self, img: np.ndarray) -> np.ndarray | None:
            resized = self.resize(img)
            if resized is None:
                return None
            scale = (self.scale / self.std).astype(np.float32)
            offset = (self.mean / self.std).astype(np.float32)
            return np.ascontiguousarray((resized.astype(np.float32) * scale - offset).transpose(2, 0, 1))[None]

    return Float32DetPreProcess(limit_side_len, limit_type, mean, std)


def import_runtimes() -> None:
    """Import rapidocr and OpenVINO (about a second of CPU), so processes forked afterwards start without it."""
    import openvino  # noqa: F401
    from rapidocr import RapidOCR  # noqa: F401


def is_latin(character: str) -> bool:
    """Whether every code point of a recogniser class lies in LATIN_RANGES."""
    return all(any(low <= ord(point) <= high for low, high in LATIN_RANGES) for point in character)


def _producer(node: Any) -> Any:
    """The operation whose output feeds `node`'s first input, looking through Identity operations.

    A node without inputs (a model's parameter) is its own producer.
    """
    if node.get_input_size() == 0:
        return node
    source = node.input_value(0).get_node()
    while source.get_type_name() == "Identity":
        source = source.input_value(0).get_node()
    return source


def restricted_recogniser(model: Any, characters: list[str], keep: list[int]) -> tuple[Any, list[str]]:
    """The recogniser with its output layer cut to the classes `keep` (CTC blank first), and their characters.

    PP-OCR's recogniser ends in MatMul -> Add (bias) -> Softmax over 18 710 classes; that layer and its
    softmax are a fifth of the recogniser's work on a receipt. The cut model computes the same logits for
    the kept classes and a softmax over them only.
    """
    import openvino
    from openvino import opset13

    softmax = _producer(model.get_results()[0])
    bias_add = _producer(softmax)
    matmul = _producer(bias_add)
    kinds = (softmax.get_type_name(), bias_add.get_type_name(), matmul.get_type_name())
    if kinds != ("Softmax", "Add", "MatMul") or keep[0] != 0:
        raise EngineError(f"the OCR recogniser's output layer is not the expected MatMul, Add, Softmax ({kinds}):"
                          " set WORKBENCH_OCR_CHARSET=all")
    weights = matmul.input_value(1).get_node().get_data()
    bias = bias_add.input_value(1).get_node().get_data()
    logits = opset13.add(opset13.matmul(matmul.input_value(0), opset13.constant(np.ascontiguousarray(weights[:, keep])),
                                        False, False), opset13.constant(bias[keep]))
    cut = openvino.Model([opset13.softmax(logits, -1).output(0)], model.get_parameters(), "recogniser")
    return cut, [characters[index] for index in keep]


def _recompile_for_openvino(engine: Any, settings: Settings) -> None:
    """Give rapidocr's detector and recogniser OpenVINO sessions with a bounded cache and padded widths.

    rapidocr (pinned at 3.10.0) passes only a few OpenVINO properties through and loads its models on
    first use; both stages are loaded here and their sessions replaced by ones compiled from the same models,
    the recogniser's cut to Latin output classes unless `settings.ocr_charset` is "all".
    """
    detector, recogniser = engine._load_det_model(), engine._load_rec_model()
    detector.session = OpenVinoSession(detector.session.model, settings.ocr_threads,
                                       precision=settings.ocr_precision)
    preprocess = float32_det_preprocess(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)
    detector.get_preprocess = lambda: preprocess
    model = recogniser.session.model
    if settings.ocr_charset == "latin":
        decoder = recogniser.postprocess_op
        keep = [index for index, character in enumerate(decoder.character) if index == 0 or is_latin(character)]
        model, decoder.character = restricted_recogniser(model, decoder.character, keep)
        decoder.dict = {character: index for index, character in enumerate(decoder.character)}
    recogniser.session = OpenVinoSession(model, settings.ocr_threads, REC_WIDTH_STEP, settings.ocr_precision)


def confident_chars(lines: list[TextLine]) -> int:
    """Characters in lines that run across the page and were read with a score of at least CONFIDENT_SCORE.

    rapidocr also reads lines that run down the page (it turns tall crops), so a sideways page can be
    read confidently; only lines running across count, which makes the upright turn win.
    """
    return sum(len(line.text) for line in lines
               if line.score >= CONFIDENT_SCORE and line.bbox[2] - line.bbox[0] >= line.bbox[3] - line.bbox[1])


def looks_upright(lines: list[TextLine]) -> bool:
    """Whether most of the characters read were read confidently in lines across the page (upright)."""
    return confident_chars(lines) >= UPRIGHT_SHARE * sum(len(line.text) for line in lines) > 0


def _unturned(box: tuple[float, float, float, float], turn: Image.Transpose,
              width: int, height: int) -> tuple[float, float, float, float]:
    """A box found on the turned image, in the pixels of the original `width` x `height` image."""
    x0, y0, x1, y1 = box
    if turn is Image.Transpose.ROTATE_180:
        return width - x1, height - y1, width - x0, height - y0
    if turn is Image.Transpose.ROTATE_90:  # counter-clockwise: original (x, y) lands on (y, width - x)
        return width - y1, x0, width - y0, x1
    # ROTATE_270, clockwise: original (x, y) lands on (height - y, x)
    return y0, height - x1, y1, height - x0


def _reading_order(line: TextLine) -> tuple[float, float]:
    return line.bbox[1], line.bbox[0]


class RapidOcrReader:
    """rapidocr tuned for throughput on CPU; orientation is judged from the upright read, without a classifier.

    A page whose upright read has too few confident characters (an upside-down or sideways scan) is read
    again turned by 180, 90 and 270 degrees, and the turn with the most confidently read characters wins;
    its lines keep the turned page's reading order, with boxes mapped back into the original image's
    pixels. Upright pages cost one read.
    """

    def __init__(self, settings: Settings, params: dict[str, Any] | None = None) -> None:
        from rapidocr import RapidOCR

        if settings.ocr_backend == "onnxruntime" and settings.ocr_precision == "bf16":
            raise ConfigError("WORKBENCH_OCR_PRECISION=bf16 needs WORKBENCH_OCR_BACKEND=openvino: onnxruntime "
                              "computes the OCR models in f32 only")
        try:
            self._engine = RapidOCR(params=fast_params(settings) if params is None else params)
            if params is None and settings.ocr_backend == "openvino":
                _recompile_for_openvino(self._engine, settings)
        except ConfigError:
            raise
        except Exception as error:  # rapidocr raises plain exceptions for missing models or bad settings
            raise EngineError(f"the OCR engine could not start: {error}") from error
        # onnxruntime sessions are thread-safe, but rapidocr keeps per-call state in its pipeline objects.
        self._lock = threading.Lock()
        self.turned_pages = 0
        """Pages this reader read turned (not upright)."""

    @classmethod
    def library_defaults(cls, settings: Settings) -> "RapidOcrReader":
        """rapidocr as `RapidOCR()` comes (angle classifier on, default threads; only its log kept quiet).

        The reference the speed bench measures the fast settings against.
        """
        return cls(settings, params={"Global.log_level": "error"})

    def _lines(self, image: Image.Image) -> list[TextLine]:
        with self._lock:
            result = self._engine(np.ascontiguousarray(np.asarray(image)[:, :, ::-1]))
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes.tolist(), result.txts, result.scores):
            xs = [point[0] for point in box]
            ys = [point[1] for point in box]
            lines.append(TextLine(text=text, bbox=(min(xs), min(ys), max(xs), max(ys)),
                                  score=min(max(float(score), 0.0), 1.0)))
        return sorted(lines, key=_reading_order)

    def read(self, image: Image.Image) -> list[TextLine]:
        """OCR one page image; lines sorted top to bottom, then left to right, as the text runs."""
        rgb = image.convert("RGB")
        lines = self._lines(rgb)
        if looks_upright(lines):
            return lines
        best, best_turn = lines, None
        for turn in _TURNS:
            turned = self._lines(rgb.transpose(turn))
            if confident_chars(turned) > confident_chars(best):
                best, best_turn = turned, turn
        if best_turn is None:
            return best
        self.turned_pages += 1
        width, height = rgb.size
        return [line.model_copy(update={"bbox": _unturned(line.bbox, best_turn, width, height)}) for line in best]
