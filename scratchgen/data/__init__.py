"""Datasets, all available offline: 2D toys, digits and MNIST images, character text. Pure NumPy.

Entry point: `load_dataset(name, ...)`; `DATASETS` / `list_datasets()` describe the names.
"""

from scratchgen.data.errors import DataError
from scratchgen.data.images import read_idx
from scratchgen.data.loader import batches, text_batches
from scratchgen.data.mixtures import GRID25, MOONS, RING8, SWISSROLL, Mixture2D, Moons2D, SwissRoll2D
from scratchgen.data.registry import DATASETS, Dataset, DatasetInfo, list_datasets, load_dataset
from scratchgen.data.text import CharTokenizer

__all__ = [
    "DATASETS",
    "GRID25",
    "MOONS",
    "RING8",
    "SWISSROLL",
    "CharTokenizer",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Mixture2D",
    "Moons2D",
    "SwissRoll2D",
    "batches",
    "list_datasets",
    "load_dataset",
    "read_idx",
    "text_batches",
]
