"""The NumPy network that encode and inspect run: forward pass equal to the exported Keras models,
and the closed-form Jacobian equal to finite differences. Random weights, no training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aefeat.core.config import ACTIVATIONS
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.core.prepare import Scaler

N_FEATURES, LATENT = 6, 3
SHAPES = [(True, (7, 5)), (False, (7, 5)), (True, ()), (False, ())]


def _spec(activation: str, linear_path: bool, hidden: tuple[int, ...]) -> NetworkSpec:
    # The activation under test is used in every role: hidden, latent and output layers.
    return NetworkSpec(
        n_features=N_FEATURES,
        latent_dim=LATENT,
        hidden=hidden,
        activation=activation,
        latent_activation=activation,
        output_activation=activation,
        linear_path=linear_path,
    )


def _random_weights(spec: NetworkSpec, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.normal(scale=0.7, size=shape).astype(np.float32)
        for name, shape in spec.weight_shapes().items()
    }


@pytest.mark.parametrize(
    ("activation", "linear_path", "hidden"),
    [(a, lp, h) for a, (lp, h) in itertools.product(ACTIVATIONS, SHAPES)],
)
def test_numpy_forward_pass_equals_keras_export(activation, linear_path, hidden):
    from aefeat.keras_backend.build import export_models

    spec = _spec(activation, linear_path, hidden)
    weights = _random_weights(spec)
    rng = np.random.default_rng(1)
    lo = rng.uniform(-3, 3, N_FEATURES)
    scaler = Scaler(lo, lo + rng.uniform(0.5, 4, N_FEATURES))
    encoder, decoder = export_models(spec, weights, scaler)
    net = DenseNetwork(spec, weights)

    X = rng.uniform(scaler.data_min - 0.5, scaler.data_max + 0.5, (64, N_FEATURES))
    X = X.astype(np.float32)
    Z_keras = np.asarray(encoder(X))
    Z_numpy = net.encode(scaler.transform(X))
    np.testing.assert_allclose(Z_numpy, Z_keras, rtol=1e-5, atol=1e-5)

    Z = rng.normal(size=(64, LATENT)).astype(np.float32)
    recon_keras = np.asarray(decoder(Z))
    recon_numpy = scaler.inverse_transform(net.decode(Z))
    np.testing.assert_allclose(recon_numpy, recon_keras, rtol=1e-5, atol=1e-5)


def _pre_activations(net: DenseNetwork, half: str, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's input to its activation, computed here from the weights (Keras'
    activations), to keep test points away from kinks."""
    import keras

    spec, w = net.spec, net.weights
    act = keras.activations.get(spec.activation)
    pre, a = [], x
    for i in range(len(spec.halves()[half]["hidden"])):
        pre.append(a @ w[f"{half}_hidden_{i}/kernel"] + w[f"{half}_hidden_{i}/bias"])
        a = np.asarray(act(pre[-1]))
    out = 0.0
    if spec.linear_path:
        out = x @ w[f"{half}_linear/kernel"] + w[f"{half}_linear/bias"]
    if spec.has_nonlinear():
        out = out + a @ w[f"{half}_nonlinear/kernel"] + w[f"{half}_nonlinear/bias"]
    return [*pre, out]


@pytest.mark.parametrize(
    ("activation", "linear_path", "hidden"),
    [(a, lp, h) for a, (lp, h) in itertools.product(ACTIVATIONS, SHAPES)],
)
@pytest.mark.parametrize("half", ["encoder", "decoder"])
def test_jacobian_equals_central_finite_differences(activation, linear_path, hidden, half):
    spec = _spec(activation, linear_path, hidden)
    net = DenseNetwork(spec, _random_weights(spec, seed=2), dtype=np.float64)
    n_in = spec.n_features if half == "encoder" else spec.latent_dim
    forward = net.encode if half == "encoder" else net.decode
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1.5, (200, n_in))
    eps = 1e-6
    # relu and leaky_relu have a kink at 0: keep rows whose pre-activations stay clear of it,
    # so that the finite difference does not straddle the kink.
    margin = 1e3 * eps
    clear = np.all([np.all(np.abs(p) > margin, axis=1) for p in _pre_activations(net, half, x)], 0)
    x = x[clear][:40]
    assert len(x) >= 10

    jac = net.jacobian(half, x)
    assert jac.shape == (len(x), spec.halves()[half]["n_out"], n_in)
    numeric = np.empty_like(jac)
    for j in range(n_in):
        step = np.zeros(n_in)
        step[j] = eps
        numeric[:, :, j] = (forward(x + step) - forward(x - step)) / (2 * eps)
    np.testing.assert_allclose(jac, numeric, rtol=1e-5, atol=1e-6)


def test_jacobian_of_linear_model_is_the_kernel():
    spec = NetworkSpec(5, 2, (), "linear", "linear", "linear", True)
    weights = _random_weights(spec)
    net = DenseNetwork(spec, weights)
    jac = net.jacobian("encoder", np.random.default_rng(0).normal(size=(4, 5)))
    np.testing.assert_allclose(jac, np.broadcast_to(weights["encoder_linear/kernel"].T, jac.shape))


def _mix_spec(linear_path: bool, hidden: tuple[int, ...]) -> NetworkSpec:
    return NetworkSpec(N_FEATURES, LATENT, hidden, "tanh", "linear", "sigmoid_mix", linear_path)


def _mix_weights(spec: NetworkSpec) -> dict[str, np.ndarray]:
    weights = _random_weights(spec, seed=4)
    # Mix weights on both sides of 0 and 1: the identity, the sigmoid and beyond either.
    weights["decoder_output/alpha"] = np.linspace(-0.5, 1.5, N_FEATURES).astype(np.float32)
    return weights


@pytest.mark.parametrize(("linear_path", "hidden"), SHAPES)
def test_sigmoid_mix_output_equals_keras_training_and_exported_models(linear_path, hidden):
    from aefeat.keras_backend import build

    spec = _mix_spec(linear_path, hidden)
    weights = _mix_weights(spec)
    assert spec.weight_shapes()["decoder_output/alpha"] == (N_FEATURES,)
    rng = np.random.default_rng(5)
    scaler = Scaler(np.zeros(N_FEATURES), np.full(N_FEATURES, 2.0))
    net = DenseNetwork(spec, weights)
    X = rng.uniform(-0.5, 1.5, (64, N_FEATURES)).astype(np.float32)
    expected = net.decode(net.encode(X))
    # The model training runs (a layer with trainable mix weights) ...
    layers = build.build_layers(spec)
    model = build.build_autoencoder(spec, layers)
    build.set_weights(layers, weights)
    np.testing.assert_allclose(np.asarray(model(X)), expected, rtol=1e-5, atol=1e-5)
    assert build.get_weights(layers).keys() == weights.keys()
    # ... and the exported decoder (Keras' own layers, the mix weights built in).
    encoder, decoder = build.export_models(spec, weights, scaler)
    raw = scaler.inverse_transform(X)
    np.testing.assert_allclose(
        np.asarray(decoder(encoder(raw))), scaler.inverse_transform(expected), rtol=1e-5, atol=1e-5
    )


def test_sigmoid_mix_is_the_identity_at_zero_and_bounded_at_one():
    from aefeat.core.network import sigmoid_mix

    u = np.linspace(-3, 4, 50)
    np.testing.assert_array_equal(sigmoid_mix(u, np.zeros_like(u)), u)
    s = sigmoid_mix(u, np.ones_like(u))
    assert np.all((s > 0) & (s < 1))
    # At the middle of the MinMax range the sigmoid meets the identity, with the same slope.
    assert sigmoid_mix(np.array([0.5]), np.ones(1))[0] == pytest.approx(0.5)
    slope = sigmoid_mix(np.array([0.501]), np.ones(1)) - sigmoid_mix(np.array([0.499]), np.ones(1))
    assert slope[0] / 0.002 == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize(("linear_path", "hidden"), SHAPES)
def test_sigmoid_mix_jacobian_equals_central_finite_differences(linear_path, hidden):
    spec = _mix_spec(linear_path, hidden)
    net = DenseNetwork(spec, _mix_weights(spec), dtype=np.float64)
    z = np.random.default_rng(6).normal(size=(20, LATENT))
    jac = net.jacobian("decoder", z)
    eps = 1e-6
    numeric = np.empty_like(jac)
    for j in range(LATENT):
        step = np.zeros(LATENT)
        step[j] = eps
        numeric[:, :, j] = (net.decode(z + step) - net.decode(z - step)) / (2 * eps)
    np.testing.assert_allclose(jac, numeric, rtol=1e-5, atol=1e-6)


def test_reconstruction_error_is_per_row_over_blocks_of_rows():
    # More rows than one block, not a multiple of it: every row scored once, in its place.
    from aefeat.core.network import ERROR_BLOCK

    spec = _spec("tanh", True, (7, 5))
    net = DenseNetwork(spec, _random_weights(spec))
    X = np.random.default_rng(1).uniform(size=(2 * ERROR_BLOCK + 123, N_FEATURES))
    X[ERROR_BLOCK + 7] = 5.0  # one row far off, found where it is
    diff = net.decode(net.encode(X)) - X
    errors = net.reconstruction_error(X.astype(np.float32))
    np.testing.assert_allclose(errors, np.mean(diff * diff, axis=1), rtol=1e-5)
    assert int(np.argmax(errors)) == ERROR_BLOCK + 7
