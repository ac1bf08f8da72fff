"""``AutoencoderTransformer``: the scikit-learn API over :mod:`aefeat.fitting` (fit) and the
NumPy encode kernel (transform); ``save`` and ``load`` read and write model directories."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from aefeat import fitting
from aefeat.core.kernel import EncodeKernel
from aefeat.core.params import PARAMS
from aefeat.core.prepare import ColumnStats
from aefeat.errors import AefeatError


def _sklearn_constraints() -> dict[str, list[Any]]:
    """scikit-learn's ``_parameter_constraints``, made from the one table in ``aefeat.core.params``."""
    return {p.estimator: [c.sklearn() for c in p.constraints] for p in PARAMS.estimator_params()}


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Dense autoencoder features, started from PCA so that they are never worse than PCA.

    The encoder and decoder each have a linear path initialised from PCA of the MinMax-scaled
    training data and a nonlinear path (the hidden layers) whose output layer starts small and
    random: the untrained model is PCA plus a small perturbation. Training keeps the weights
    with the best validation loss; the saved model is PCA itself (fitted on every training row)
    unless the trained network is reliably better than PCA on the validation rows. ``aefeat
    train`` fits the same model (through :mod:`aefeat.fitting`) and writes the same directory.

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

    output_activation : str, default="sigmoid_mix"
        Activation of the reconstruction, in MinMax-scaled units: "sigmoid_mix" learns per
        column a mix of the identity and a sigmoid bounded by the column's training range,
        starting at the identity (so the untrained model is the PCA start), which lets
        reconstructions bend towards columns' bounds; or one of the hidden activations.

    linear_path : bool, default=True
        Add a linear path initialised from PCA next to the nonlinear path (which starts small
        and random); PCA itself is kept unless the trained network is reliably better on the
        validation rows. With False the network starts from Keras' random initialisation.

    epochs : int or None, default=None
        Passes over the training rows; None trains for a step budget that follows the data size
        and ends early when validation loss stops improving.

    batch_size : int or "auto", default="auto"
        Rows per batch; "auto" gives about 8 batches per pass, between 32 and 256 rows.

    learning_rate : float, default=0.01
        Adam's peak learning rate (linear warm-up, then cosine decay to zero) for batches of 256
        rows or more; smaller batches use it times (batch_size / 256) ** 0.75.

    input_noise : float or "auto", default="auto"
        Standard deviation of the Gaussian noise added in training to the standardized columns
        entering the encoder's nonlinear path, as in a denoising autoencoder; the linear path,
        the loss, validation and the fitted model see clean rows. 0 for none. "auto" gives 0.2
        up to 16,000 training rows and 0.2 * sqrt(16,000 / training rows) above: a
        regularizer, needed less where there is more data.

    validation_split : float, default=0.2
        Share of rows (shuffled) held out for early stopping and choosing the weights.

    patience : int, default=12
        Validation checks without improvement before the final anneal (default budget only).

    shuffle : bool, default=True
        Shuffle rows before splitting off validation rows, and between epochs.

    impute : {"none", "mean", "median", "zero"}, default="none"
        How missing values (NaN, and ±inf, read as missing) are filled, with statistics of the
        training data; "none" refuses them.

    random_state : int, RandomState instance or None, default=None
        Seed (0 to 2**32 - 1) for the split, the initialisation and the batches. None draws
        one, and a ``numpy.random.RandomState`` gives one (each fit draws the next); the seed
        used is kept in ``random_state_`` so that the run can be repeated.

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
        Training and validation loss per validation check (about a pass over the training
        rows, or exactly one with ``epochs``), check 0 being the start.

    best_epoch_ : int
        Validation check whose weights were kept (0: none improved on the start).

    n_epochs_ : int
        Number of validation checks run (passes, with ``epochs``).

    batch_size_ : int
        Batch size used.

    val_mse_ : float
        Reconstruction MSE on the validation rows, in scaled units, of the kept model as
        fitted without them: the network's, or when PCA is kept, ``pca_val_mse_`` (the saved
        PCA is fitted on every row, the validation rows included).

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
        the network was not reliably better on the validation rows (never on fewer than 20
        validation rows).

    autoencoder_val_mse_ : float
        The trained network's validation MSE, whichever model was kept.

    ended_by_ : {"budget", "plateau", "max_time", "epochs", "no_gain", "diverged"}
        What ended training: the planned step budget, a plateau of the validation loss, the
        ``max_time`` budget, the ``epochs`` asked for, no check below PCA's validation loss
        by 30% of the budget (PCA is then kept), or a loss that became NaN or infinite.

    training_info_ : dict
        Row counts, batch size, seed, epochs and duration of the fit.

    sample_ : ndarray of shape (n_sample_rows, n_features_in_)
        Up to 1,000 training rows, in raw units, that ``aefeat inspect`` analyses when given no
        data. They travel with the estimator: into pickles, and into ``sample.npz`` of a saved
        model directory.

    fitted_ : aefeat.fitting.FittedModel
        All of the above as one object: what ``save`` writes as a model directory.

    See Also
    --------
    sklearn.decomposition.PCA : The linear projection this model starts from.
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
        input_noise: float | str = PARAMS.default("input_noise"),
        validation_split: float = PARAMS.default("validation_split"),
        patience: int = PARAMS.default("patience"),
        shuffle: bool = PARAMS.default("shuffle"),
        impute: str = PARAMS.default("impute"),
        max_time: float | None = PARAMS.default("max_time"),
        random_state: int | np.random.RandomState | None = PARAMS.default("random_state"),
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
        self.input_noise = input_noise
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
        params = self.get_params()
        if isinstance(params["random_state"], np.random.RandomState):
            # scikit-learn's meaning: the caller's generator decides, and every fit advances it
            params["random_state"] = int(params["random_state"].randint(np.iinfo(np.int32).max))
        return fitting.check_params(params)

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        """``validate_data``, with missing and infinite values left to the checks ``aefeat
        train`` and ``encode`` use: they read ±inf as missing, then fill it (``impute``) or
        refuse it naming the column and row. scikit-learn's refusal names neither, and
        refused ±inf even with ``impute``."""
        return validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite=False, reset=reset
        )

    def fit(self, X: Any, y: Any = None, *, on_epoch: Any = None) -> AutoencoderTransformer:
        """Fit the scaling and the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data; missing (NaN) or infinite values only with ``impute`` other
            than "none".
        y : None
            Ignored.
        on_epoch : callable, optional
            Called as ``on_epoch(step, planned_steps, logs)`` after every validation check
            (progress bars).

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        p = self._check_params()
        X = self._validate(X, reset=True)
        self._set_fitted(fitting.fit_chunks([X], self._columns(), p, on_epoch=on_epoch))
        return self

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
        holds is freed before training starts.

        Parameters
        ----------
        chunks : list of ndarray of shape (n_rows_i, n_features)
            The rows, in order; missing (NaN) or infinite values only with ``impute`` other
            than "none".
            Emptied by the call.
        columns : list of str
            The feature names, in order, each named once.
        stats : ColumnStats, optional
            Statistics already gathered over ``chunks``: they save a pass over the data.
        on_epoch : callable, optional
            As in :meth:`fit`.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        p = self._check_params()
        fitted = fitting.fit_chunks(chunks, columns, p, stats=stats, on_epoch=on_epoch)
        self._set_fitted_on(fitted.columns, fitted)
        return self

    def fit_files(
        self,
        paths: list[str],
        columns: list[str],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
        decimal: str = ".",
        on_epoch: Any = None,
    ) -> AutoencoderTransformer:
        """Fit on CSV or Parquet files too large for memory, streaming them chunk by chunk.

        One pass for the scaling statistics, one for the PCA start (exact: from the rows'
        covariance, accumulated chunk by chunk) and the validation rows, then one per epoch.

        Parameters
        ----------
        paths : list of str or path-like
            CSV (optionally gzipped) or Parquet files with the same columns.
        columns : list of str
            The feature columns, in order, each named once.
        delimiter, encoding, decimal : str
            How the CSV files are written: field separator, text encoding, and decimal mark
            ('.' or ',').
        on_epoch : callable, optional
            As in :meth:`fit`.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        p = self._check_params()
        from aefeat.io.sources import CsvFormat

        fmt = CsvFormat(delimiter, encoding, decimal)
        fitted = fitting.fit_files(paths, columns, p, fmt=fmt, on_epoch=on_epoch)
        self._set_fitted_on(fitted.columns, fitted)
        return self

    def _columns(self) -> list[str]:
        """The feature names ``fit`` saw, or ``x0``, ``x1``, ... when it saw none."""
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _set_fitted_on(self, columns: list[str], fitted: fitting.FittedModel) -> None:
        """:meth:`_set_fitted` for a fit on named columns (``fit_chunks``, ``fit_files``),
        where no ``validate_data`` set the input attributes."""
        self.n_features_in_ = len(columns)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self._set_fitted(fitted)

    def _set_fitted(self, fitted: fitting.FittedModel) -> None:
        training, metrics = dict(fitted.training), fitted.metrics
        self.network_ = fitted.network
        self.n_components_ = self.latent_dim_ = fitted.latent_dim
        self.scaler_ = fitted.scaler
        self.random_state_ = training.get("seed")
        self.history_ = fitted.history
        self.best_epoch_ = metrics.get("best_epoch")
        self.n_epochs_ = training.get("epochs_run")
        self.batch_size_ = training.get("batch_size")
        self.val_mse_ = metrics.get("val_mse")
        self.train_mse_ = metrics.get("train_mse")
        self.pca_val_mse_ = metrics.get("pca_val_mse")
        self.pca_explained_variance_ = metrics.get("pca_explained_variance")
        self.kept_ = metrics.get("model", "autoencoder")
        self.autoencoder_val_mse_ = metrics.get("autoencoder_val_mse", self.val_mse_)
        self.ended_by_ = training.get("ended_by")
        self.training_info_ = training
        self.sample_ = fitted.sample
        self.fitted_ = fitted

    def _encode(self, X: Any, with_error: bool = False) -> tuple[np.ndarray, Any, np.dtype]:
        """``X`` checked against what ``fit`` saw and run through the encode kernel that
        ``aefeat encode`` uses: (latent values, per-row errors or None, the input's dtype)."""
        check_is_fitted(self, "network_")
        # Missing and infinite cells are filled if the fitted model has fill values (not if
        # ``impute`` was changed since the fit), else refused by the kernel as encode does.
        X = self._validate(X, reset=False)
        kernel = EncodeKernel(self.scaler_, self.network_, self._columns())
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
            The decoder's reconstruction (float32 for float32 input, else float64).
        """
        check_is_fitted(self, "network_")
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.network_.spec.latent_dim:
            raise AefeatError(
                f"expected latent values with {self.network_.spec.latent_dim} columns, "
                f"got shape {Z.shape}",
                "inverse_transform",
            )
        X_original = self.scaler_.inverse_transform(
            self.network_.decode(Z.astype(np.float64)).astype(np.float64)
        )
        return X_original.astype(Z.dtype, copy=False)

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

    def score_samples(self, X: Any) -> np.ndarray:
        """Each row's reconstruction error, negated: higher is more like the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-reconstruction_error(X)``, in MinMax-scaled units.
        """
        return -self.reconstruction_error(X)

    def score(self, X: Any, y: Any = None) -> float:
        """The mean reconstruction error over ``X``, negated, so that greater is better as
        scikit-learn's model selection expects (``GridSearchCV`` without ``scoring``). More
        latent columns nearly always score higher, as with ``PCA.score``: compare models of the
        same size, or score what the features are for (a downstream estimator in a pipeline).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-mean(reconstruction_error(X))``, in MinMax-scaled units.
        """
        return float(np.mean(self.score_samples(X)))

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
        """Write the model directory that ``aefeat encode`` and ``aefeat inspect`` read at
        ``path``, a local path (or ``file://`` URL), as ``aefeat train -o`` takes it."""
        from aefeat.modeldir import model_dir_target

        check_is_fitted(self, "fitted_")
        path = model_dir_target(path)
        # Whether x0, x1, ... are names the caller gave, or stand for none (an array's columns).
        named = {"named_columns": hasattr(self, "feature_names_in_")}
        self.fitted_.save(path, config=config, extra={**named, **(extra or {})})

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderTransformer:
        """A fitted transformer from a model directory written by ``save`` or ``aefeat train``:
        a local path or a URL (``file://``, ``s3://`` ...), as ``aefeat encode`` takes it."""
        from aefeat.modeldir import load_model_dir

        path = os.fspath(path)  # not a Path: that would make "s3://b/m" the local "s3:/b/m"
        md = load_model_dir(path)
        meta = md.metadata
        params = meta.get("params", {})
        if not isinstance(params, dict):
            raise AefeatError(
                "metadata.json params must be an object", str(path), "retrain the model"
            )
        params = dict(params)
        if isinstance(params.get("hidden"), list):
            params["hidden"] = tuple(params["hidden"])
        est = cls(**{k: v for k, v in params.items() if k in cls._get_param_names()})
        try:
            # A forged value would come back from get_params() and break clone or a refit.
            fitting.check_params(est.get_params())
        except AefeatError as exc:
            raise AefeatError(
                f"metadata.json params are not valid: {exc}", str(path), "retrain the model"
            ) from None
        est.n_features_in_ = md.spec.n_features
        columns = md.columns
        named = meta.get("named_columns")
        if named is None:  # written before the flag: x0, x1, ... then stood for no names
            named = not all(c == f"x{i}" for i, c in enumerate(columns))
        if named:
            est.feature_names_in_ = np.asarray(columns, dtype=object)
        training = dict(meta.get("training", {}))
        history = training.pop("history", {})
        est._set_fitted(
            fitting.FittedModel(
                params=params,
                columns=columns,
                scaler=md.scaler,
                network=md.network,
                history=history,
                training=training,
                metrics=meta.get("metrics", {}),
                sample=md.sample(),
            )
        )
        return est
