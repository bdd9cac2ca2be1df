"""Optical character recognition: page images in, text lines with boxes and scores out."""

from workbench.ocr.rapid import OcrReader, RapidOcrReader, computed_precision, describe

__all__ = ["OcrReader", "RapidOcrReader", "computed_precision", "describe"]
