"""The autoencoder's architecture (as plain data) and its NumPy forward pass and Jacobian.

Training builds this architecture in Keras (``aefeat.keras_backend.build``); everything after training
(encode, inspect, the scikit-learn transformer) runs it here from the stored weights, so those
paths never import TensorFlow.

Each half (encoder, decoder) is ``out_act(linear(x) + nonlinear(x))`` where ``linear`` is one
dense layer (present when ``linear_path`` is on) and ``nonlinear`` is the hidden stack followed by
a dense layer to the output size. Layer names are shared with the Keras model and the weights file.
The decoder's ``out_act`` may be ``sigmoid_mix`` (:func:`sigmoid_mix`), which has a weight of its
own per column, ``decoder_output/alpha``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aefeat.errors import AefeatError

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_LEAKY_SLOPE = 0.2  # Keras' default negative_slope for "leaky_relu"
# sigmoid_mix's sigmoid is sigmoid(MIX_SLOPE * (u - 0.5)): slope 1 at the middle of the MinMax
# range, where it meets the identity, and bounded by 0 and 1, the range of the training data.
MIX_SLOPE = 4.0
MIX_WEIGHT = "decoder_output/alpha"
ERROR_BLOCK = 4096  # rows scored at a time by row_errors


def sigmoid_mix(u: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``u + alpha * (sigmoid(MIX_SLOPE * (u - 0.5)) - u)``, per column: the identity where
    ``alpha`` is 0 (as training starts, so the PCA start is exact), a sigmoid that saturates at
    the column's bounds where it is 1. Columns that pile up at their minimum or maximum (counts,
    shares, clipped or saturating readings) are reconstructed far better than by a sum of ReLU
    pieces: on the nonlinear benchmark data, half the error at 16 latent columns."""
    s = _sigmoid(u * u.dtype.type(MIX_SLOPE) - u.dtype.type(MIX_SLOPE / 2))
    return u + alpha * (s - u)


def _sigmoid_mix_grad(u: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    s = _sigmoid(u * MIX_SLOPE - MIX_SLOPE / 2)
    return 1.0 + alpha * (MIX_SLOPE * s * (1.0 - s) - 1.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-x)), in place: twice as fast as the tanh form on encode's hot path.
    # exp overflows to inf for x < -709, where the result is 0 as it should be.
    with np.errstate(over="ignore"):
        out = np.exp(-x)
    out += 1.0
    return np.reciprocal(out, out=out)


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(x).astype(x.dtype, copy=False)


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        return np.where(x > 0, x, x * x.dtype.type(_LEAKY_SLOPE))
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    if name == "selu":
        return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "silu":
        s = _sigmoid(x)
        s *= x
        return s
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0).astype(x.dtype)))
    if name == "softplus":
        return np.logaddexp(x, 0).astype(x.dtype, copy=False)
    raise AefeatError(f"unknown activation {name!r}", "metadata.json network")


def _act_grad(name: str, x: np.ndarray) -> np.ndarray:
    """Derivative of the activation at pre-activation ``x``."""
    if name == "linear":
        return np.ones_like(x)
    if name == "relu":
        return (x > 0).astype(x.dtype)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, _LEAKY_SLOPE).astype(x.dtype)
    if name == "elu":
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))).astype(x.dtype)
    if name == "selu":
        return _SELU_SCALE * np.where(x > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(x, 0)))
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "sigmoid":
        s = _sigmoid(x)
        return s * (1.0 - s)
    if name == "silu":
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if name == "gelu":
        cdf = 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))
        return cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    if name == "softplus":
        return _sigmoid(x)
    raise AefeatError(f"unknown activation {name!r}", "metadata.json network")


@dataclass(frozen=True)
class NetworkSpec:
    """What ``train`` builds: sizes, activations and whether the linear (PCA) path exists."""

    n_features: int
    latent_dim: int
    hidden: tuple[int, ...]
    activation: str
    latent_activation: str
    output_activation: str
    linear_path: bool

    def halves(self) -> dict[str, dict[str, Any]]:
        """Per half: input size, output size, hidden sizes (decoder mirrors the encoder)."""
        return {
            "encoder": {
                "n_in": self.n_features,
                "n_out": self.latent_dim,
                "hidden": self.hidden,
                "out_activation": self.latent_activation,
            },
            "decoder": {
                "n_in": self.latent_dim,
                "n_out": self.n_features,
                "hidden": tuple(reversed(self.hidden)),
                "out_activation": self.output_activation,
            },
        }

    def has_nonlinear(self) -> bool:
        return bool(self.hidden) or not self.linear_path

    def can_be_pca(self) -> bool:
        """See :func:`can_be_pca`."""
        return can_be_pca(self.linear_path, self.latent_activation, self.output_activation)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every weight array by name (``<layer>/kernel``, ``<layer>/bias``) and its shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        for half, h in self.halves().items():
            if self.linear_path:
                shapes[f"{half}_linear/kernel"] = (h["n_in"], h["n_out"])
                shapes[f"{half}_linear/bias"] = (h["n_out"],)
            n_prev = h["n_in"]
            for i, units in enumerate(h["hidden"]):
                shapes[f"{half}_hidden_{i}/kernel"] = (n_prev, units)
                shapes[f"{half}_hidden_{i}/bias"] = (units,)
                n_prev = units
            if self.has_nonlinear():
                shapes[f"{half}_nonlinear/kernel"] = (n_prev, h["n_out"])
                shapes[f"{half}_nonlinear/bias"] = (h["n_out"],)
        if self.output_activation == "sigmoid_mix":
            shapes[MIX_WEIGHT] = (self.n_features,)
        return shapes

    def to_json(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "latent_dim": self.latent_dim,
            "hidden": list(self.hidden),
            "activation": self.activation,
            "latent_activation": self.latent_activation,
            "output_activation": self.output_activation,
            "linear_path": self.linear_path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkSpec:
        return cls(
            n_features=int(data["n_features"]),
            latent_dim=int(data["latent_dim"]),
            hidden=tuple(int(u) for u in data["hidden"]),
            activation=str(data["activation"]),
            latent_activation=str(data["latent_activation"]),
            output_activation=str(data["output_activation"]),
            linear_path=bool(data["linear_path"]),
        )


def can_be_pca(linear_path: bool, latent_activation: str, output_activation: str) -> bool:
    """Whether some weights make a network PCA itself: a linear path, a linear latent layer, and
    an output that is the identity (``sigmoid_mix`` with its mix weights at 0). Only then does
    training start at PCA and may PCA be saved instead of the network."""
    return (
        linear_path
        and latent_activation == "linear"
        and output_activation in ("linear", "sigmoid_mix")
    )


class DenseNetwork:
    """The trained encoder and decoder as NumPy arrays, working in MinMax-scaled units.

    It computes in float64 by default, although Keras trains in float32: BLAS kernels sum in an
    order that depends on how many rows a call gets, so float32 results would change in the last
    bit with the chunk size. In float64 those differences vanish when the result is rounded to
    float32 for output, so ``encode`` writes the same bytes whatever its chunking.
    """

    def __init__(
        self, spec: NetworkSpec, weights: dict[str, np.ndarray], dtype: Any = np.float64
    ) -> None:
        expected = spec.weight_shapes()
        missing = sorted(set(expected) - set(weights))
        if missing:
            raise AefeatError("weights file lacks arrays " + ", ".join(missing), "weights.npz")
        for name, shape in expected.items():
            if tuple(weights[name].shape) != shape:
                raise AefeatError(
                    f"weight {name} has shape {tuple(weights[name].shape)}, expected {shape}",
                    "weights.npz",
                )
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.weights = {k: np.ascontiguousarray(weights[k], dtype=self.dtype) for k in expected}

    def _half(
        self, half: str, x: np.ndarray, w: dict[str, np.ndarray], keep: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Output of one half; with ``keep``, also the pre-activations needed for gradients."""
        spec = self.spec
        h = spec.halves()[half]
        trace: list[np.ndarray] = []
        out = None
        if spec.linear_path:
            out = x @ w[f"{half}_linear/kernel"] + w[f"{half}_linear/bias"]
        if spec.has_nonlinear():
            a = x
            for i in range(len(h["hidden"])):
                pre = a @ w[f"{half}_hidden_{i}/kernel"] + w[f"{half}_hidden_{i}/bias"]
                if keep:
                    trace.append(pre)
                a = _act(spec.activation, pre)
            nl = a @ w[f"{half}_nonlinear/kernel"] + w[f"{half}_nonlinear/bias"]
            out = nl if out is None else out + nl
        if keep:
            trace.append(out)
        if h["out_activation"] == "sigmoid_mix":
            return sigmoid_mix(out, w[MIX_WEIGHT]), trace
        return _act(h["out_activation"], out), trace

    def with_input_scaling(self, offset: np.ndarray, scale: np.ndarray) -> DenseNetwork:
        """The same network taking ``X`` where it took ``(X - offset) / scale``: the scaling is
        folded into the encoder's first layers, which saves a pass over every chunk."""
        weights = dict(self.weights)
        h = self.spec.halves()["encoder"]
        first = ["encoder_linear"] if self.spec.linear_path else []
        if self.spec.has_nonlinear():
            first.append("encoder_hidden_0" if h["hidden"] else "encoder_nonlinear")
        for layer in first:
            kernel = weights[f"{layer}/kernel"]
            weights[f"{layer}/kernel"] = kernel / scale[:, None]
            weights[f"{layer}/bias"] = weights[f"{layer}/bias"] - (offset / scale) @ kernel
        return DenseNetwork(self.spec, weights, dtype=self.dtype)

    def encode(self, X_scaled: np.ndarray) -> np.ndarray:
        return self._half("encoder", np.asarray(X_scaled, dtype=self.dtype), self.weights)[0]

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return self._half("decoder", np.asarray(Z, dtype=self.dtype), self.weights)[0]

    def reconstruction_error(self, X_scaled: np.ndarray) -> np.ndarray:
        """Per-row mean squared error in scaled units (see :func:`row_errors`)."""
        return row_errors(lambda x: self.decode(self.encode(x)), X_scaled)

    def jacobian(self, half: str, x: np.ndarray) -> np.ndarray:
        """d output / d input for each row: shape (rows, n_out, n_in), by a closed-form backward pass."""
        x = np.asarray(x, dtype=np.float64)
        w = {k: v.astype(np.float64) for k, v in self.weights.items()}
        spec = self.spec
        h = spec.halves()[half]
        _, trace = self._half(half, x, w, keep=True)
        if h["out_activation"] == "sigmoid_mix":
            d_out = _sigmoid_mix_grad(trace[-1], w[MIX_WEIGHT])  # (n, n_out)
        else:
            d_out = _act_grad(h["out_activation"], trace[-1])
        jac = np.zeros((x.shape[0], h["n_out"], h["n_in"]))
        if spec.linear_path:
            jac += d_out[:, :, None] * w[f"{half}_linear/kernel"].T[None]
        if spec.has_nonlinear():
            g = d_out[:, :, None] * w[f"{half}_nonlinear/kernel"].T[None]  # (n, n_out, units)
            for i in reversed(range(len(h["hidden"]))):
                g = g * _act_grad(spec.activation, trace[i])[:, None, :]
                g = g @ w[f"{half}_hidden_{i}/kernel"].T
            jac += g
        return jac


def row_errors(reconstruct: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """Each row's mean squared error of ``reconstruct`` (rows in, their reconstruction out),
    in float64, ``ERROR_BLOCK`` rows at a time: the hidden layers of 50,000 validation rows at
    once took 200 MB, the peak of training on a million rows."""
    out = np.empty(len(X))
    for start in range(0, len(X), ERROR_BLOCK):
        x = np.asarray(X[start : start + ERROR_BLOCK], dtype=np.float64)
        diff = reconstruct(x) - x
        out[start : start + len(x)] = np.mean(diff * diff, axis=1)
    return out
