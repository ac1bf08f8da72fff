"""aefeat: learned features from tabular CSV data with a dense autoencoder."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["AefeatError", "AutoencoderTransformer", "__version__"]

from aefeat.errors import AefeatError


def __getattr__(name: str) -> Any:
    # Lazy, so that `aefeat --help` and `aefeat encode` never import scikit-learn or TensorFlow.
    if name == "AutoencoderTransformer":
        from aefeat.estimator import AutoencoderTransformer

        return AutoencoderTransformer
    raise AttributeError(f"module 'aefeat' has no attribute {name!r}")
