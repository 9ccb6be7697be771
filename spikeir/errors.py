"""Errors that users see. Each carries the place it refers to, so CLIs print `place: error: message`."""

from __future__ import annotations


class SpikeIRError(Exception):
    """Base of every user-facing error: bad input, not a bug in spikeir.

    ``location`` is the most precise place known: ``file:line:col``, ``line:col``, an op name, a
    layer name, or a byte offset in an image. CLIs print ``{location}: error: {message}``.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def with_location(self, location: str) -> SpikeIRError:
        """Prefix a more general place (such as a file name) to the location."""
        self.location = f"{location}:{self.location}" if self.location else location
        return self

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class TargetError(SpikeIRError):
    """An unknown target or an invalid target option."""


class AssemblyError(SpikeIRError):
    """Malformed SpikeCore assembly text."""


class ImageError(SpikeIRError):
    """A corrupt, truncated or incompatible binary program image."""


class ProgramError(SpikeIRError):
    """A program that is well-formed text/bytes but cannot run on its target (bad core id, ...)."""


class PlacementError(SpikeIRError):
    """A network that does not fit the target."""


class QuantizationError(SpikeIRError):
    """Calibration or quantization that cannot be done faithfully (NaN weights, no data, ...)."""


class FrontendError(SpikeIRError):
    """A model that a frontend cannot import (unsupported op, malformed Relay text, ...)."""


class DataError(SpikeIRError):
    """Missing or malformed data files (MNIST IDX, .npy inputs, calibration sets)."""


class InterpreterError(SpikeIRError):
    """IR that the numpy interpreter cannot evaluate (unsupported op, wrong input shape, ...)."""
