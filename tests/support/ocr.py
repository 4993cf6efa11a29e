"""Reading overlay text back from a received frame with tesseract (Debian's tesseract-ocr)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np

from tests.support.engines import tool


def read_band(rgb: Any, top: float, bottom: float, workdir: Path, *, lines: int = 1) -> str:
    """OCR the overlay text in the horizontal band [top, bottom) (fractions of the height).

    Overlays are white on a dark box, and the test pattern has no white of its own: white
    pixels are ink. The text is cropped to their bounding box, inverted and enlarged."""
    tool("tesseract", "tesseract (Debian: tesseract-ocr)")
    height = rgb.shape[0]
    band = rgb[int(top * height) : int(bottom * height)]
    white = band.min(axis=2) > 170
    rows, cols = np.nonzero(white)
    if rows.size == 0:
        return ""
    box = white[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    ink = np.where(box, 0, 255).astype(np.uint8)
    ink = np.pad(ink, 12, constant_values=255)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(ink), format="gray")
    frame = frame.reformat(width=ink.shape[1] * 3, height=ink.shape[0] * 3)
    path = workdir / f"ocr-{top:.2f}.png"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "gray"
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    result = subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "7" if lines == 1 else "6"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return " ".join(result.stdout.split())


def reads(expected: str, text: str, threshold: float = 0.85) -> bool:
    """Whether OCR ``text`` contains ``expected``, allowing a misread letter or two (tesseract
    sometimes reads "host" as "hest"): the best-matching window of the same length must be at
    least ``threshold`` similar, case and spacing ignored."""
    from difflib import SequenceMatcher

    want = " ".join(expected.lower().split())
    have = " ".join(text.lower().split())
    if len(have) < len(want):
        return SequenceMatcher(None, want, have).ratio() >= threshold
    return any(
        SequenceMatcher(None, want, have[i : i + len(want)]).ratio() >= threshold
        for i in range(len(have) - len(want) + 1)
    )
