"""The estimator core both skmnist classifiers share.

:class:`BaseSkMNIST` holds what :class:`~skmnist.SkMNISTClassifier` and
:class:`~skmnist.SkMNISTFineTuner` have in common: the training parameters
and their checks, input validation and scaling, label encoding, building
the skorch net, ``fit``/``partial_fit`` (one ``_fit``), the predict methods,
checkpoints and the saved state. The two estimators are siblings on this
base; each implements a small set of hooks:

``_check_model_params()``
    Check the estimator's own parameters (no side effects).
``_model_source()``
    What a fresh fit builds its network from: the classifier's ``arch``,
    the fine-tuner's fitted (or loaded) pretrained estimator. Called once
    per fresh fit, after the parameter checks.
``_images_required(source)``
    None when flat input may be tabular, else who needs images (named in
    the error when the input holds none).
``_build_module(source)``
    The ``nn.Module`` for ``input_shape_`` and ``classes_`` (both set by
    then); sets the estimator's own fitted attributes (``arch_``, ...).
``_rebuild_module()``
    The same architecture from the saved fitted attributes (for
    :func:`skmnist.load`), weights to be loaded into it.
``_net_params(module)``
    Extra keyword arguments of the skorch net (parameter groups, frozen
    submodules).
``_adapt_input(Xt)``
    The standardised input tensor as the module takes it (the fine-tuner
    resizes and adapts channels); the identity by default.
``_model_input_shape()``
    The per-sample shape the module sees (``input_shape_`` by default).
``_before_epoch()``
    Runs before every epoch (the fine-tuner unfreezes there).

and declares the fitted attributes it saves in ``_saved_attributes`` (name
-> JSON kind). ``_fit`` reads as: check the parameters, adopt a checkpoint
or start fresh, validate and encode the data, build the net (or reuse it),
run the epochs.
"""

import contextlib
import glob
import json
import math
import numbers
import os
import threading
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch.callbacks import LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from . import _archive, _exit, _heap, _untrusted
from ._augment import make_augmenter
from ._doclinks import DocLinkMixin
from ._engine import (
    OPTIMIZERS,
    channel_mean_std,
    PRECISIONS,
    SkorchEngineNet,
    TensorBatchIterator,
    inference_chunk_size,
    optimizer_params,
    predict_logits,
    prefers_channels_last,
    resolve_device,
    to_tensor,
)
from ._shapes import check_image_shape, fit_image_shape, image_input_shape, validate_pixels
from ._threads import ThreadPolicy, check_n_jobs
from ._training import EpochRunner, seed_torch
from ._validation import check_bool, check_choice, check_float, check_int

_SCHEDULES = (None, "cosine", "step")
#: Architectures that augment="auto" augments: skmnist's convolutional ones.
_AUTO_AUGMENTED_ARCHS = ("cnn", "lenet5")
#: ... on fewer training images than this. Measured at both ends only: +1.5 points
#: on 4,000 sample images, -0.5 on Fashion-MNIST's 60,000 (benchmarks/README.md).
_AUTO_AUGMENT_MAX_SAMPLES = 20_000
# Seeded training reseeds torch's process-wide generator inside fork_rng;
# fits in threads of one process take turns so they cannot reseed each other.
_SEEDED_TRAINING_LOCK = threading.RLock()
# The estimators load torch and scikit-learn: let the interpreter's exit skip
# the final collection over their objects (skmnist/_exit.py; about 0.6 s).
_exit.install()
_CHECKPOINT_NAME = "checkpoint.skmnist"
# Parameters that do not have to match for a fit to resume a checkpoint.
_RESUME_IGNORES = {"resume", "verbose", "device", "n_jobs", "checkpoint_dir", "pretrained",
                   "warm_start"}


def load_saved(path, classes, *, device):
    """The estimator saved in ``path``, whose class must be one of ``classes``."""
    metadata, blobs = _archive.read_metadata(path)
    cls = {c.__name__: c for c in classes}.get(metadata.get("class"))
    if cls is None:
        raise ValueError(f"{path!r} holds an unknown estimator class {metadata.get('class')!r}.")
    return cls._from_saved_state(metadata, blobs, device=device, path=path)


def _json_param(name, value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_json_param(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_param(f"{name}[{k!r}]", v) for k, v in value.items()}
    raise ValueError(
        f"Parameter {name}={value!r} cannot be stored in the safe format (only numbers, "
        "strings, booleans, None, lists and dicts can). Use a registered arch name and a "
        "named optimizer, or save with pickle/joblib (only for files you trust)."
    )


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_float32_range(X):
    """Refuse values the float32 network cannot represent (they would become infinity)."""
    if X.dtype.kind == "f" and X.dtype.itemsize > 4 and X.size:
        peak = float(np.abs(X).max())
        if peak > _FLOAT32_MAX:
            raise ValueError(
                f"X holds values up to {peak:.3g} in absolute value, beyond the largest "
                f"float32 number ({_FLOAT32_MAX:.3g}), the precision the network computes "
                "in: they would become infinity. Rescale X (e.g. divide by its largest "
                "value, or take a logarithm) before fitting or predicting.")


def _label_kind(value):
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (numbers.Number, np.number)):
        return "number"
    return type(value).__name__


def _check_one_label_type(y, name):
    """Refuse labels of mixed types (``'0'`` and ``1``), which cannot be sorted."""
    if y.dtype != object or len(y) == 0:
        return
    kinds = {}
    for value in y:
        kinds.setdefault(_label_kind(value), value)
    if len(kinds) > 1:
        examples = ", ".join(f"{v!r} ({k})" for k, v in kinds.items())
        raise ValueError(
            f"{name} mixes label types: {examples}. Labels must be of one type to be sorted "
            f"into classes_; convert them, e.g. {name}.astype(str) or {name}.astype(int).")


class BaseSkMNIST(DocLinkMixin, ClassifierMixin, BaseEstimator):
    """Shared core of the skmnist classifiers (see the module docstring for the hooks).

    Not an estimator of its own: use :class:`~skmnist.SkMNISTClassifier` or
    :class:`~skmnist.SkMNISTFineTuner`.
    """

    #: Parameters that hold tuples (JSON gives lists back).
    _tuple_params = ("image_shape",)
    #: Fitted attributes the saved file holds: name -> JSON kind (see skmnist._archive).
    _saved_attributes = {
        "classes_": "labels",
        "n_features_in_": "int",
        "feature_names_in_": "labels",
        "input_shape_": "tuple",
        "arch_": "str",
        "input_mean_": "array",
        "input_std_": "array",
        "interrupted_": "json",
        "_input_kind": "str",
        "input_range_": "tuple",
        "_n_fit_samples": "int",
    }

    # ------------------------------------------------------------- sklearn
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Some CUDA kernels are not deterministic; the CPU path is.
        tags.non_deterministic = str(self.device).startswith("cuda")
        return tags

    def __sklearn_is_fitted__(self):
        # Fitted means a trained net exists: a fit that failed half-way is not.
        return hasattr(self, "net_")

    # The trained module, its history and the epoch count live in the skorch
    # net and the epoch runner; these views stay in step with them (also after
    # unpickling, where skorch restores its module separately).
    @property
    def module_(self):
        """The trained ``torch.nn.Module`` (``net_.module_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """The skorch training history (``net_.history``)."""
        return self.net_.history

    @property
    def n_iter_(self):
        """Number of epochs trained in total."""
        return self._runner.n_iter

    # --------------------------------------------------------------- hooks
    def _check_model_params(self):
        """Check the estimator's own parameters."""

    def _model_source(self):
        raise NotImplementedError

    def _images_required(self, source):
        return None

    def _build_module(self, source):
        raise NotImplementedError

    def _rebuild_module(self):
        raise NotImplementedError

    def _net_params(self, module):
        return {}

    def _adapt_input(self, Xt):
        return Xt

    def _model_input_shape(self):
        return self.input_shape_

    def _before_epoch(self):
        """Runs before every epoch."""

    # ------------------------------------------------- "auto" training recipe
    #: What ``"auto"`` means for max_epochs and label_smoothing in each regime
    #: of :meth:`_auto_regime` (``benchmarks/README.md``, issue 14's measurements).
    _AUTO_RECIPE = {"plain": {"max_epochs": 10, "label_smoothing": 0.0},
                    "augmented": {"max_epochs": 30, "label_smoothing": 0.1},
                    "large": {"max_epochs": 20, "label_smoothing": 0.1}}

    def _auto_regime(self):
        """Which ``"auto"`` recipe applies; needs the fitted ``arch_`` and input shape.

        * ``"augmented"``: augmentation on, because ``augment`` says so, or
          because it is ``"auto"`` and one of skmnist's CNNs trains on fewer
          than ``_AUTO_AUGMENT_MAX_SAMPLES`` images;
        * ``"large"``: ``augment="auto"``, a CNN, and at least that many
          images (augmentation cost accuracy there: Fashion-MNIST's 60,000);
        * ``"plain"``: anything else (the MLP, builder callables, augment off).
        """
        if isinstance(self.augment, str) and self.augment == "auto":
            _, h, w = self._model_input_shape()
            if not (h >= 2 and w >= 2 and self.arch_ in _AUTO_AUGMENTED_ARCHS):
                return "plain"
            # Files of earlier versions do not record it: they trained small sets.
            n = getattr(self, "_n_fit_samples", 0)
            return "augmented" if n < _AUTO_AUGMENT_MAX_SAMPLES else "large"
        spec = self.augment
        return "plain" if spec is None or spec is False or spec is np.False_ else "augmented"

    def _augment_spec(self):
        """``augment`` with ``"auto"`` resolved."""
        if isinstance(self.augment, str) and self.augment == "auto":
            return True if self._auto_regime() == "augmented" else None
        return self.augment

    def _resolved(self, name):
        """The value of ``max_epochs`` or ``label_smoothing``, ``"auto"`` resolved."""
        value = getattr(self, name)
        if isinstance(value, str) and value == "auto":
            return self._AUTO_RECIPE[self._auto_regime()][name]
        return value

    # ---------------------------------------------------------- parameters
    def _check_params(self):
        """Check the training parameters; return the training device."""
        check_image_shape(self.image_shape)
        make_augmenter(self.augment, seed=0, image_shape=(1, 28, 28))  # the spec alone
        check_choice(self.input_scaling, "input_scaling", ("standard", None))
        check_float(self.lr, "lr", low=0, low_open=True)
        if not (isinstance(self.optimizer, str) and self.optimizer in OPTIMIZERS) and not (
            isinstance(self.optimizer, type) and issubclass(self.optimizer, torch.optim.Optimizer)
        ):
            raise ValueError(
                f"optimizer must be one of {', '.join(repr(o) for o in OPTIMIZERS)} or a "
                f"torch.optim.Optimizer subclass, got {self.optimizer!r}."
            )
        check_float(self.weight_decay, "weight_decay", low=0)
        check_choice(self.lr_schedule, "lr_schedule", _SCHEDULES)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.max_epochs, "max_epochs", low=1, allow_auto=True)
        check_float(self.label_smoothing, "label_smoothing", low=0, high=1, high_open=True,
                    allow_auto=True)
        check_float(self.validation_fraction, "validation_fraction", low=0, high=1,
                    low_open=True, high_open=True, allow_none=True)
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1, allow_none=True)
        check_float(self.tol, "tol", low=0)
        check_choice(self.precision, "precision", tuple(PRECISIONS))
        check_bool(self.compile, "compile")
        check_n_jobs(self.n_jobs)
        check_int(self.verbose, "verbose", low=0)
        check_bool(self.warm_start, "warm_start")
        check_bool(self.resume, "resume")
        if self.checkpoint_dir is not None:
            if not isinstance(self.checkpoint_dir, (str, os.PathLike)):
                raise ValueError(
                    f"checkpoint_dir must be a folder path or None, got {self.checkpoint_dir!r}.")
            self._saved_params()  # checkpoints need parameters the safe format can hold
        elif self.resume:
            raise ValueError("resume=True needs checkpoint_dir: the folder to resume from.")
        if self.random_state is not None and not isinstance(
            self.random_state, (numbers.Integral, np.random.RandomState)
        ) or isinstance(self.random_state, (bool, np.bool_)):
            raise ValueError(
                f"random_state must be None, an int or a numpy RandomState, got "
                f"{self.random_state!r}."
            )
        if isinstance(self.random_state, numbers.Integral) and \
                not 0 <= self.random_state < 2**32:
            raise ValueError(
                f"random_state must be between 0 and 2**32 - 1 (numpy's seed range), got "
                f"{self.random_state!r}.")
        return resolve_device(self.device)

    # ---------------------------------------------------------------- data
    def _validate_X(self, X, *, reset, images_required=None):
        """Check X; return an array of shape (n, c, h, w) (tabular: (n, 1, 1, d))."""
        fitted_shape = None if reset else self.input_shape_
        X = validate_pixels(self, X, reset=reset, fitted_shape=fitted_shape)
        _check_float32_range(X)
        n = X.shape[0]
        if not reset:
            return X.reshape((n,) + tuple(self.input_shape_))
        if X.ndim == 2:
            shape = fit_image_shape(X, self.image_shape, required=images_required)
            kind = "tabular" if shape is None else "image"
            shape = (1, 1, X.shape[1]) if shape is None else shape
        else:
            shape, kind = image_input_shape(X, self.image_shape), "image"
        self.input_shape_ = tuple(int(s) for s in shape)
        self._input_kind = kind
        return X.reshape((n,) + self.input_shape_)

    def _to_device_tensor(self, X, device, *, fit_scaling=False):
        """The model's input: a float32 tensor on ``device``, standardised in place.

        With ``fit_scaling`` the mean and standard deviation are learned from
        this data first (per channel for images, per feature for tabular
        input): summed in float64 a chunk at a time (``channel_mean_std``), so
        that no value representable in float32 can make them overflow, and
        without a float64 copy of the data set.
        """
        Xt = to_tensor(X, device)
        if fit_scaling:
            if self.input_scaling is None:
                self.input_mean_ = self.input_std_ = None
            else:
                dims = (0, 2, 3) if self._input_kind == "image" else (0, 1, 2)
                mean, std = channel_mean_std(Xt, dims)
                self.input_mean_ = mean[0].cpu().numpy()
                self.input_std_ = std[0].cpu().numpy()
        if self.input_mean_ is not None:
            Xt.sub_(to_tensor(self.input_mean_, device)).div_(to_tensor(self.input_std_, device))
        return self._adapt_input(Xt)

    def _encode_y(self, y, *, first, classes):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
        _check_one_label_type(y, "y")
        if classes is not None:
            _check_one_label_type(np.asarray(classes).ravel(), "classes")
        check_classification_targets(y)
        if first:
            if classes is not None:
                classes_ = np.unique(np.asarray(classes))
                unseen = np.setdiff1d(np.unique(y), classes_)
                if unseen.size:
                    raise ValueError(
                        f"y contains labels {unseen.tolist()} that are not in classes="
                        f"{classes_.tolist()}; pass every label in `classes` on the first "
                        "partial_fit call."
                    )
            else:
                classes_ = np.unique(y)
            if len(classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but the data "
                    f"contains only one class: {classes_.tolist()!r}."
                )
            self.classes_ = classes_
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from the classes of the "
                    f"earlier fit, {self.classes_.tolist()}. Set warm_start=False (or clone "
                    "the estimator) to train on a new label set."
                )
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} not seen in the first fit "
                    f"(classes_={self.classes_.tolist()}). Continued training (warm_start or "
                    "partial_fit) keeps the label set; refit from scratch for new labels."
                )
        # classes_ is sorted (np.unique) and holds every label of y (checked above):
        # the codes are the positions, as LabelEncoder gives them.
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _split_validation(self, images, y_enc):
        n = len(y_enc)
        n_valid = int(math.ceil(self.validation_fraction * n))
        if n_valid < 1 or n - n_valid < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n - n_valid} "
                f"training and {n_valid} validation samples out of {n}; use more data or "
                "set validation_fraction=None."
            )
        idx = np.arange(n)
        seed = self._runner.seed % (2**31)
        try:
            train_idx, valid_idx = train_test_split(
                idx, test_size=n_valid, stratify=y_enc, random_state=seed)
        except ValueError:  # a class too small to stratify
            train_idx, valid_idx = train_test_split(idx, test_size=n_valid, random_state=seed)
        return images[train_idx], images[valid_idx], y_enc[train_idx], y_enc[valid_idx]

    # ------------------------------------------------------------- fitting
    def fit(self, X, y):
        """Train the network on images X and labels y for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, height, width) \
                or (n_samples, channels, height, width)
            Images, flat or not, uint8 or float; or tabular features.
        y : array-like of shape (n_samples,)
            Class labels of any type.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """Train for exactly one epoch over X, y, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image arrays
            Training images or features.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem. Required on the first call, when
            the estimator is not fitted yet.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit (every label the "
                "model will ever see, e.g. classes=np.unique(y_all))."
            )
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X, y, *, incremental, classes=None):
        """fit (``incremental=False``) and partial_fit (one epoch, continuing)."""
        device = self._check_params()
        if device.type == "cpu":
            _heap.tune_heap()  # keep freed batch memory in the process (skmnist/_heap.py)
        resumed = not incremental and self._adopt_checkpoint()
        fresh = not resumed and (not hasattr(self, "net_") or not (incremental or self.warm_start))
        source = self._start_fresh() if fresh else None
        images, y_enc = self._validate_data(X, y, fresh=fresh, source=source, classes=classes)
        self._record_input_range(images, fresh=fresh)
        if fresh:
            self._n_fit_samples = len(images)  # decides the "auto" recipe (_auto_regime)
            self._runner = EpochRunner(check_random_state(self.random_state).randint(2**31 - 1))
        valid = None
        if self.validation_fraction is not None and not incremental:
            images, valid_images, y_enc, valid_y = self._split_validation(images, y_enc)
            valid = (valid_images, valid_y)
        cuda_devices = [device.index or 0] if device.type == "cuda" else []
        with _SEEDED_TRAINING_LOCK, torch.random.fork_rng(devices=cuda_devices), \
                ThreadPolicy(self.n_jobs) as threads:
            if fresh:
                seed_torch(self._runner.seed, device)
                self._build_net(self._build_module(source), device)
            Xt = self._to_device_tensor(images, device, fit_scaling=fresh)
            yt = torch.as_tensor(y_enc, dtype=torch.long, device=device)
            self._run(Xt, yt, valid, device, incremental=incremental, resumed=resumed,
                      threads=threads)
        return self

    def _start_fresh(self):
        """A fit from scratch: check the model's parameters, forget the old fit, get the source."""
        self._check_model_params()
        source = self._model_source()
        for attr in ("net_", "classes_", "_runner"):
            if hasattr(self, attr):
                delattr(self, attr)
        return source

    def _validate_data(self, X, y, *, fresh, source, classes):
        """Images ``(n, c, h, w)`` and encoded labels; a fresh fit learns the input shape."""
        self.interrupted_ = False
        required = self._images_required(source) if fresh else None
        images = self._validate_X(X, reset=fresh, images_required=required)
        y_enc = self._encode_y(y, first=fresh, classes=classes)
        if len(y_enc) != len(images):
            raise ValueError(
                f"X and y have different numbers of samples: {len(images)} and {len(y_enc)}."
            )
        return images, y_enc

    def _run(self, Xt, yt, valid, device, *, incremental, resumed, threads):
        """Train ``net_``: ``max_epochs`` (less what a resumed run did), or one for partial_fit."""
        net, runner = self.net_, self._runner

        def before_epoch():
            threads.recheck()
            self._before_epoch()

        net.augment_fn = make_augmenter(self._augment_spec(), seed=runner.seed,
                                        image_shape=self._model_input_shape())
        net.train_split = None
        if valid is not None:
            net.train_split = predefined_split(Dataset(
                self._to_device_tensor(valid[0], device),
                torch.as_tensor(valid[1], dtype=torch.long, device=device)))
        runner.begin(net, Xt, yt, new_run=not incremental, resumed=resumed)
        n_epochs = 1 if incremental else self._resolved("max_epochs") - runner.run_epochs
        try:
            self.interrupted_ = runner.run(
                net, Xt, yt, n_epochs,
                monitor="valid_loss" if valid is not None else "train_loss",
                patience=self.n_iter_no_change, tol=self.tol, restore_best=valid is not None,
                count_run=not incremental, before_epoch=before_epoch,
                after_epoch=None if self.checkpoint_dir is None else self._write_checkpoint,
                verbose=self.verbose, warn_stacklevel=4)
        finally:
            net.train_split = None
            runner.end(net, Xt, yt, end_run=not incremental)

    def _build_net(self, module, device):
        """Wrap ``module`` in the skorch net that trains it (``net_``)."""
        callbacks = []
        max_epochs = self._resolved("max_epochs")
        # Each fit restarts the schedule (last_epoch=-1); partial_fit calls
        # continue it. Cosine restarts every max_epochs epochs, so a long run
        # of partial_fit calls never trains at a learning rate of zero.
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_scheduler", LRScheduler(
                torch.optim.lr_scheduler.CosineAnnealingWarmRestarts, T_0=max_epochs,
                last_epoch=-1)))
        elif self.lr_schedule == "step":
            callbacks.append(("lr_scheduler", LRScheduler(
                torch.optim.lr_scheduler.StepLR, step_size=max(1, max_epochs // 3),
                gamma=0.1, last_epoch=-1)))
        opt_cls, opt_kwargs = optimizer_params(self.optimizer, self.weight_decay, device)
        self.net_ = SkorchEngineNet(
            module=module,
            criterion=torch.nn.CrossEntropyLoss,
            criterion__label_smoothing=float(self._resolved("label_smoothing")),
            optimizer=opt_cls,
            lr=self.lr,
            max_epochs=max_epochs,
            batch_size=self.batch_size,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__merge_last=True,
            iterator_train__seed=self._runner.seed,
            iterator_valid=TensorBatchIterator,
            iterator_valid__batch_size=max(self.batch_size, inference_chunk_size(device)),
            train_split=None,
            classes=list(range(len(self.classes_))),
            callbacks=callbacks,
            device=str(device),
            precision=self.precision,
            compile=bool(self.compile),
            channels_last=prefers_channels_last(module, device),
            verbose=self.verbose,
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
            **self._net_params(module),
        )
        self.net_.initialize()
        self.device_ = device

    # ------------------------------------------------- checkpoints, saved state
    def _checkpoint_path(self):
        if self.checkpoint_dir is None:
            return None
        return os.path.join(os.fspath(self.checkpoint_dir), _CHECKPOINT_NAME)

    def _write_checkpoint(self):
        os.makedirs(os.fspath(self.checkpoint_dir), exist_ok=True)
        _archive.write(self._checkpoint_path(), **self._saved_state())

    def _adopt_checkpoint(self):
        """With ``resume``, take over the fitted state of the checkpoint; return whether.

        Temporary files that a killed checkpoint write left in the folder
        (``.skmnist-*.tmp``: the file being written before its atomic rename)
        are removed first.
        """
        path = self._checkpoint_path()
        if not self.resume or path is None:
            return False
        for stale in glob.glob(os.path.join(glob.escape(os.fspath(self.checkpoint_dir)),
                                            ".skmnist-*.tmp")):
            with contextlib.suppress(OSError):
                os.unlink(stale)
        if not os.path.exists(path):
            return False
        metadata, blobs = _archive.read_metadata(path)
        if metadata.get("class") != type(self).__name__:
            raise ValueError(
                f"The checkpoint {path!r} was written by a {metadata.get('class')} with "
                "other parameters (class); resume with the same parameters, or delete the "
                "checkpoint / set resume=False to start over.")
        checkpoint = type(self)._from_saved_state(metadata, blobs, device=self.device,
                                                   path=path)
        mine = {k: v for k, v in self.get_params(deep=False).items()
                if k not in _RESUME_IGNORES}
        theirs = {k: v for k, v in checkpoint.get_params(deep=False).items()
                  if k not in _RESUME_IGNORES}
        if mine != theirs:
            differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(
                f"The checkpoint {path!r} was written by a {type(checkpoint).__name__} with "
                f"other parameters ({', '.join(differ)}); resume with the same "
                "parameters, or delete the checkpoint / set resume=False to start over.")
        params = set(self.get_params(deep=False))
        for key, value in vars(checkpoint).items():
            if key not in params:
                setattr(self, key, value)
        self.net_.verbose = self.verbose
        return True

    def _saved_params(self, params=None):
        """The parameters as JSON values (raises for what the safe format cannot hold)."""
        params = self.get_params(deep=False) if params is None else params
        if params.get("checkpoint_dir") is not None:
            params["checkpoint_dir"] = os.fspath(params["checkpoint_dir"])
        return {k: _json_param(k, v) for k, v in params.items()}

    def _saved_state(self):
        """What a saved file holds: ``metadata``, ``weights`` and ``optimizer`` (the protocol).

        The metadata's ``fitted`` entry holds every attribute of
        ``_saved_attributes`` the estimator has, plus the epoch runner's
        state under the names of the format (``n_iter_``, ``_seed``,
        ``_run_epochs``).
        """
        fitted = {name: _archive.encode(kind, getattr(self, name))
                  for name, kind in self._saved_attributes.items() if hasattr(self, name)}
        runner = self._runner.state_dict()
        fitted.update({"n_iter_": runner["n_iter"], "_seed": runner["seed"],
                       "_run_epochs": runner["run_epochs"]})
        history = json.loads(json.dumps(self.history_.to_list(), default=float))
        metadata = {
            "class": type(self).__name__,
            "params": self._saved_params(),
            "fitted": fitted,
            "history": history,
            "versions": _archive.library_versions(),
        }
        module = getattr(self.net_.module_, "_orig_mod", self.net_.module_)  # torch.compile
        return {"metadata": metadata, "weights": module.state_dict(),
                "optimizer": self.net_.optimizer_.state_dict()}

    @classmethod
    def _from_saved_state(cls, metadata, members, *, device, path):
        """Rebuild a fitted estimator from a file's metadata and (unread) tensor members.

        The file is untrusted input (see :mod:`skmnist._untrusted`): the
        parameters and fitted attributes are checked as ``fit`` checks them,
        the architecture is built on the ``meta`` device to learn how large
        the tensor members must be before they are inflated, and the tensors
        are checked against it before the real network is built. Settings
        of the machine that wrote the file (``device``, ``checkpoint_dir``,
        ``resume``, ``n_jobs``, a ``pretrained`` path) are not obeyed:
        ``device`` is the argument given here, the others are reset.
        """
        label = getattr(members, "label", repr(path))
        target = resolve_device(device)
        estimator = _untrusted.checked_estimator(cls, metadata, device=device, label=label)
        estimator._runner = EpochRunner.from_state_dict(
            _untrusted.runner_state(metadata["fitted"], label))
        _untrusted.check_history(metadata["history"], label)
        _untrusted.check_layer_count(metadata, members.sizes["weights.pt"], label)
        saved_arch = estimator.arch_
        shapes = _untrusted.meta_module(estimator, label)
        if estimator.arch_ != saved_arch:
            raise ValueError(
                f"{label}: arch_={saved_arch!r} is not the architecture its parameters build "
                f"({estimator.arch_!r}). Refusing to load it.")
        blobs = members.read(_untrusted.member_limits(shapes, label))
        weights = _archive.read_tensors(blobs["weights.pt"], label=label, member="weights.pt")
        _untrusted.check_weights(weights, shapes, label)
        optimizer = _archive.read_tensors(blobs["optimizer.pt"], label=label,
                                          member="optimizer.pt")
        del blobs
        with torch.random.fork_rng(devices=[]):
            estimator._build_net(estimator._rebuild_module(), target)
        module = estimator.net_.module_
        optimizer = _untrusted.sanitized_optimizer_state(
            optimizer, estimator.net_.optimizer_, label)
        try:
            getattr(module, "_orig_mod", module).load_state_dict(weights)
            estimator.net_.optimizer_.load_state_dict(optimizer)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise ValueError(
                f"{label} does not match the architecture its metadata describes ({exc}). "
                "Refusing to load it.") from None
        for row in metadata["history"]:
            estimator.net_.history.new_epoch()
            for key, value in row.items():
                if key != "batches":
                    estimator.net_.history.record(key, value)
        return estimator

    # ---------------------------------------------------------- predicting
    def _inference_device(self):
        try:
            return next(self.module_.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    def _record_input_range(self, images, *, fresh):
        """``input_range_``: the smallest and largest value seen in fit (and partial_fit)."""
        if not images.size:
            return
        low, high = float(images.min()), float(images.max())
        if not fresh and getattr(self, "input_range_", None) is not None:
            low, high = min(low, self.input_range_[0]), max(high, self.input_range_[1])
        self.input_range_ = (low, high)

    def _warn_if_out_of_range(self, images):
        """Warn when X is on another scale than the training data (0-255 against 0-1)."""
        seen = getattr(self, "input_range_", None)
        if seen is None or not images.size:
            return
        low, high = seen
        span = max(high - low, 1e-12)
        got_low, got_high = float(images.min()), float(images.max())
        outside = got_high > high + span or got_low < low - span
        compressed = (self._input_kind == "image" and 0 < got_high - got_low < span / 50
                      and max(abs(got_low), abs(got_high)) < max(abs(low), abs(high)) / 50)
        if outside or compressed:
            warnings.warn(
                f"X lies far outside the values {type(self).__name__} was fitted on: its "
                f"values span [{got_low:.4g}, {got_high:.4g}], the training data's "
                f"[{low:.4g}, {high:.4g}]. Predictions for data on another scale are "
                "meaningless: scale X as the training data was (e.g. 0-255 pixels against "
                "0-1 floats: divide by 255, or multiply).", UserWarning, stacklevel=3)

    def _logits(self, X):
        check_is_fitted(self)
        images = self._validate_X(X, reset=False)
        self._warn_if_out_of_range(images)
        device = self._inference_device()
        with ThreadPolicy(getattr(self, "n_jobs", None)):
            Xt = self._to_device_tensor(images, device)
            chunk = inference_chunk_size(device, self.net_.module_, self.input_shape_)
            logits = predict_logits(self.net_, Xt, chunk)
        finite = torch.isfinite(logits).all(dim=1)
        if not bool(finite.all()):
            bad = (~finite).nonzero()[:, 0]
            raise ValueError(
                f"The network's output is not finite (NaN or infinity) for {len(bad)} of the "
                f"{len(logits)} samples of X (the first is row {int(bad[0])}), so they have no "
                "probabilities and no label. X probably holds values far outside those it was "
                f"fitted on (largest absolute value in these rows: "
                f"{float(np.abs(images[bad.numpy()]).max()):.3g}); check its scale, e.g. "
                "0-1 floats against 0-255 pixels.")
        return logits

    def predict_proba(self, X):
        """Class probabilities for X.

        Parameters
        ----------
        X : array-like
            Images or features shaped like the training data (flat or not).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        logits = self._logits(X)
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities for X.

        Parameters
        ----------
        X : array-like
            Images or features shaped like the training data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        logits = self._logits(X)
        return torch.log_softmax(logits.double(), dim=1).numpy()

    def predict(self, X):
        """Predict class labels for X.

        Parameters
        ----------
        X : array-like
            Images or features shaped like the training data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._logits(X)
        return self.classes_[logits.argmax(dim=1).numpy()]
