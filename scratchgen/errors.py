"""The exceptions scratchgen raises. Each message says what was wrong and what was expected."""


class ScratchgenError(Exception):
    """Base class of every error scratchgen raises on purpose."""


class ShapeError(ScratchgenError, ValueError):
    """Operands whose shapes do not fit the operation (the message names the op and the shapes)."""


class DeviceError(ScratchgenError, RuntimeError):
    """A device that is not available, or tensors on different devices mixed in one op."""


class GraphError(ScratchgenError, RuntimeError):
    """Misuse of the autograd graph: a freed graph, backward of a non-scalar without a gradient, ..."""


class CheckpointError(ScratchgenError, ValueError):
    """A file that is not a readable scratchgen checkpoint."""


class IndexOutOfRangeError(ShapeError, IndexError):
    """An index past the end of an axis (an IndexError too, so `for row in tensor` stops)."""
