"""Training: validation split, PCA start, a compiled training loop over a step budget (warm-up,
then cosine decay), a stopping rule on improvement per step and per second, and the final choice
between the trained network and PCA, made on validation rows."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aefeat.core.config import MIN_SELECTION_ROWS, TrainOptions, check_sizes, split_sizes
from aefeat.core.network import MIX_WEIGHT, DenseNetwork, NetworkSpec, row_errors
from aefeat.core.pca import MAX_COLUMNS, BlockPCA, largest_components
from aefeat.keras_backend import (
    build as model_mod,  # first: it quiets TensorFlow's start-up logging
)
from aefeat.keras_backend.build import keras


class _OwnRetracingFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about this module's
    ``train_block``. Every fit compiles its own step for its own model and optimizer variables,
    which TensorFlow's heuristic counts as one function retraced in a loop after a few fits in
    one process (a grid search); the warning tells the user to change code they do not own.
    Retracing warnings about any other function still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "triggered tf.function retracing" in message
            and "_train_function.<locals>.train_block" in message
        )


logging.getLogger("tensorflow").addFilter(_OwnRetracingFilter())

# Called after each validation check with (steps done, planned steps, logs); for progress bars.
# logs carry loss, val_loss, and elapsed_s / max_time_s when a time budget is set.
EpochCallback = Callable[[int, int, dict[str, float]], None]

# The default budget: this many passes over the training rows, within [MIN_STEPS, MAX_STEPS]
# optimizer steps. The upper bound is what makes cost stop growing with rows.
BUDGET_PASSES = 60
MIN_STEPS = 2000
MAX_STEPS = 12_000
WARMUP_SHARE = 0.05
# The stopping rule: when the best validation loss has not dropped by MIN_GAIN (relative) over
# the last PLATEAU_SHARE of the steps so far (and at least `patience` checks), the learning rate
# anneals to zero over ANNEAL_SHARE of the steps so far, and training ends.
MIN_GAIN = 0.005
PLATEAU_SHARE = 0.3
# ... but not before this share of the plan: a network started next to PCA can sit on a plateau
# for a while before it finds the nonlinear structure.
EARLIEST_STOP = 0.6
ANNEAL_SHARE = 0.2
# ... and when no check has been below PCA's validation loss after this share of the plan (and
# `patience` checks), the network is not going to be kept: end there and keep PCA. Where PCA
# already leaves only noise (traffic at 16 latent columns), this saved 70% of the training.
NO_GAIN_SHARE = 0.3
# Declaring the network better than PCA: a paired one-sided t-test at this level on the per-row
# gains over the validation rows: strict on small validation sets, where the best of many checks
# can look better than PCA by chance.
SELECTION_LEVEL = 0.95
# Validation rows at most (as when streaming): checks cost time in proportion.
MAX_VALIDATION_ROWS = 50_000
# input_noise="auto": this spread up to AUTO_NOISE_ROWS training rows, then falling as one over
# the square root of the rows. Noise acts as a penalty growing with its variance, and the penalty
# a table needs falls as one over its rows. With 0.2 at every size, held-out error was 5% to 9%
# higher than without noise at 200,000 rows (4 and 16 latent columns); with this rule, the same
# at 4 columns and 0.2% lower at 16. (At 4 columns results moved by up to 10% with small changes
# of the spread or the seed; the 16-column figures were steadier. README, "How training works".)
AUTO_NOISE = 0.2
AUTO_NOISE_ROWS = 16_000
# The noise comes from a fixed bank of rows drawn once, each half-batch taking a run of rows at a
# random offset: drawing fresh normal values in every step cost 0.3 ms of a 0.8 ms step here.
NOISE_BANK_ROWS = 8192
NOISE_BANK_VALUES = 1 << 22  # 16 MB at most, for wide tables


@dataclass
class TrainResult:
    spec: NetworkSpec
    weights: dict[str, np.ndarray]
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    batch_size: int
    n_train: int
    n_val: int
    val_mse: float
    train_mse: float
    pca_val_mse: float
    pca_explained_variance: float
    seed: int
    duration_s: float
    threads: dict[str, Any] = field(default_factory=dict)
    # The network kept: "autoencoder", or "pca" when the trained network was not reliably better
    # on the validation rows than PCA (then the weights are PCA fitted on every row given).
    kept: str = "autoencoder"
    autoencoder_val_mse: float = float("nan")
    steps_run: int = 0
    best_step: int = 0
    planned_steps: int = 0
    ended_by: str = "budget"  # "budget", "plateau", "max_time", "epochs", "no_gain", "diverged"
    max_time: float | None = None


def split_rows(
    n_rows: int, validation_split: float, shuffle: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices. Shuffled by default: Keras' ``validation_split``
    takes the last rows, which is wrong for files sorted by time or label."""
    n_train, _ = split_sizes(n_rows, validation_split)
    order = rng.permutation(n_rows) if shuffle else np.arange(n_rows)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def resolve_batch_size(batch_size: int | str, n_train: int) -> int:
    """``batch_size``, or for "auto" :func:`auto_batch_size`, at most ``n_train`` (and at least
    one) rows."""
    bs = auto_batch_size(n_train) if batch_size == "auto" else int(batch_size)
    return max(1, min(bs, n_train))


def auto_batch_size(n_train: int) -> int:
    """About 8 batches per pass, between 32 and 256 rows (a power of two): 256 from about 1,450
    training rows up. Measured 2026-12-01 on 17 tables of 150 to 8,000 rows (the quality
    benchmark's and seven statsmodels tables never tuned on), 3 to 5 seeds each, geometric mean
    of the held-out error over PCA's: 0.406 with about 64 batches a pass (the rule before, with
    a floor of 1,000 steps), 0.394 with 256 rows always, 0.393 with this rule (64 runs; with
    checks every pass, 0.379 against the rule before's 0.390 over 74 runs). Larger batches
    learn more within the step budget (digits, fair, the discrete table); on tables of a few
    hundred rows, smaller ones generalise better (diabetes, macrodata). Above 256 rows, a step
    costs more than the rows it adds are worth at a fixed step budget."""
    return int(np.clip(2 ** np.round(np.log2(max(n_train / 8, 1))), 32, 256))


def peak_rate(learning_rate: float, batch_size: int) -> float:
    """Adam's peak rate: ``learning_rate`` for batches of 256 rows or more, times
    ``(batch_size / 256) ** 0.75`` for smaller ones (between the square-root and linear scaling
    rules). Measured here: at the full rate, or at the square-root rule's, batches of 32 or 64 rows
    kept the network next to its PCA start on nonlinear data, where lower rates left it."""
    return learning_rate * min(1.0, batch_size / 256) ** 0.75


def plan_steps(n_train: int, batch_size: int, epochs: int | None) -> int:
    """Optimizer steps to plan for: ``epochs`` passes when given, else the default budget."""
    per_pass = max(1, math.ceil(n_train / batch_size))
    if epochs is not None:
        return epochs * per_pass
    return int(np.clip(BUDGET_PASSES * per_pass, MIN_STEPS, MAX_STEPS))


def check_interval(n_train: int, batch_size: int, planned: int, epochs: int | None) -> int:
    """Steps between validation checks: a pass when ``epochs`` is given; otherwise a pass, but
    at least 32 steps (each check costs a pass over the validation rows) and at most a 20th of
    the plan. Not coarser on small tables: there a network can leave the PCA start and overfit
    within 100 steps (wine, one batch a pass: checked every 50 steps, no check fell below PCA)."""
    per_pass = max(1, math.ceil(n_train / batch_size))
    if epochs is not None:
        return per_pass
    return int(np.clip(per_pass, 32, max(32, planned // 20)))


def pca_start(X: np.ndarray, latent_dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """PCA of scaled rows: components (K x D), mean (D,), explained variance ratio."""
    components, mean, ratios = _pca(X, latent_dim)
    return components, mean, float(ratios.sum())


def pca_variance_ratios(X: np.ndarray) -> np.ndarray:
    """Explained variance ratio of every principal component of the scaled rows ``X``."""
    return _pca(X, None)[2]


def _pca(X: Any, n_components: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components, mean, explained variance ratio of each) of the ``n_components`` largest
    components (None: all). From the covariance accumulated over row blocks (:class:`BlockPCA`)
    when there are many more rows than columns: no float64 copy of the whole matrix."""
    n, d = X.shape
    if n <= 4 * d or d > MAX_COLUMNS:
        # A few components of a large table by ARPACK (the rule is largest_components'); a full
        # SVD otherwise.
        few = largest_components(X, n_components)
        if few is not None:
            return few
        from sklearn.decomposition import PCA

        pca = PCA(n_components=n_components, svd_solver="full", random_state=0)
        pca.fit(X.astype(np.float64))
        return pca.components_, pca.mean_, pca.explained_variance_ratio_
    acc = BlockPCA(d)
    acc.add(X)
    return acc.components(n_components)


def choose_latent_dim(explained_variance_ratio: np.ndarray, fraction: float) -> int:
    """The smallest number of components whose explained variance ratios add up to at least
    ``fraction`` (``latent_dim=0.95``, as ``PCA(n_components=0.95)``), from 1 to the number of
    ratios given."""
    ratios = np.asarray(explained_variance_ratio, dtype=np.float64)
    if len(ratios) == 0 or not np.all(np.isfinite(ratios)) or ratios.sum() <= 0:
        return 1  # no variance (constant data): one column keeps all there is
    # A hair of tolerance, so that components adding up to exactly the fraction are enough.
    k = int(np.searchsorted(np.cumsum(ratios), fraction - 1e-9, side="left")) + 1
    return max(1, min(k, len(ratios)))


def pca_mse(X: np.ndarray, components: np.ndarray, mean: np.ndarray) -> float:
    """Mean squared error of PCA's reconstruction of ``X`` (the baseline aefeat must beat)."""
    return float(np.mean(_pca_row_errors(X, components, mean)))


def _pca_row_errors(X: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return row_errors(lambda x: (x - mean) @ components.T @ components + mean, X)


def train_network(
    X_scaled: np.ndarray,
    spec: NetworkSpec,
    options: TrainOptions,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train the autoencoder on MinMax-scaled rows and return its best weights and history."""
    started = time.perf_counter()
    n_rows = X_scaled.shape[0]
    o = options
    check_sizes(spec.latent_dim, o.validation_split, n_features=spec.n_features, n_rows=n_rows)
    rng = np.random.default_rng(o.seed)
    # At most MAX_VALIDATION_ROWS validation rows, as when streaming: more cost every check and
    # add little; the rest train.
    split = min(o.validation_split, MAX_VALIDATION_ROWS / n_rows)
    train_idx, val_idx = split_rows(n_rows, split, o.shuffle, rng)
    X_val = np.ascontiguousarray(X_scaled[val_idx], dtype=np.float32)
    train_sample = np.ascontiguousarray(X_scaled[train_idx[:10_000]], dtype=np.float32)
    # The start and the held-out baseline: PCA of the training rows, scored on validation rows.
    components, mean, evr = pca_start(_Rows(X_scaled, train_idx), spec.latent_dim)
    bs = resolve_batch_size(o.batch_size, len(train_idx))
    return fit_from_start(
        spec,
        components,
        mean,
        _ArrayBatches(X_scaled, train_idx, bs, o.shuffle, o.seed),
        X_val,
        o,
        train_sample=train_sample,
        n_train=len(train_idx),
        batch_size=bs,
        on_epoch=on_epoch,
        pca_explained_variance=evr,
        # A kept PCA is PCA of every row given, the PCA a user would fit.
        pca_of_all_rows=lambda: pca_start(X_scaled, spec.latent_dim)[:2],
        started=started,
    )


class _Rows:
    """Some rows of a matrix, read in blocks (``len``, ``shape`` and slices of rows): PCA of the
    training rows without copying them out of the whole matrix."""

    def __init__(self, X: np.ndarray, rows: np.ndarray) -> None:
        self.X, self.rows = X, rows
        self.shape = (len(rows), X.shape[1])

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, part: slice) -> np.ndarray:
        return self.X[self.rows[part]]

    def astype(self, dtype: Any) -> np.ndarray:
        return self.X[self.rows].astype(dtype)


class _ArrayBatches:
    """Endless shuffled batches of the training rows of an in-memory array: passes (a
    permutation of the rows each) laid end to end and cut into whole batches, a batch straddling
    two passes where the rows do not divide evenly (as ``tf.data``'s shuffle, repeat, batch).
    No step trains on a short remainder of a pass, and batches go to TensorFlow in blocks (one
    call per block, not per batch, keeps Python's overhead out of the step time: 2 ms a call
    here). Rows are gathered per block: no copy of the training rows is kept."""

    BLOCK = 64

    def __init__(
        self, X: np.ndarray, rows: np.ndarray, batch_size: int, shuffle: bool, seed: int
    ) -> None:
        self.X, self.rows, self.batch_size, self.shuffle, self.seed = (
            X,
            rows,
            batch_size,
            shuffle,
            seed,
        )

    def __call__(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng([self.seed, 1_000_003])
        n, bs, d = len(self.rows), self.batch_size, self.X.shape[1]
        per_block = bs * self.BLOCK
        order = self.rows[:0]
        while True:
            passes = [order]
            while sum(len(p) for p in passes) < per_block:
                passes.append(self.rows[rng.permutation(n)] if self.shuffle else self.rows)
            order = np.concatenate(passes)
            full = len(order) // bs * bs
            for start in range(0, full, per_block):
                stop = min(full, start + per_block)
                block = np.asarray(self.X[order[start:stop]], dtype=np.float32)
                yield block.reshape(-1, bs, d)
            order = order[full:].copy()  # the next batch's start; the rest of the order is freed


def noise_spread(input_noise: float | str, n_train: int) -> float:
    """The noise's standard deviation for ``input_noise`` (a number, or "auto") and
    ``n_train`` training rows."""
    if input_noise != "auto":
        return float(input_noise)
    return AUTO_NOISE * min(1.0, math.sqrt(AUTO_NOISE_ROWS / max(1, n_train)))


def _noise_bank(
    n_features: int, batch_size: int, seed: int, spread: float
) -> tuple[np.ndarray, int]:
    """Rows of Gaussian noise of standard deviation ``spread`` for :func:`_train_function`, and
    a seed for the offsets it takes them at. At least two batches' worth, so that every
    half-batch has a choice of offsets."""
    rows = max(2 * batch_size, min(NOISE_BANK_ROWS, NOISE_BANK_VALUES // max(1, n_features)))
    rng = np.random.default_rng([seed, 2_000_003])
    bank = (spread * rng.standard_normal((rows, n_features))).astype(np.float32)
    return bank, int(rng.integers(2**31 - 1))


def _train_function(
    model: Any,
    optimizer: Any,
    n_features: int,
    noise: tuple[np.ndarray, int] | None = None,
    val_model: Any = None,
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """One compiled TensorFlow call ``train_block(block, X_val, check)`` that runs an optimizer
    step for each batch of a block of shape (batches, rows, columns) and returns the sum of
    their losses and, when ``check`` is true, the validation loss on ``X_val`` after them (else 0).

    A loop of our own rather than ``Model.fit``: tracing fit's general step machinery took about
    a second of every run here, and its per-step dispatch kept steps 30% slower on 2 cores. The
    validation pass is in the same call: a second compiled function cost 0.2 s more tracing.

    Each batch goes through the model as two halves whose squared errors are summed: the same
    loss and gradient, but two independent branches that TensorFlow runs on two cores at once. A
    step of one batch runs its small matrix products one after another, about one core's worth
    (two intra-op threads were no faster than one here); split, steps were 15% faster.

    The optimizer updates one flat variable holding every weight, copied back into the model's
    variables after each step: Adam's update is elementwise, so the numbers are the same, but its
    dozen small operations run once a step instead of once per weight matrix and bias (17 of
    each in the default network). Measured here: steps about 12% faster (0.71-0.80 against
    0.80-0.94 ms at batch 256, interleaved in one process), the same held-out MSE to the last
    digit.

    With ``noise`` (a bank from :func:`_noise_bank` and a seed), the model takes ``[rows,
    noise]`` (see ``build.build_autoencoder``): each half-batch in training gets the bank's rows
    from an offset drawn from the step number and the seed. Validation goes through
    ``val_model`` (the same layers without the noise input; by default ``model``)."""
    import tensorflow as tf

    variables = model.trainable_variables
    val_model = model if val_model is None else val_model
    bank = None if noise is None else tf.constant(noise[0])

    def forward(p, j):
        if bank is None:
            return model(p, training=True)
        n = tf.shape(p)[0]
        seed = tf.stack([optimizer.iterations * 2 + j, tf.constant(noise[1], tf.int64)])
        start = tf.random.stateless_uniform(
            [], seed, maxval=tf.shape(bank)[0] - n + 1, dtype=tf.int32
        )
        return model([p, bank[start : start + n]], training=True)

    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = keras.Variable(
        np.concatenate([np.ravel(v.numpy()) for v in variables]),
        trainable=False,
        name="flat_weights",
    )
    optimizer.build([flat])

    # autograph=False with an explicit while_loop: the same graph, traced 15% faster.
    @tf.function(
        input_signature=[
            tf.TensorSpec((None, None, n_features), tf.float32),
            tf.TensorSpec((None, n_features), tf.float32),
            tf.TensorSpec((), tf.bool),
        ],
        autograph=False,
    )
    def train_block(block, X_val, check):
        def step(i, total):
            x = block[i]
            half = tf.shape(x)[0] // 2
            with tf.GradientTape() as tape:
                squares = [
                    tf.reduce_sum(tf.square(forward(p, j) - p))
                    for j, p in enumerate((x[:half], x[half:]))
                ]
                loss = tf.add_n(squares) / tf.cast(tf.size(x), tf.float32)
            grads = tape.gradient(loss, variables)
            # What optimizer.apply does for this optimizer (no clipping, weight decay, EMA or
            # accumulation), without its all-reduce across replicas: that registers a custom
            # gradient for the traced step in TensorFlow's global registry, which keeps every
            # fit's graph alive (5 MiB a fit in a grid search; tensorflow/tensorflow#97697).
            optimizer.update_step(
                tf.concat([tf.reshape(g, [-1]) for g in grads], 0), flat, optimizer.learning_rate
            )
            optimizer.iterations.assign_add(1)
            for v, part, shape in zip(variables, tf.split(flat.value, sizes), shapes, strict=True):
                v.assign(tf.reshape(part, shape))
            return i + 1, total + loss

        n = tf.shape(block)[0]
        _, total = tf.while_loop(lambda i, _: i < n, step, (tf.constant(0), tf.constant(0.0)))
        # Ordered after the steps by tf.function's automatic control dependencies.
        val = tf.cond(
            check,
            lambda: tf.reduce_mean(tf.square(val_model(X_val, training=False) - X_val)),
            lambda: tf.constant(0.0),
        )
        return total, val

    return train_block


class _Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then a cosine decay to zero ending at step ``end``. The start
    and end of the cosine are variables, so the stopping rule can anneal early (from the current
    rate, over a short stretch) without rebuilding the optimizer."""

    def __init__(self, peak: float, warmup: int, end: int) -> None:
        self.peak = float(peak)
        self.warmup = float(max(1, warmup))
        self.cos_start = keras.Variable(float(warmup), trainable=False, name="cos_start")
        self.cos_lr = keras.Variable(float(peak), trainable=False, name="cos_lr")
        self.cos_end = keras.Variable(float(max(end, warmup + 1)), trainable=False, name="cos_end")

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        warm = self.peak * ops.minimum(1.0, (step + 1.0) / self.warmup)
        span = ops.maximum(self.cos_end - self.cos_start, 1.0)
        frac = ops.clip((step - self.cos_start) / span, 0.0, 1.0)
        cosine = self.cos_lr * 0.5 * (1.0 + ops.cos(math.pi * frac))
        return ops.where(step < self.cos_start, warm, cosine)

    def value(self, step: int) -> float:
        return float(self(step))

    def anneal(self, step: int, end: int) -> None:
        lr = self.value(step)
        self.cos_start.assign(float(step))
        self.cos_lr.assign(lr)
        self.cos_end.assign(float(max(end, step + 1)))

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "warmup": self.warmup}


def fit_from_start(
    spec: NetworkSpec,
    components: np.ndarray,
    mean: np.ndarray,
    batches: Callable[[], Iterator[np.ndarray]],
    X_val: np.ndarray,
    options: TrainOptions,
    **kwargs: Any,
) -> TrainResult:
    """Build the model at its PCA start and train it on ``batches`` (a generator function of
    blocks of scaled rows, endless: in memory or streamed from disk) over a step budget; then keep
    it, or PCA when it is not reliably better on the validation rows ``X_val``. ``batch_size``
    is the resolved size of ``options.batch_size``."""
    with _global_seeds(options.seed):
        return _fit_from_start(spec, components, mean, batches, X_val, options, **kwargs)


# One fit at a time in a process: the generators seeded below are global, so two fits in
# threads (joblib's threading backend) would draw from each other's streams and restore each
# other's state. Reentrant, for a fit started from a fit's callback.
_FIT_LOCK = threading.RLock()


@contextmanager
def _global_seeds(seed: int) -> Iterator[None]:
    """Seed Python's, NumPy's, TensorFlow's and Keras' global generators (Keras' initializers
    draw from them) and TensorFlow's deterministic ops for one fit, then give the caller back
    its own generators and settings: an estimator leaves global random state alone, as
    scikit-learn's do. Fits in threads run one after the other (``_FIT_LOCK``)."""
    import random

    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config as tf_config

    with _FIT_LOCK:
        # The two entries keras.utils.set_random_seed writes, by Keras' own names for them.
        keras_keys = (GLOBAL_RANDOM_SEED, GLOBAL_SEED_GENERATOR)
        ctx = context.context()
        saved = (
            random.getstate(),
            np.random.get_state(),
            context.global_seed(),
            # Where TensorFlow's stream of op seeds had got to: tf.random.set_seed restarts it,
            # and restoring only the seed would replay the caller's earlier random draws.
            getattr(ctx, "_rng", None) and ctx._rng.getstate(),
            tf_config.is_op_determinism_enabled(),
            [global_state.get_global_attribute(k) for k in keras_keys],
        )
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        try:
            yield
        finally:
            python_state, numpy_state, tf_seed, op_seeds, deterministic, keras_state = saved
            random.setstate(python_state)
            np.random.set_state(numpy_state)
            tf.random.set_seed(tf_seed)
            if op_seeds:
                ctx._rng.setstate(op_seeds)
            if not deterministic:
                tf_config.disable_op_determinism()
            for key, value in zip(keras_keys, keras_state, strict=True):
                global_state.set_global_attribute(key, value)


def _fit_from_start(
    spec: NetworkSpec,
    components: np.ndarray,
    mean: np.ndarray,
    batches: Callable[[], Iterator[np.ndarray]],
    X_val: np.ndarray,
    options: TrainOptions,
    *,
    train_sample: np.ndarray,
    n_train: int,
    batch_size: int,
    on_epoch: EpochCallback | None,
    pca_explained_variance: float,
    pca_of_all_rows: Callable[[], tuple[np.ndarray, np.ndarray]],
    started: float,
) -> TrainResult:
    epochs, patience, max_time, seed = (
        options.epochs,
        options.patience,
        options.max_time,
        options.seed,
    )
    import tensorflow as tf

    layers = model_mod.build_layers(spec)
    centering = _centering(spec, components, mean, train_sample)
    # Denoising (``input_noise``), measured 2026-12-02 with seeds 0-4 against none: held-out
    # error 0.8% to 5% lower on both nonlinear 100-column sets at 4 latent columns, 3% to 14% lower
    # on digits and diabetes with every seed, up to 5% higher on the discrete table (4 seeds of
    # 5); the median ratio to PCA over the quality datasets 0.752 to 0.739.
    spread = noise_spread(options.input_noise, n_train)
    noisy = centering is not None and spread > 0
    autoencoder = model_mod.build_autoencoder(spec, layers, centering)
    if spec.linear_path:
        layers["encoder_linear"].set_weights([components.T, -mean @ components.T])
        layers["decoder_linear"].set_weights([components, mean])

    planned = plan_steps(n_train, batch_size, epochs)
    every = check_interval(n_train, batch_size, planned, epochs)
    peak = peak_rate(options.learning_rate, batch_size)
    schedule = _Schedule(peak, int(WARMUP_SHARE * planned), planned)
    optimizer = keras.optimizers.Adam(schedule)
    net0 = DenseNetwork(spec, model_mod.get_weights(layers, centering), dtype=np.float32)
    initial = float(np.mean(net0.reconstruction_error(X_val)))
    initial_train = float(np.mean(net0.reconstruction_error(train_sample)))
    pca_rows = _pca_row_errors(X_val, components, mean)

    keeper = _Budget(
        lambda: model_mod.get_weights(layers, centering),
        schedule,
        initial_loss=initial,
        planned=planned,
        every=every,
        patience=patience,
        adaptive=epochs is None,
        max_time=max_time,
        started=started,
        on_epoch=on_epoch,
        give_up_above=float(np.mean(pca_rows)) if spec.can_be_pca() else None,
    )
    history: dict[str, list[float]] = {"loss": [initial_train], "val_loss": [initial]}
    if planned > 0 and (max_time is None or time.perf_counter() - started < max_time):
        noise = _noise_bank(spec.n_features, batch_size, seed, spread) if noisy else None
        # Trained with the noise input; validated on the same layers without it.
        trained = (
            model_mod.build_autoencoder(spec, layers, centering, noise_input=True)
            if noisy
            else autoencoder
        )
        train_block = _train_function(
            trained, optimizer, spec.n_features, noise, val_model=autoencoder
        )
        val_tensor = tf.constant(X_val)
        step, loss_sum, loss_steps = 0, 0.0, 0
        blocks = batches()
        while not keeper.stopped:
            block = next(blocks)
            while len(block) and not keeper.stopped:
                # Up to the next validation check, which must fall on a block's edge.
                take = min(len(block), keeper.next_check - step)
                checking = step + take >= keeper.next_check
                total, val = train_block(block[:take], val_tensor, tf.constant(checking))
                loss_sum += float(total)
                loss_steps += take
                step += take
                block = block[take:]
                if checking:
                    history["loss"].append(loss_sum / loss_steps)
                    keeper.check(step, history["loss"][-1], float(val))
                    loss_sum, loss_steps = 0.0, 0
        # Free the batches (a pass's shuffled order and the last block) before the scoring
        # below, which is the peak of memory at a million rows.
        blocks.close()
        del blocks, block
        history["val_loss"] += keeper.val_history
    else:
        keeper.ended_by = "max_time" if planned > 0 else "epochs"

    weights = keeper.best_weights
    net = DenseNetwork(spec, weights, dtype=np.float64)
    ae_rows = val_rows = net.reconstruction_error(X_val)
    kept = "autoencoder"
    untrained = keeper.step == 0
    if spec.can_be_pca() and (untrained or not _reliably_better(ae_rows, pca_rows)):
        # Not reliably better than PCA on the validation rows: the model is PCA, fitted on every
        # row given, with the nonlinear paths switched off.
        kept = "pca"
        all_components, all_mean = pca_of_all_rows()
        weights = _pca_weights(spec, weights, all_components, all_mean)
        net = DenseNetwork(spec, weights, dtype=np.float64)
        # The saved PCA has seen the validation rows; its honest validation error is that of
        # PCA fitted on the training rows (the baseline), so val_mse never reads as a win.
        val_rows = pca_rows
    return TrainResult(
        spec=spec,
        weights=weights,
        history=history,
        best_epoch=keeper.best_check,
        epochs_run=len(history["val_loss"]) - 1,
        batch_size=batch_size,
        n_train=n_train,
        n_val=len(X_val),
        val_mse=float(np.mean(val_rows)),
        train_mse=float(np.mean(net.reconstruction_error(train_sample))),
        pca_val_mse=float(np.mean(pca_rows)),
        pca_explained_variance=pca_explained_variance,
        seed=seed,
        duration_s=time.perf_counter() - started,
        threads={
            "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "TF_NUM_INTEROP_THREADS": os.environ.get("TF_NUM_INTEROP_THREADS"),
            "cpu_count": os.cpu_count(),
        },
        kept=kept,
        autoencoder_val_mse=float(np.mean(ae_rows)),
        steps_run=keeper.step,
        best_step=keeper.best_step,
        planned_steps=planned,
        ended_by=keeper.ended_by,
        max_time=max_time,
    )


def _centering(
    spec: NetworkSpec, components: np.ndarray, mean: np.ndarray, sample: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Mean and spread of what enters each half's nonlinear path at the start, from a sample of
    training rows (see ``build.build_autoencoder``): the scaled columns for the encoder; for the
    decoder, the latent columns of the PCA start (when the linear path gives them)."""
    if not spec.has_nonlinear() or len(sample) == 0:
        return None

    def stats(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        A = np.asarray(A, dtype=np.float64)
        sd = A.std(axis=0)
        return A.mean(axis=0), np.where(sd > 1e-6, sd, 1.0)

    out = {"encoder": stats(sample)}
    if spec.linear_path and spec.latent_activation == "linear":
        out["decoder"] = stats((np.asarray(sample, dtype=np.float64) - mean) @ components.T)
    return out


def _reliably_better(model_rows: np.ndarray, pca_rows: np.ndarray) -> bool:
    """Whether the network's per-row errors are below PCA's by more than chance explains: a
    paired one-sided t-test, so that a small validation set needs a clear gain, and never on
    fewer than MIN_SELECTION_ROWS rows."""
    from scipy.special import stdtrit  # Student's t quantile; scipy comes with scikit-learn

    gain = pca_rows - model_rows
    n = len(gain)
    if n < MIN_SELECTION_ROWS or not np.mean(gain) > 0:
        return False
    critical = float(stdtrit(n - 1, SELECTION_LEVEL))
    return bool(np.mean(gain) > critical * np.std(gain, ddof=1) / np.sqrt(n))


def _pca_weights(
    spec: NetworkSpec, weights: dict[str, np.ndarray], components: np.ndarray, mean: np.ndarray
) -> dict[str, np.ndarray]:
    out = {k: np.array(v) for k, v in weights.items()}
    out["encoder_linear/kernel"] = components.T.astype(np.float32)
    out["encoder_linear/bias"] = (-mean @ components.T).astype(np.float32)
    out["decoder_linear/kernel"] = components.astype(np.float32)
    out["decoder_linear/bias"] = mean.astype(np.float32)
    for half in ("encoder", "decoder"):
        for part in ("kernel", "bias"):
            key = f"{half}_nonlinear/{part}"
            if key in out:
                out[key] = np.zeros_like(out[key])
    if MIX_WEIGHT in out:
        out[MIX_WEIGHT] = np.zeros_like(out[MIX_WEIGHT])
    return out


class _Budget:
    """Validation checks every ``every`` steps, the best weights so far, and the stopping rule:
    the plan's end, a plateau (then a short anneal), or the time budget."""

    def __init__(
        self,
        weights: Callable[[], dict[str, np.ndarray]],
        schedule: _Schedule,
        *,
        initial_loss: float,
        planned: int,
        every: int,
        patience: int,
        adaptive: bool,
        max_time: float | None,
        started: float,
        on_epoch: EpochCallback | None,
        give_up_above: float | None = None,
    ) -> None:
        self._give_up_above = give_up_above if adaptive else None
        self._weights, self._schedule = weights, schedule
        self.best_loss = initial_loss
        self.best_check = 0
        self.best_step = 0
        self.best_weights = weights()
        self.val_history: list[float] = []
        self.step = 0
        self.next_check = every
        self.stopped = False
        self.end = self._planned = planned
        self.ended_by = "epochs" if not adaptive else "budget"
        self._every, self._patience, self._adaptive = every, patience, adaptive
        self._max_time, self._started, self._on_epoch = max_time, started, on_epoch
        self._gains: list[tuple[int, float]] = [(0, initial_loss)]  # (step, best loss so far)
        self._annealing = False
        # (time, step) of the first check: the step rate is measured from there, as the first
        # block's time is mostly TensorFlow tracing the step (about a second).
        self._first_check: tuple[float, int] | None = None

    def check(self, step: int, train_loss: float, loss: float) -> None:
        """A validation check after ``step`` optimizer steps, with validation loss ``loss``;
        sets ``stopped`` when training must end."""
        self.step = step
        self.next_check = step + self._every
        n_check = len(self.val_history) + 1
        self.val_history.append(loss)
        if np.isfinite(loss) and loss < self.best_loss:
            self.best_loss, self.best_check, self.best_step = loss, n_check, step
            self.best_weights = self._weights()
        self._gains.append((step, self.best_loss))
        now = time.perf_counter()
        if not np.isfinite(loss):
            self._stop("diverged")
        elif step >= self.end:
            self._stop(self.ended_by)
        elif self._max_time is not None and now - self._started >= self._max_time:
            self._stop("max_time")
        elif (
            self._give_up_above is not None
            and self.best_loss >= self._give_up_above
            and n_check >= self._patience
            and step >= NO_GAIN_SHARE * self._planned
        ):
            self._stop("no_gain")
        elif not self._annealing:
            self._maybe_anneal(now)
        if self._on_epoch is not None:
            logs = {"loss": float(train_loss), "val_loss": loss, "elapsed_s": now - self._started}
            if self._max_time is not None:
                logs["max_time_s"] = self._max_time
            self._on_epoch(step, self.end, logs)

    def _maybe_anneal(self, now: float) -> None:
        anneal = max(self._every, int(ANNEAL_SHARE * self.step))
        if self._first_check is None:
            self._first_check = (now, self.step)
        elif self._max_time is not None:
            then, at = self._first_check
            rate = (self.step - at) / max(now - then, 1e-9)  # steps per second, checks included
            left = int((self._max_time - (now - self._started)) * rate)
            if left <= anneal and self.step + left < self.end:
                # The time budget ends before the plan: anneal now, to end with the budget.
                self._begin_anneal(max(self._every, int(0.9 * left)), "max_time")
                return
        if self._adaptive and self._plateau():
            self._begin_anneal(anneal, "plateau")

    def _plateau(self) -> bool:
        window = max(self._patience * self._every, int(PLATEAU_SHARE * self.step))
        if self.step < max(window + self._every, EARLIEST_STOP * self._planned):
            return False
        then = [loss for step, loss in self._gains if step <= self.step - window][-1]
        return self.best_loss > then * (1 - MIN_GAIN)

    def _begin_anneal(self, length: int, reason: str) -> None:
        end = min(self.end, self.step + length)
        end = self.step + max(self._every, math.ceil((end - self.step) / self._every) * self._every)
        self._schedule.anneal(self.step, end)
        self.end = end
        self._annealing = True
        self.ended_by = reason

    def _stop(self, reason: str) -> None:
        self.ended_by = reason
        self.stopped = True
