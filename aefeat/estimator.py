"""``AutoencoderTransformer``: the scikit-learn estimator that ``aefeat train`` and ``encode`` use."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from aefeat.core.config import TrainOptions, check_sizes, split_sizes
from aefeat.core.kernel import EncodeKernel
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.core.params import PARAMS
from aefeat.core.prepare import ColumnStats
from aefeat.errors import AefeatError

_BLOCK = 65_536  # rows scaled at a time: no float64 copy of the whole matrix

SAMPLE_ROWS = 1000


def _sklearn_constraints() -> dict[str, list[Any]]:
    """scikit-learn's ``_parameter_constraints``, made from the one table in ``aefeat.core.params``."""
    return {p.estimator: [c.sklearn() for c in p.constraints] for p in PARAMS.estimator_params()}


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Dense autoencoder features, started from PCA so that they are never worse than PCA.

    The encoder and decoder each have a linear path initialised from PCA of the MinMax-scaled
    training data and a nonlinear path (the hidden layers) that starts at zero: the untrained
    model is exactly PCA, and training keeps the weights with the best validation loss, counting
    the PCA start as epoch 0. ``aefeat train`` fits one of these and ``aefeat encode`` runs it.

    Parameters
    ----------
    latent_dim : int or float, default=2
        Number of latent features (output columns ``z0``, ``z1``, ...), from 1 to the number of
        features. A float between 0 and 1, as in ``PCA(n_components=0.95)``, chooses the
        smallest number whose PCA start keeps at least that share of the variance of the
        scaled data; the number chosen is ``n_components_``.

    hidden : tuple of int, default=(128, 64)
        Hidden layer sizes of the encoder; the decoder mirrors them. ``()`` for none, an int for
        one layer.

    activation : str, default="leaky_relu"
        Keras activation of the hidden layers: one of "linear", "relu", "leaky_relu", "elu",
        "selu", "tanh", "sigmoid", "silu", "gelu", "softplus".

    latent_activation : str, default="linear"
        Activation of the latent layer (same choices).

    output_activation : str, default="linear"
        Activation of the reconstruction, in MinMax-scaled units (same choices).

    linear_path : bool, default=True
        Add a linear path initialised from PCA next to the nonlinear path (which starts small
        and random); PCA itself is kept unless the trained network is reliably better on the
        validation rows. With False the network starts from Keras' random initialisation.

    epochs : int or None, default=None
        Passes over the training rows; None trains for a step budget that follows the data size
        and ends early when validation loss stops improving.

    batch_size : int or "auto", default="auto"
        Rows per batch; "auto" gives about 64 steps per pass, between 32 and 256 rows.

    learning_rate : float, default=0.01
        Adam's peak learning rate (linear warm-up, then cosine decay to zero) for batches of 256
        rows or more; smaller batches use it times (batch_size / 256) ** 0.75.

    validation_split : float, default=0.2
        Share of rows (shuffled) held out for early stopping and choosing the weights.

    patience : int, default=12
        Validation checks without improvement before the final anneal (default budget only).

    shuffle : bool, default=True
        Shuffle rows before splitting off validation rows, and between epochs.

    impute : {"none", "mean", "median", "zero"}, default="none"
        How missing values are filled, with statistics of the training data; "none" refuses
        them.

    random_state : int or None, default=None
        Seed (0 to 2**32 - 1) for the split, the initialisation and the batches. None draws
        one, kept in ``random_state_`` so that the run can be repeated.

    max_time : float or None, default=None
        Seconds of training at most; training then ends with the best weights so far.

    Attributes
    ----------
    n_components_ : int
        Number of latent features of the fitted model: ``latent_dim``, or the number chosen for
        a fractional ``latent_dim``.

    latent_dim_ : int
        Same as ``n_components_`` (the name the command line and ``metadata.json`` use).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``. Defined only when ``X`` has feature names that
        are all strings.

    network_ : DenseNetwork
        The fitted encoder and decoder weights, run in NumPy by ``transform``.

    scaler_ : Scaler
        MinMax scaling (and imputation values) learned from the training data.

    history_ : dict of str to list of float
        Training and validation loss per epoch, epoch 0 being the PCA start.

    best_epoch_ : int
        Epoch whose weights were kept (0: no epoch improved on the start).

    n_epochs_ : int
        Number of epochs run.

    batch_size_ : int
        Batch size used.

    val_mse_ : float
        Reconstruction MSE on the validation rows, in scaled units.

    train_mse_ : float
        Reconstruction MSE on the training rows, in scaled units.

    pca_val_mse_ : float
        MSE on the validation rows of PCA with ``n_components_`` components fitted on the
        training rows: the baseline ``val_mse_`` is compared with.

    pca_explained_variance_ : float
        Share of the scaled variance kept by the PCA start (PCA of the training rows).

    random_state_ : int
        The seed used (drawn when ``random_state`` is None).

    kept_ : {"autoencoder", "pca"}
        Which model was saved: the trained network, or PCA fitted on every training row when
        the network was not reliably better on the validation rows.

    autoencoder_val_mse_ : float
        The trained network's validation MSE, whichever model was kept.

    ended_by_ : {"budget", "plateau", "max_time", "epochs"}
        What ended training: the planned step budget, a plateau of the validation loss, the
        ``max_time`` budget, or the ``epochs`` asked for.

    training_info_ : dict
        Row counts, batch size, seed, epochs and duration of the fit.

    See Also
    --------
    sklearn.decomposition.PCA : The linear projection this model starts from.
    sklearn.decomposition.IncrementalPCA : PCA fitted batch by batch, used by ``fit_files``.
    sklearn.neural_network.MLPRegressor : A dense network trained for a target rather than for
        reconstruction.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from aefeat import AutoencoderTransformer
    >>> X, _ = load_iris(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=2, epochs=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (150, 2)
    >>> ae = AutoencoderTransformer(latent_dim=0.95, epochs=5, random_state=0).fit(X)
    >>> ae.n_components_  # the fewest latent features whose PCA start keeps 95% of the variance
    2
    """

    _parameter_constraints: dict[str, list[Any]] = _sklearn_constraints()

    def __init__(
        self,
        latent_dim: int | float = PARAMS.default("latent_dim"),
        *,
        hidden: tuple[int, ...] = tuple(PARAMS.default("hidden")),
        activation: str = PARAMS.default("activation"),
        latent_activation: str = PARAMS.default("latent_activation"),
        output_activation: str = PARAMS.default("output_activation"),
        linear_path: bool = PARAMS.default("linear_path"),
        epochs: int | None = PARAMS.default("epochs"),
        batch_size: int | str = PARAMS.default("batch_size"),
        learning_rate: float = PARAMS.default("learning_rate"),
        validation_split: float = PARAMS.default("validation_split"),
        patience: int = PARAMS.default("patience"),
        shuffle: bool = PARAMS.default("shuffle"),
        impute: str = PARAMS.default("impute"),
        max_time: float | None = PARAMS.default("max_time"),
        random_state: int | None = PARAMS.default("random_state"),
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.activation = activation
        self.latent_activation = latent_activation
        self.output_activation = output_activation
        self.linear_path = linear_path
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_split = validation_split
        self.patience = patience
        self.shuffle = shuffle
        self.impute = impute
        self.random_state = random_state
        self.max_time = max_time

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.impute != "none"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags

    def _check_params(self) -> dict[str, Any]:
        """The parameters, checked against ``_parameter_constraints``' table (here, not in
        ``__init__``, as scikit-learn requires), with NumPy scalars as plain Python values."""
        params = {key: _plain(value) for key, value in self.get_params().items()}
        hidden = params["hidden"]
        if isinstance(hidden, (list, tuple, np.ndarray)):
            params["hidden"] = [_plain(u) for u in hidden]
        for spec in PARAMS.estimator_params():  # in the table's order, latent_dim first
            PARAMS.check(spec.estimator, params[spec.estimator])
        if isinstance(params["hidden"], int):
            params["hidden"] = [params["hidden"]]  # one layer, as MLPRegressor(64) allows
        params["hidden"] = tuple(params["hidden"])
        return params

    def _finite_mode(self) -> bool | str:
        return "allow-nan" if self.impute != "none" else True

    def fit(self, X: Any, y: Any = None, *, on_epoch: Any = None) -> AutoencoderTransformer:
        """Fit the scaling and the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data; missing values only with ``impute`` other than "none".
        y : None
            Ignored.
        on_epoch : callable, optional
            Called as ``on_epoch(epoch, max_epochs, logs)`` after every epoch (progress bars).

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        p = self._check_params()
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite=self._finite_mode()
        )
        return self._fit_rows([X], p, on_epoch)

    def fit_chunks(
        self,
        chunks: list[np.ndarray],
        columns: list[str],
        *,
        stats: ColumnStats | None = None,
        on_epoch: Any = None,
    ) -> AutoencoderTransformer:
        """Fit on rows held as a list of 2-D float chunks (as a file reader gives them), with no
        second full copy of them: each chunk is taken out of ``chunks`` once it is scaled into
        the float32 training matrix, so the list is empty afterwards, and a chunk nobody else
        holds is freed before training starts. ``aefeat train`` fits files in memory this way.

        Parameters
        ----------
        chunks : list of ndarray of shape (n_rows_i, n_features)
            The rows, in order; missing values (NaN) only with ``impute`` other than "none".
            Emptied by the call.
        columns : list of str
            The feature names, in order.
        stats : ColumnStats, optional
            Statistics already gathered over ``chunks`` (``aefeat train`` gathers them to check
            the file): they save a pass over the data.
        on_epoch : callable, optional
            As in :meth:`fit`.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        p = self._check_params()
        if not chunks or any(np.ndim(c) != 2 or c.shape[1] != len(columns) for c in chunks):
            raise ValueError(f"chunks must be 2-D arrays of {len(columns)} columns each")
        self.n_features_in_ = len(columns)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        return self._fit_rows(chunks, p, on_epoch, stats)

    def _fit_rows(
        self,
        chunks: list[np.ndarray],
        p: dict[str, Any],
        on_epoch: Any,
        stats: ColumnStats | None = None,
    ) -> AutoencoderTransformer:
        n_rows, n_features = sum(len(c) for c in chunks), chunks[0].shape[1]
        check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features, n_rows=n_rows)
        seed = self._seed(p)
        if stats is None:
            stats = ColumnStats(n_features)
            for block in _blocks(chunks):
                stats.update(np.asarray(block, dtype=np.float64))
        if p["impute"] == "none" and (stats.nan.any() or stats.inf.any()):
            raise ValueError(
                "Input contains missing or infinite values; pass impute='mean', 'median' or "
                "'zero' to fill them"
            )
        # impute="median" needs every row at once: the one case with a full copy.
        median_rows = chunks[0] if len(chunks) == 1 else None
        if p["impute"] == "median" and median_rows is None:
            median_rows = np.concatenate(chunks)
        self.scaler_ = stats.scaler(p["impute"], median_rows=median_rows)
        del median_rows
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n_rows, size=min(SAMPLE_ROWS, n_rows), replace=False))
        sample = _take_rows(chunks, rows)
        # Scaled block by block into float32 (what Keras trains on), each chunk released once
        # scaled: no float64 copy of the whole matrix beside the float32 one.
        X_scaled = np.empty((n_rows, n_features), dtype=np.float32)
        done = 0
        while chunks:
            chunk = chunks.pop(0)
            for start in range(0, len(chunk), _BLOCK):
                part = chunk[start : start + _BLOCK]
                X_scaled[done : done + len(part)] = self.scaler_.prepare(part)
                done += len(part)
            chunk = part = None  # the last references: the chunk is freed here
        from aefeat.keras_backend.fit import train_network

        result = train_network(
            X_scaled,
            self._spec(p, n_features, self._latent_size(p, X_scaled)),
            self._train_options(p, seed),
            on_epoch=on_epoch,
        )
        self._set_fitted(result, seed, n_rows, sample)
        return self

    def fit_files(
        self,
        paths: list[str],
        columns: list[str],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
        on_epoch: Any = None,
    ) -> AutoencoderTransformer:
        """Fit on CSV or Parquet files too large for memory, streaming them chunk by chunk.

        One pass for the scaling statistics, one for the ``IncrementalPCA`` start and the
        validation rows, then one per epoch.

        Parameters
        ----------
        paths : list of str
            CSV (optionally gzipped) or Parquet files with the same columns.
        columns : list of str
            The feature columns, in order.
        delimiter, encoding : str
            How the CSV files are written.
        on_epoch : callable, optional
            As in :meth:`fit`.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        from aefeat.stream import ChunkedInput, train_streaming

        p = self._check_params()
        n_features = len(columns)
        check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features)
        seed = self._seed(p)
        fraction = None if _is_int(p["latent_dim"]) else p["latent_dim"]
        # For a fraction, the streamed PCA keeps up to every component and the size is chosen
        # from its explained variance before training.
        result, scaler, sample = train_streaming(
            ChunkedInput(list(paths), list(columns), delimiter, encoding),
            self._spec(p, n_features, n_features if fraction is not None else p["latent_dim"]),
            self._train_options(p, seed),
            impute=p["impute"],
            sample_size=SAMPLE_ROWS,
            latent_fraction=fraction,
            on_epoch=on_epoch,
        )
        self.n_features_in_ = n_features
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.scaler_ = scaler
        self._set_fitted(result, seed, result.n_train + result.n_val, sample)
        return self

    @staticmethod
    def _latent_size(p: dict[str, Any], X_scaled: np.ndarray) -> int:
        """``latent_dim``, or for a fraction the fewest PCA components keeping that share of
        the scaled variance (as ``PCA(n_components=0.95)``)."""
        if _is_int(p["latent_dim"]):
            return p["latent_dim"]
        from aefeat.keras_backend.fit import choose_latent_dim, pca_variance_ratios

        k = choose_latent_dim(pca_variance_ratios(X_scaled), p["latent_dim"])
        # The held-out PCA baseline is fitted on the training rows, which must outnumber it.
        n_train = split_sizes(len(X_scaled), p["validation_split"])[0]
        return max(1, min(k, n_train - 1))

    @staticmethod
    def _seed(p: dict[str, Any]) -> int:
        seed = p["random_state"]
        # None draws a seed and records it, so that any run can be repeated.
        return int(np.random.SeedSequence().entropy % (2**32)) if seed is None else int(seed)

    @staticmethod
    def _train_options(p: dict[str, Any], seed: int) -> TrainOptions:
        fields = [f.name for f in dataclasses.fields(TrainOptions) if f.name != "seed"]
        return TrainOptions(**{k: p[k] for k in fields}, seed=seed)

    @staticmethod
    def _spec(p: dict[str, Any], n_features: int, latent_dim: int) -> NetworkSpec:
        return NetworkSpec(
            n_features=n_features,
            latent_dim=latent_dim,
            hidden=p["hidden"],
            activation=p["activation"],
            latent_activation=p["latent_activation"],
            output_activation=p["output_activation"],
            linear_path=p["linear_path"],
        )

    def _set_fitted(self, result: Any, seed: int, n_rows: int, sample: np.ndarray) -> None:
        self.network_ = DenseNetwork(result.spec, result.weights)
        self.n_components_ = self.latent_dim_ = result.spec.latent_dim
        self.random_state_ = seed
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_epochs_ = result.epochs_run
        self.batch_size_ = result.batch_size
        self.val_mse_ = result.val_mse
        self.train_mse_ = result.train_mse
        self.pca_val_mse_ = result.pca_val_mse
        self.pca_explained_variance_ = result.pca_explained_variance
        self.kept_ = result.kept
        self.autoencoder_val_mse_ = result.autoencoder_val_mse
        self.ended_by_ = result.ended_by
        self.training_info_ = {
            "n_rows": int(n_rows),
            "n_train": result.n_train,
            "n_val": result.n_val,
            "batch_size": result.batch_size,
            "seed": seed,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "duration_s": round(result.duration_s, 3),
            "steps_run": result.steps_run,
            "best_step": result.best_step,
            "planned_steps": result.planned_steps,
            "ended_by": result.ended_by,
            "max_time_s": result.max_time,
            "threads": result.threads,
        }
        self.sample_ = sample

    def _encode(self, X: Any, with_error: bool = False) -> tuple[np.ndarray, Any, np.dtype]:
        """``X`` checked against what ``fit`` saw and run through the encode kernel that
        ``aefeat encode`` uses: (latent values, per-row errors or None, the input's dtype)."""
        check_is_fitted(self, "network_")
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite=self._finite_mode(),
            reset=False,
        )
        columns = [f"x{i}" for i in range(self.n_features_in_)]
        kernel = EncodeKernel(self.scaler_, self.network_, columns)
        X64 = np.array(X, dtype=np.float64)
        kernel.fill(X64, lambda row: f"row {row}")
        Z, err = kernel.encode(X64, with_error)
        return Z, err, X.dtype

    def transform(self, X: Any) -> np.ndarray:
        """Latent features of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Rows with the columns ``fit`` saw, in the same order.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_)
            The latent values (float32 for float32 input, else float64).
        """
        Z, _, dtype = self._encode(X)
        return Z.astype(dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstructed features, in the original units, from latent values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Latent values, as ``transform`` returns them.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoder's reconstruction.
        """
        check_is_fitted(self, "network_")
        Z = np.asarray(X, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.network_.spec.latent_dim:
            raise AefeatError(
                f"expected latent values with {self.network_.spec.latent_dim} columns, "
                f"got shape {Z.shape}",
                "inverse_transform",
            )
        return self.scaler_.inverse_transform(self.network_.decode(Z).astype(np.float64))

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Each row's mean squared reconstruction error, in MinMax-scaled units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Rows to score.

        Returns
        -------
        error : ndarray of shape (n_samples,)
            What ``aefeat encode --with-error`` writes; high for rows unlike the training data.
        """
        return self._encode(X, with_error=True)[1]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the latent features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` if given; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``z0``, ``z1``, ... (the names ``aefeat encode`` writes).
        """
        check_is_fitted(self, "network_")
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"z{i}" for i in range(self.network_.spec.latent_dim)], dtype=object)

    # --- model directory -------------------------------------------------------------------

    def save(
        self,
        path: str | Path,
        *,
        config: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Write the model directory that ``aefeat encode`` and ``aefeat inspect`` read."""
        check_is_fitted(self, "network_")
        from aefeat.modeldir import save_model_dir

        columns = (
            [str(c) for c in self.feature_names_in_]
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(self.n_features_in_)]
        )
        metadata: dict[str, Any] = {
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "input_columns": columns,
            "latent_dim": self.network_.spec.latent_dim,
            # What was asked for: the same int, or a share of the variance such as 0.95.
            "latent_dim_requested": _plain(self.latent_dim),
            "params": _json_params(self.get_params()),
            "config": config if config is not None else _json_params(self.get_params()),
            "training": {**self.training_info_, "history": self.history_},
            "metrics": {
                "val_mse": self.val_mse_,
                "train_mse": self.train_mse_,
                "pca_val_mse": self.pca_val_mse_,
                "pca_explained_variance": self.pca_explained_variance_,
                "best_epoch": self.best_epoch_,
                "model": self.kept_,
                "autoencoder_val_mse": self.autoencoder_val_mse_,
            },
        }
        if extra:
            metadata.update(extra)
        save_model_dir(
            Path(path),
            metadata,
            self.network_.spec,
            self.scaler_,
            self.network_.weights,
            self.sample_,
        )

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderTransformer:
        """A fitted transformer from a model directory written by ``save`` or ``aefeat train``."""
        from aefeat.modeldir import load_model_dir

        md = load_model_dir(Path(path))
        meta = md.metadata
        params = dict(meta.get("params", {}))
        if isinstance(params.get("hidden"), list):
            params["hidden"] = tuple(params["hidden"])
        est = cls(**{k: v for k, v in params.items() if k in cls._get_param_names()})
        est.network_ = md.network
        est.n_components_ = est.latent_dim_ = md.spec.latent_dim
        est.scaler_ = md.scaler
        est.n_features_in_ = md.spec.n_features
        columns = md.columns
        if not all(c == f"x{i}" for i, c in enumerate(columns)):
            est.feature_names_in_ = np.asarray(columns, dtype=object)
        training = dict(meta.get("training", {}))
        metrics = meta.get("metrics", {})
        est.history_ = training.pop("history", {})
        est.training_info_ = training
        est.random_state_ = training.get("seed")
        est.best_epoch_ = metrics.get("best_epoch")
        est.n_epochs_ = training.get("epochs_run")
        est.batch_size_ = training.get("batch_size")
        est.val_mse_ = metrics.get("val_mse")
        est.train_mse_ = metrics.get("train_mse")
        est.pca_val_mse_ = metrics.get("pca_val_mse")
        est.pca_explained_variance_ = metrics.get("pca_explained_variance")
        est.kept_ = metrics.get("model", "autoencoder")
        est.autoencoder_val_mse_ = metrics.get("autoencoder_val_mse", est.val_mse_)
        est.ended_by_ = training.get("ended_by")
        est.sample_ = md.sample()
        return est


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _blocks(chunks: list[np.ndarray]) -> Iterator[np.ndarray]:
    """The rows of ``chunks`` in blocks of at most ``_BLOCK`` rows (views, not copies)."""
    for chunk in chunks:
        for start in range(0, len(chunk), _BLOCK):
            yield chunk[start : start + _BLOCK]


def _take_rows(chunks: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted indices over all chunks in order) as one float64 array."""
    ends = np.cumsum([len(c) for c in chunks])
    which = np.searchsorted(ends, rows, side="right")
    starts = ends - np.array([len(c) for c in chunks])
    parts = [
        np.asarray(chunks[i][rows[which == i] - starts[i]], dtype=np.float64)
        for i in np.unique(which)
    ]
    return np.concatenate(parts) if parts else np.empty((0, chunks[0].shape[1]))


def _plain(value: Any) -> Any:
    """NumPy scalars as Python values, so that they validate and save as JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, (tuple, list, np.ndarray)):
            value = [_plain(v) for v in value]
        out[key] = _plain(value)
    return out
