"""``AutoencoderTransformer``: the scikit-learn estimator that ``aefeat train`` and ``encode`` use."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from aefeat.config import TrainConfig, check_sizes, check_value
from aefeat.errors import AefeatError
from aefeat.network import DenseNetwork, NetworkSpec
from aefeat.scaling import Scaler

_D = TrainConfig()
SAMPLE_ROWS = 1000


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Dense autoencoder features, started from PCA so that they are never worse than PCA.

    Parameters
    ----------
    latent_dim : int, default=2
        Number of latent features (output columns ``z0 .. z{latent_dim-1}``).
    hidden : tuple of int, default=(128, 64)
        Hidden layer sizes of the encoder; the decoder mirrors them.
    activation, latent_activation, output_activation : str
        Keras activation names for the hidden, latent and output layers.
    linear_path : bool, default=True
        Add a linear path initialised from PCA next to the nonlinear path; PCA itself is kept
        unless the trained network is reliably better on the validation rows.
    epochs : int or None, default=None
        Passes over the training rows; None trains for a step budget that follows the data size
        and ends early when validation loss stops improving.
    batch_size : int or "auto", default="auto"
        "auto" gives about 64 steps per pass, between 32 and 256 rows.
    learning_rate : float, default=0.005
        Adam's peak learning rate (linear warm-up, then cosine decay to zero) for batches of 256
        rows or more; smaller batches use it times (batch_size / 256) ** 0.75.
    validation_split : float, default=0.2
        Share of rows (shuffled) held out for early stopping and model selection.
    patience : int, default=12
        Validation checks without improvement before the final anneal (default budget only).
    shuffle : bool, default=True
        Shuffle rows before splitting off validation rows and between epochs.
    impute : {"none", "mean", "median", "zero"}, default="none"
        How missing values are filled; "none" refuses them.
    random_state : int or None, default=None
        Seed for the split, initialisation and batches; None draws one (kept in ``random_state_``).
    max_time : float or None, default=None
        Seconds of training at most; training then ends with the best weights so far.

    Examples
    --------
    >>> from aefeat import AutoencoderTransformer
    >>> Z = AutoencoderTransformer(latent_dim=2, epochs=5).fit_transform(X)  # doctest: +SKIP
    """

    def __init__(
        self,
        latent_dim: int = _D.latent_dim,
        hidden: tuple[int, ...] = tuple(_D.hidden),
        activation: str = _D.activation,
        latent_activation: str = _D.latent_activation,
        output_activation: str = _D.output_activation,
        linear_path: bool = _D.linear_path,
        epochs: int = _D.epochs,
        batch_size: int | str = _D.batch_size,
        learning_rate: float = _D.learning_rate,
        validation_split: float = _D.validation_split,
        patience: int = _D.patience,
        shuffle: bool = _D.shuffle,
        impute: str = _D.impute,
        random_state: int | None = None,
        max_time: float | None = _D.max_time,
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
        """The parameters, validated (here, not in ``__init__``, as scikit-learn requires) and
        with NumPy scalars turned into plain Python values."""
        params = {key: _plain(value) for key, value in self.get_params().items()}
        for key in (
            "latent_dim",
            "activation",
            "latent_activation",
            "output_activation",
            "linear_path",
            "epochs",
            "batch_size",
            "learning_rate",
            "validation_split",
            "patience",
            "shuffle",
            "impute",
            "max_time",
        ):
            check_value(key, params[key], where=f"parameter {key}")
        hidden = params["hidden"]
        if isinstance(hidden, (list, tuple, np.ndarray)):
            hidden = [_plain(u) for u in hidden]
        elif isinstance(hidden, int) and not isinstance(hidden, bool):
            hidden = [hidden]  # one hidden layer, as MLPRegressor(hidden_layer_sizes=64) allows
        check_value("hidden", hidden, where="parameter hidden")
        params["hidden"] = tuple(hidden)
        check_value("seed", params["random_state"], where="parameter random_state")
        return params

    def _finite_mode(self) -> bool | str:
        return "allow-nan" if self.impute != "none" else True

    def fit(self, X: Any, y: Any = None, *, on_epoch: Any = None) -> AutoencoderTransformer:
        """Fit scaling and the autoencoder on ``X`` (rows x numeric features).

        ``on_epoch(epoch, max_epochs, logs)`` is called after every epoch (for progress bars).
        """
        p = self._check_params()
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite=self._finite_mode()
        )
        n_rows, n_features = X.shape
        check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features, n_rows=n_rows)
        seed = self._seed(p)
        self.scaler_ = _fit_scaler(X, p["impute"])
        # Scaled block by block into float32 (what Keras trains on): no float64 copy of the
        # whole matrix.
        X_scaled = np.empty(X.shape, dtype=np.float32)
        for start in range(0, n_rows, 65_536):
            block = np.array(X[start : start + 65_536], dtype=np.float64)
            X_scaled[start : start + 65_536] = self.scaler_.transform(self.scaler_.impute(block))
        from aefeat.train import train_network

        result = train_network(
            X_scaled,
            self._spec(p, n_features),
            seed=seed,
            **self._train_options(p),
            on_epoch=on_epoch,
        )
        rng = np.random.default_rng(seed)
        rows = rng.choice(X.shape[0], size=min(SAMPLE_ROWS, X.shape[0]), replace=False)
        self._set_fitted(result, seed, n_rows, np.asarray(X[np.sort(rows)], dtype=np.float64))
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
        """Fit on CSV or Parquet files too large for memory, streaming them chunk by chunk:
        one pass for scaling statistics, one for the ``IncrementalPCA`` start and validation
        rows, then one per epoch. ``columns`` are the feature columns, in order."""
        from aefeat.stream import ChunkedInput, train_streaming

        p = self._check_params()
        n_features = len(columns)
        check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features)
        seed = self._seed(p)
        result, scaler, sample = train_streaming(
            ChunkedInput(list(paths), list(columns), delimiter, encoding),
            self._spec(p, n_features),
            impute=p["impute"],
            seed=seed,
            **self._train_options(p),
            sample_size=SAMPLE_ROWS,
            on_epoch=on_epoch,
        )
        self.n_features_in_ = n_features
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.scaler_ = scaler
        self._set_fitted(result, seed, result.n_train + result.n_val, sample)
        return self

    @staticmethod
    def _seed(p: dict[str, Any]) -> int:
        seed = p["random_state"]
        # None draws a seed and records it, so that any run can be repeated.
        return int(np.random.SeedSequence().entropy % (2**32)) if seed is None else int(seed)

    @staticmethod
    def _train_options(p: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "epochs",
            "batch_size",
            "learning_rate",
            "validation_split",
            "patience",
            "shuffle",
            "max_time",
        )
        return {k: p[k] for k in keys}

    @staticmethod
    def _spec(p: dict[str, Any], n_features: int) -> NetworkSpec:
        return NetworkSpec(
            n_features=n_features,
            latent_dim=p["latent_dim"],
            hidden=p["hidden"],
            activation=p["activation"],
            latent_activation=p["latent_activation"],
            output_activation=p["output_activation"],
            linear_path=p["linear_path"],
        )

    def _set_fitted(self, result: Any, seed: int, n_rows: int, sample: np.ndarray) -> None:
        self.network_ = DenseNetwork(result.spec, result.weights)
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

    def _prepare(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        """``X`` checked against what ``fit`` saw, imputed and MinMax-scaled (in float64); also
        the dtype the result should have (float32 input gives float32 output)."""
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite=self._finite_mode(),
            reset=False,
        )
        X64 = self.scaler_.impute(np.array(X, dtype=np.float64))
        return self.scaler_.transform(X64), X.dtype

    def transform(self, X: Any) -> np.ndarray:
        """Latent features of ``X``: shape (rows, latent_dim)."""
        check_is_fitted(self, "network_")
        X_scaled, dtype = self._prepare(X)
        return self.network_.encode(X_scaled).astype(dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstructed features in the original units from latent values."""
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
        """Per-row mean squared reconstruction error in MinMax-scaled units."""
        check_is_fitted(self, "network_")
        return self.network_.reconstruction_error(self._prepare(X)[0]).astype(np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``z0 .. z{latent_dim-1}`` (the names ``aefeat encode`` writes)."""
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


def _fit_scaler(X: np.ndarray, impute: str) -> Scaler:
    """``Scaler.fit`` block by block when there is nothing to impute (every value is finite
    then): the same minimum and maximum without a float64 copy of the whole matrix."""
    if impute != "none" or len(X) <= 65_536:
        return Scaler.fit(X, impute)
    parts = [Scaler.fit(X[start : start + 65_536]) for start in range(0, len(X), 65_536)]
    return Scaler(
        np.min([q.data_min for q in parts], axis=0), np.max([q.data_max for q in parts], axis=0)
    )


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
