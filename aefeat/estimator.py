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
from aefeat.kernel import EncodeKernel
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
    hidden : tuple of int, default=(64, 32)
        Hidden layer sizes of the encoder; the decoder mirrors them.
    activation, latent_activation, output_activation : str
        Keras activation names for the hidden, latent and output layers.
    linear_path : bool, default=True
        Add a linear path initialised from PCA, with the nonlinear path starting at zero.
    epochs : int, default=200
        Maximum epochs; training stops early when validation loss stops improving.
    batch_size : int or "auto", default="auto"
        "auto" gives about 64 steps per epoch, between 32 and 1024 rows.
    learning_rate : float, default=0.003
        Adam's initial learning rate, halved when validation loss plateaus.
    validation_split : float, default=0.2
        Share of rows (shuffled) held out for early stopping and model selection.
    patience : int, default=12
        Epochs without improvement before stopping.
    shuffle : bool, default=True
        Shuffle rows before splitting off validation rows and between epochs.
    impute : {"none", "mean", "median", "zero"}, default="none"
        How missing values are filled; "none" refuses them.
    random_state : int or None, default=None
        Seed for the split, initialisation and batches; None draws one (kept in ``random_state_``).

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
        self.scaler_ = Scaler.fit(X, p["impute"])
        X_scaled = self.scaler_.prepare(X)
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
        keys = ("epochs", "batch_size", "learning_rate", "validation_split", "patience", "shuffle")
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
        self.training_info_ = {
            "n_rows": int(n_rows),
            "n_train": result.n_train,
            "n_val": result.n_val,
            "batch_size": result.batch_size,
            "seed": seed,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "duration_s": round(result.duration_s, 3),
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
        """Latent features of ``X``: shape (rows, latent_dim)."""
        Z, _, dtype = self._encode(X)
        return Z.astype(dtype, copy=False)

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
        return self._encode(X, with_error=True)[1]

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
        est.sample_ = md.sample()
        return est


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
