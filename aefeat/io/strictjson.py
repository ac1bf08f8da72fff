"""Strict JSON for everything aefeat writes (metadata.json, ``inspect --json``): NaN and
infinities become ``null``, NumPy scalars plain numbers, and the dump refuses anything else."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None and NumPy scalars as Python numbers."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = 2) -> str:
    """``value`` as strict JSON text (never ``NaN`` or ``Infinity``)."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)
