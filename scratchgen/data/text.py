"""Character-level text: the pydoc topics text shipped with Python, or any UTF-8 file.

A text becomes int64 token ids over a character vocabulary (the sorted distinct characters of the whole text,
so the test split never holds a character the model cannot name). The split is fixed: the first 90% of the
characters train, the last 10% test, as in nanoGPT's shakespeare_char.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchgen.data.errors import DataError

TRAIN_FRACTION = 0.9
PYDOC_SEPARATOR = "\n\n"  # between topics, so one topic's last line never runs into the next one's title


@dataclass(frozen=True)
class CharTokenizer:
    """Characters <-> ids, id = position of the character in the sorted vocabulary."""

    vocab: list[str]  # sorted distinct characters
    char_to_id: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "char_to_id", {ch: i for i, ch in enumerate(self.vocab)})

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(sorted(set(text)))

    def encode(self, text: str) -> np.ndarray:
        try:
            return np.array([self.char_to_id[ch] for ch in text], dtype=np.int64)  # (len(text),)
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary of {len(self.vocab)}") from None

    def decode(self, ids) -> str:
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            raise ValueError(f"token ids must lie in [0, {len(self.vocab)}), got [{ids.min()}, {ids.max()}]")
        return "".join(self.vocab[i] for i in ids.reshape(-1).tolist())


def pydoc_text() -> str:
    """The pydoc topics help text (about 465k characters, about 100 distinct), topics in sorted key order."""
    from pydoc_data.topics import topics  # part of the standard library, always present offline

    return PYDOC_SEPARATOR.join(topics[key] for key in sorted(topics))


def pydoc_source() -> str:
    return f"pydoc_data.topics of Python {sys.version_info.major}.{sys.version_info.minor}"


def read_text_file(path: str | os.PathLike) -> str:
    """A whole UTF-8 text file; DataError naming the file when missing, empty or not valid UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such text file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not valid UTF-8 (byte {err.start}: {err.reason})") from None
    if not text:
        raise DataError(f"{path}: text file is empty")
    return text


def split_text(text: str, origin: str) -> tuple[str, str]:
    """The fixed (first 90%, last 10%) split; DataError if either part would be empty."""
    cut = int(len(text) * TRAIN_FRACTION)
    if cut == 0 or cut == len(text):
        raise DataError(f"{origin}: text of {len(text)} characters is too short to split 90/10 into train and test")
    return text[:cut], text[cut:]
