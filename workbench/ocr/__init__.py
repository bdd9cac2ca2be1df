"""Optical character recognition: page images in, text lines with boxes and scores out."""

from workbench.ocr.rapid import OcrReader, RapidOcrReader

__all__ = ["OcrReader", "RapidOcrReader"]
