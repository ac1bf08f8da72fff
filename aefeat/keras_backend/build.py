"""Keras functional models for the autoencoder: the layers, the training model and the exported
``encoder.keras`` / ``decoder.keras`` (raw units in and out, MinMax scaling built in)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings
from pathlib import Path


def _own_process() -> bool:
    """Whether this process is an aefeat command (``LEAN_IMPORT``), not a Python caller's."""
    from aefeat import keras_backend

    return keras_backend.LEAN_IMPORT


@contextlib.contextmanager
def _stderr_silenced():
    """Point fd 2 at /dev/null while TensorFlow is first imported, then restore it.

    TensorFlow 2.21's C++ start-up prints "WARNING: All log messages before
    absl::InitializeLog() ..." and a oneDNN "I0000 ..." line at import even with
    TF_CPP_MIN_LOG_LEVEL=3 set before it. TF_ENABLE_ONEDNN_OPTS=0 would also remove them, but it
    changes the kernels (and so the numbers) training uses; redirecting fd 2 changes nothing but
    what reaches the terminal. Python errors from the import still raise normally; only what the
    C++ side writes during the import is lost, which is why --debug (AEFEAT_DEBUG) skips this,
    and why the Python API (whose caller may be writing to stderr from other threads) does too.
    """
    if (
        not _own_process()
        or "tensorflow" in sys.modules
        or os.environ.get("AEFEAT_DEBUG", "") not in ("", "0")
    ):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to silence
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _cpp_logs_off():
    """TF_CPP_MIN_LOG_LEVEL=3 while TensorFlow is first imported, unless the user set it.

    Later C++ log lines (CPU feature notes, tf.data attribute warnings) are noise on stderr
    for aefeat's users; real failures still raise Python exceptions. TensorFlow reads the level
    once, at its first log line during the import, so the variable is removed again afterwards:
    the caller's environment, and what their subprocesses inherit, stay as they were. --debug
    (AEFEAT_DEBUG) shows the lines. The command line only (``LEAN_IMPORT``): the level holds
    for the whole process, and a Python caller's TensorFlow must log as it always does."""
    if not _own_process():
        yield
        return
    quiet = os.environ.get("AEFEAT_DEBUG", "") in ("", "0") and "tensorflow" not in sys.modules
    if not quiet or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:
        yield
    finally:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)


@contextlib.contextmanager
def _lean_import():
    """With ``aefeat.keras_backend.LEAN_IMPORT``, import Keras without pandas, matplotlib and
    scikit-learn.

    Keras imports all three at import when they are installed (for DataFrame inputs to
    ``Model.fit``, image galleries and its scikit-learn wrappers): 0.45 s of every ``aefeat
    train`` for the first two, 0.6 s for scikit-learn, here, for features aefeat, which trains
    with a loop of its own, never uses. Blocked only while Keras is first imported, so later
    imports of these modules work as usual (only Keras' scikit-learn wrappers stay off in that
    process)."""
    from aefeat import keras_backend

    blocked = []
    if keras_backend.LEAN_IMPORT and "keras" not in sys.modules:
        blocked = [m for m in ("pandas", "matplotlib", "sklearn") if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # an ImportError for `import name`, which Keras tolerates
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused while Keras and TensorFlow are first imported.

    The import builds about 650,000 objects the collector tracks and leaves no cyclic garbage
    (``gc.collect()`` right after a normal import finds none), yet the collector walks those
    objects again and again while they are made: 0.75 s of a 3.3 s import here. With
    ``LEAN_IMPORT`` (a process of aefeat's own), they are then frozen out of later collections
    (``gc.freeze``), which would otherwise walk them all once more, 0.4 s into training. The
    Python API does not freeze: that would also exempt the caller's own objects from collection
    for the rest of their process."""
    from aefeat import keras_backend

    if "keras" in sys.modules or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if keras_backend.LEAN_IMPORT:
            gc.freeze()
        gc.enable()


@contextlib.contextmanager
def _python_random_kept():
    """Python's ``random`` generator as it was before TensorFlow's first import, which draws
    from it: a caller who seeded it and then fitted (the first fit imports TensorFlow) would
    otherwise get other numbers after the fit than without it."""
    import random

    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


with (
    _cpp_logs_off(),
    _stderr_silenced(),
    _lean_import(),
    _collector_paused(),
    _python_random_kept(),
):
    import keras

import numpy as np  # noqa: E402

from aefeat.core.network import MIX_SLOPE, MIX_WEIGHT, NetworkSpec  # noqa: E402
from aefeat.core.prepare import Scaler  # noqa: E402

NONLINEAR_INIT_STD = 0.05


class SigmoidMix(keras.layers.Layer):
    """The ``sigmoid_mix`` output of training (see :func:`aefeat.core.network.sigmoid_mix`):
    one weight per column, starting at 0 (the identity). The exported decoder computes the same
    with Keras' own layers, so that ``decoder.keras`` loads without aefeat."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="alpha")

    def call(self, u):
        s = keras.ops.sigmoid(MIX_SLOPE * u - MIX_SLOPE / 2)
        return u + self.alpha * (s - u)


def build_layers(spec: NetworkSpec) -> dict[str, keras.layers.Layer]:
    """Every trainable layer by name; the same objects serve the training and exported models."""
    layers: dict[str, keras.layers.Layer] = {}
    for half, h in spec.halves().items():
        if spec.linear_path:
            layers[f"{half}_linear"] = keras.layers.Dense(h["n_out"], name=f"{half}_linear")
        for i, units in enumerate(h["hidden"]):
            name = f"{half}_hidden_{i}"
            layers[name] = keras.layers.Dense(units, activation=spec.activation, name=name)
        if spec.has_nonlinear():
            # Next to the PCA-initialised linear path, a small random start: the untrained model
            # is PCA plus a perturbation (small at the encoder's output, larger after the
            # decoder standardizes PCA's weakest latent columns). At exactly zero the hidden
            # layers would get no gradient until this layer moved, and training would start on
            # a plateau.
            init = (
                keras.initializers.RandomNormal(stddev=NONLINEAR_INIT_STD)
                if spec.linear_path
                else "glorot_uniform"
            )
            layers[f"{half}_nonlinear"] = keras.layers.Dense(
                h["n_out"], kernel_initializer=init, name=f"{half}_nonlinear"
            )
    if spec.output_activation == "sigmoid_mix":
        layers["decoder_output"] = SigmoidMix(name="decoder_output")
    return layers


def _apply_half(
    spec: NetworkSpec,
    layers: dict,
    half: str,
    x,
    centering: dict | None = None,
    mix: np.ndarray | None = None,
    noise=None,
):
    h = spec.halves()[half]
    paths = []
    if spec.linear_path:
        paths.append(layers[f"{half}_linear"](x))
    if spec.has_nonlinear():
        a = x
        if centering is not None and half in centering:
            mean, scale = centering[half]
            a = keras.layers.Normalization(
                mean=mean.tolist(), variance=(scale**2).tolist(), name=f"{half}_centering"
            )(a)
        if noise is not None:
            a = keras.layers.Add(name=f"{half}_noisy")([a, noise])
        for i in range(len(h["hidden"])):
            a = layers[f"{half}_hidden_{i}"](a)
        paths.append(layers[f"{half}_nonlinear"](a))
    out = paths[0] if len(paths) == 1 else keras.layers.Add(name=f"{half}_sum")(paths)
    name = "latent" if half == "encoder" else "reconstruction_scaled"
    if h["out_activation"] != "sigmoid_mix":
        return keras.layers.Activation(h["out_activation"], name=name)(out)
    if mix is None:  # training: the mix weights are trained
        return layers["decoder_output"](out)
    # Exported: (1 - alpha) * u + alpha * sigmoid(MIX_SLOPE * u - MIX_SLOPE / 2), fixed alpha.
    s = keras.layers.Rescaling(MIX_SLOPE, -MIX_SLOPE / 2, name="mix_logit")(out)
    s = keras.layers.Activation("sigmoid", name="mix_sigmoid")(s)
    alpha = np.asarray(mix, dtype=np.float32)
    return keras.layers.Add(name=name)(
        [
            keras.layers.Rescaling(1.0 - alpha, name="mix_identity_part")(out),
            keras.layers.Rescaling(alpha, name="mix_sigmoid_part")(s),
        ]
    )


def build_autoencoder(
    spec: NetworkSpec, layers: dict, centering: dict | None = None, noise_input: bool = False
) -> keras.Model:
    """Scaled features in, scaled reconstruction out: the model that is trained.

    ``centering`` (half -> (mean, scale)) standardizes what enters each half's nonlinear path:
    columns of MinMax-scaled data sit around 0.5 with spreads that differ tenfold, and latent
    columns started from PCA have spreads as unequal as their variances. Standardized inputs
    train faster and stand higher learning rates. It is a fixed affine map, folded into the first
    nonlinear layer by :func:`get_weights`, so the saved network has no such layer.

    With ``noise_input`` (and a nonlinear path), the model takes ``[rows, noise]``: ``noise`` is
    added to the standardized rows entering the encoder's nonlinear path (the linear path and the
    loss see the clean rows), as in a denoising autoencoder. The training loop draws it."""
    x = keras.Input((spec.n_features,), name="features_scaled")
    noise = None
    if noise_input and spec.has_nonlinear():
        noise = keras.Input((spec.n_features,), name="encoder_noise")
    z = _apply_half(spec, layers, "encoder", x, centering, noise=noise)
    out = _apply_half(spec, layers, "decoder", z, centering)
    return keras.Model(x if noise is None else [x, noise], out, name="autoencoder")


def _scaling_layer(scaler: Scaler, invert: bool, name: str) -> keras.layers.Layer:
    return keras.layers.Normalization(
        mean=scaler.data_min.tolist(),
        variance=(scaler.data_range**2).tolist(),
        invert=invert,
        name=name,
    )


def build_encoder(spec: NetworkSpec, layers: dict, scaler: Scaler) -> keras.Model:
    """Raw feature columns in (in metadata order), latent values out."""
    x = keras.Input((spec.n_features,), name="features")
    z = _apply_half(spec, layers, "encoder", _scaling_layer(scaler, False, "minmax_scale")(x))
    return keras.Model(x, z, name="encoder")


def build_decoder(
    spec: NetworkSpec, layers: dict, scaler: Scaler, mix: np.ndarray | None = None
) -> keras.Model:
    """Latent values in, reconstructed features in raw units out (``mix``: the ``sigmoid_mix``
    weights, built in as constants)."""
    z = keras.Input((spec.latent_dim,), name="latent_in")
    x = _apply_half(spec, layers, "decoder", z, mix=mix)
    return keras.Model(z, _scaling_layer(scaler, True, "minmax_unscale")(x), name="decoder")


def get_weights(layers: dict, centering: dict | None = None) -> dict[str, np.ndarray]:
    """Layer weights as ``<layer>/kernel`` and ``<layer>/bias`` NumPy arrays, with ``centering``
    (see :func:`build_autoencoder`) folded into the first layer of each nonlinear path."""
    out = {}
    for name, layer in layers.items():
        if isinstance(layer, SigmoidMix):
            out[MIX_WEIGHT] = np.asarray(layer.get_weights()[0])
            continue
        kernel, bias = layer.get_weights()
        out[f"{name}/kernel"] = np.asarray(kernel)
        out[f"{name}/bias"] = np.asarray(bias)
    for half, (mean, scale) in (centering or {}).items():
        first = f"{half}_hidden_0" if f"{half}_hidden_0" in layers else f"{half}_nonlinear"
        kernel = out[f"{first}/kernel"].astype(np.float64)
        # W @ ((x - mean) / scale) + b == (W / scale) @ x + (b - W @ (mean / scale))
        out[f"{first}/bias"] = (out[f"{first}/bias"] - (mean / scale) @ kernel).astype(np.float32)
        out[f"{first}/kernel"] = (kernel / scale[:, None]).astype(np.float32)
    return out


def set_weights(layers: dict, weights: dict[str, np.ndarray]) -> None:
    for name, layer in layers.items():
        if isinstance(layer, SigmoidMix):
            layer.set_weights([weights[MIX_WEIGHT]])
        else:
            layer.set_weights([weights[f"{name}/kernel"], weights[f"{name}/bias"]])


def export_models(
    spec: NetworkSpec, weights: dict[str, np.ndarray], scaler: Scaler
) -> tuple[keras.Model, keras.Model]:
    """Fresh encoder and decoder Keras models carrying ``weights``."""
    layers = build_layers(spec)
    encoder = build_encoder(spec, layers, scaler)
    decoder = build_decoder(spec, layers, scaler, mix=weights.get(MIX_WEIGHT))
    layers.pop("decoder_output", None)  # built in as constants: not a layer of either model
    set_weights(layers, weights)
    return encoder, decoder


def save_models(
    spec: NetworkSpec,
    weights: dict[str, np.ndarray],
    scaler: Scaler,
    encoder_path: Path,
    decoder_path: Path,
) -> None:
    """Write the encoder and decoder of :func:`export_models` as ``.keras`` files."""
    encoder, decoder = export_models(spec, weights, scaler)
    with warnings.catch_warnings():
        # Keras' saving converts each variable with np.array(), which NumPy 2 answers with a
        # DeprecationWarning per variable (TensorFlow's __array__ takes no copy keyword): a
        # caller running with -W error would see save fail over a library's internals.
        warnings.filterwarnings(
            "ignore", message=r"__array__ implementation doesn't accept a copy keyword"
        )
        encoder.save(encoder_path)
        decoder.save(decoder_path)
