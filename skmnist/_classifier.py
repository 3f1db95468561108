"""SkMNISTClassifier: a scikit-learn classifier that owns a skorch net."""

import copy
import inspect
import math
import numbers
import os
import threading
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch.callbacks import LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from ._augment import make_augmenter
from ._engine import (
    PRECISIONS,
    SkorchEngineNet,
    TensorBatchIterator,
    inference_chunk_size,
    predict_logits,
    prefers_channels_last,
    resolve_device,
    to_tensor,
)
from ._validation import (
    as_numeric_array,
    check_choice,
    check_float,
    check_image_shape,
    check_int,
    square_side,
)
from .models import get_model, list_models, model_hyperparameters
from .models._registry import export_builders, import_builders

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "rmsprop": (torch.optim.RMSprop, {}),
}
# Optimizers given by name run torch's fused (single-kernel) update on the
# CPU and CUDA: the same arithmetic as the default loop, in one pass over the
# parameters (benchmarks/README.md: the MLP's fit about 1.3x faster on a
# 2-core CPU). Optimizer classes passed by the user are left as they are.
_FUSED_OPTIMIZERS = ("adam", "adamw", "sgd")
_FUSED_DEVICES = ("cpu", "cuda")
_SCHEDULES = (None, "cosine", "step")
# Seeded training reseeds torch's process-wide generator inside fork_rng;
# fits in threads of one process take turns so they cannot reseed each other.
_SEEDED_TRAINING_LOCK = threading.RLock()
# Flat input is read as square images from this side up (8x8 = sklearn's digits).
_MIN_AUTO_IMAGE_SIDE = 8
# Architecture hyperparameters that are also estimator parameters.
_ARCH_PARAMS = ("hidden_units", "channels", "dropout", "batch_norm")


class SkMNISTClassifier(ClassifierMixin, BaseEstimator):
    """A PyTorch image classifier (CNN, LeNet-5 or MLP) as a scikit-learn estimator.

    The estimator stores plain parameters; ``fit`` builds the architecture
    from :mod:`skmnist.models`, wraps it in a ``skorch`` net (``net_``) and
    trains it with mini-batches sliced from tensors held on the training
    device.

    Parameters
    ----------
    arch : str or callable, default="auto"
        The architecture: a name from :func:`skmnist.models.list_models`
        (``"cnn"``, ``"lenet5"``, ``"mlp"``), a builder callable taking the
        keyword arguments ``in_channels``, ``height``, ``width`` and
        ``n_classes``, or ``"auto"``: ``"cnn"`` when the input is images
        (``(n, h, w)`` or ``(n, c, h, w)`` arrays, flat input with
        ``image_shape``, or flat input whose feature count is a square of at
        least 8x8) and ``"mlp"`` for other tabular input.
    hidden_units : tuple of int, default=None
        Hidden layer widths (the MLP's layers, the CNN's head). None uses
        the architecture's default.
    channels : tuple of int, default=None
        Output channels of the CNN's convolutional blocks; None uses the
        default ``(32, 64)``.
    dropout : float, default=None
        Dropout probability; None uses the architecture's default.
    batch_norm : bool, default=None
        Batch normalisation in the CNN; None uses the default (True).
    module_params : dict, default=None
        Further keyword arguments for the architecture builder.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of flat input
        whose feature count is not a square, e.g. ``(3, 32, 32)``. One entry
        may be -1 to infer it from the feature count, as in ``numpy.reshape``.
    input_scaling : {"standard", None}, default="standard"
        ``"standard"`` learns a mean and standard deviation in ``fit``
        (per channel for images, per feature for tabular input) and
        standardises every input with them, so raw uint8 pixels, 0-1 floats
        and tabular features all work. None feeds the values unchanged.
    augment : bool, "auto", dict, callable or None, default=None
        Train-time augmentation of image batches on the training device,
        never applied when predicting: ``True`` (or ``"auto"``) applies random
        shifts (2 pixels at 28x28), rotations (10 degrees) and zooms (10%);
        a dict such as ``{"shift": 2, "rotation": 15, "scale": 0.1,
        "shear": 5}`` sets them; a callable maps a float tensor
        ``(n, c, h, w)`` to an augmented one. Seeded by ``random_state``.
        See :class:`skmnist.BatchAugmenter`.
    lr : float, default=2e-3
        Learning rate.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, default="adam"
        The optimizer; ``"sgd"`` uses Nesterov momentum 0.9. On the CPU and
        CUDA, ``"adam"``, ``"adamw"`` and ``"sgd"`` run torch's fused update
        (``fused=True``); a class is used with its own defaults.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    lr_schedule : {"cosine", "step"} or None, default="cosine"
        Learning-rate schedule over ``max_epochs`` epochs: cosine annealing
        towards zero, or a step decay (x0.1 every third of the epochs). Each
        ``fit`` starts the schedule again; ``partial_fit`` calls continue it,
        the cosine restarting every ``max_epochs`` epochs.
    batch_size : int, default=32
        Samples per training batch (Keras' default; small data sets such as
        the bundled sample need the extra optimizer steps).
    max_epochs : int, default=10
        Epochs per call to ``fit`` (``partial_fit`` always trains one).
    validation_fraction : float, default=None
        Fraction of the training data held out (stratified) to report
        ``valid_loss`` and ``valid_acc`` each epoch and to drive early
        stopping. None trains on all the data.
    n_iter_no_change : int, default=None
        Early stopping: stop when the monitored loss (validation loss when
        ``validation_fraction`` is set, else training loss) has not improved
        by at least ``tol`` for this many epochs. With a validation set the
        weights of the best epoch are restored. None trains ``max_epochs``.
    tol : float, default=1e-4
        Minimum improvement of the loss for early stopping.
    device : str, default="auto"
        ``"auto"`` (a CUDA GPU when present, else the CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (Apple GPUs; not tested here).
    precision : {"32", "bf16", "16"}, default="32"
        Floating-point precision of the forward pass: full float32, bfloat16
        autocast, or float16 autocast with gradient scaling (for GPUs).
    compile : bool, default=False
        Compile the module with ``torch.compile`` (through skorch's
        ``compile`` option): slower first epoch, faster later ones on GPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. With an int, ``fit`` is reproducible on the CPU. Torch's
        global random state is left untouched.
    verbose : int, default=0
        Print a table row per epoch when > 0.
    warm_start : bool, default=False
        When True, ``fit`` continues training the current weights (and
        optimizer state) instead of starting over.
    checkpoint_dir : str or path, default=None
        A folder where the model is saved (with :func:`skmnist.save`,
        atomically) after every completed epoch, as ``checkpoint.skmnist``.
    resume : bool, default=False
        When True and ``checkpoint_dir`` holds a checkpoint written by an
        estimator with the same parameters, ``fit`` resumes the interrupted
        run from its last completed epoch instead of starting over: a fit
        killed half-way and then resumed trains the same model as one that
        ran through (on the CPU).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of values per sample (``channels * height * width``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X when it was a DataFrame with string column names.
    input_shape_ : tuple of int
        The per-sample shape ``(channels, height, width)`` the model sees;
        ``(1, 1, n_features)`` for tabular input.
    arch_ : str
        The architecture trained (``"auto"`` resolved).
    input_mean_ : ndarray or None
        The mean used to standardise inputs (per channel or per feature).
    input_std_ : ndarray or None
        The standard deviation used to standardise inputs.
    device_ : torch.device
        The device the model was trained on.
    net_ : SkorchEngineNet
        The skorch ``NeuralNetClassifier`` that trains the module.
    module_ : torch.nn.Module
        The trained PyTorch module.
    history_ : skorch.history.History
        Per-epoch records: ``train_loss``, ``valid_loss``, ``valid_acc``,
        ``dur``, ...
    n_iter_ : int
        Number of epochs trained in total.
    interrupted_ : bool
        True when the last call was stopped by Ctrl-C (``KeyboardInterrupt``);
        the model then holds the weights of the last completed epoch.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.
    skmnist.models.list_models : The architectures available for ``arch``.

    Notes
    -----
    Training runs inside ``torch.random.fork_rng``, so seeding never changes
    torch's global random state; fits in several threads of one process take
    turns. Results are reproducible on the CPU for a fixed ``random_state``
    and the same number of torch threads (joblib worker processes use fewer
    threads, which can change the last bits of probabilities); on a GPU some
    kernels are not deterministic.

    Examples
    --------
    >>> from skmnist import SkMNISTClassifier
    >>> from skmnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = SkMNISTClassifier(arch="mlp", max_epochs=2, random_state=0, device="cpu")
    >>> clf.fit(X[::10], y[::10]).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        arch="auto",
        *,
        hidden_units=None,
        channels=None,
        dropout=None,
        batch_norm=None,
        module_params=None,
        image_shape=None,
        input_scaling="standard",
        augment=None,
        lr=2e-3,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="cosine",
        batch_size=32,
        max_epochs=10,
        validation_fraction=None,
        n_iter_no_change=None,
        tol=1e-4,
        device="auto",
        precision="32",
        compile=False,
        random_state=None,
        verbose=0,
        warm_start=False,
        checkpoint_dir=None,
        resume=False,
    ):
        self.arch = arch
        self.hidden_units = hidden_units
        self.channels = channels
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.module_params = module_params
        self.image_shape = image_shape
        self.input_scaling = input_scaling
        self.augment = augment
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.precision = precision
        self.compile = compile
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Some CUDA kernels are not deterministic; the CPU path is.
        tags.non_deterministic = str(self.device).startswith("cuda")
        return tags

    # A builder registered with skmnist.models.register_model in a script or
    # notebook travels with the pickled estimator, so that joblib worker
    # processes (cross_val_score(..., n_jobs=2), GridSearchCV) know the name.
    def __getstate__(self):
        state = super().__getstate__()
        arch = getattr(self, "arch", None)  # (the fine-tuner has no arch parameter)
        if isinstance(arch, str):
            builders = export_builders([arch])
            if builders:
                state["_arch_builders"] = builders
        return state

    def __setstate__(self, state):
        import_builders(state.pop("_arch_builders", None))
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        # Fitted means a trained net exists: a fit that failed half-way is not.
        return hasattr(self, "net_")

    # ------------------------------------------------------------ parameters

    def _check_arch_params(self):
        if not (callable(self.arch) or isinstance(self.arch, str)):
            raise ValueError(
                f"arch must be 'auto', a registered name ({', '.join(list_models())}) or a "
                f"builder callable, got {self.arch!r}."
            )
        if isinstance(self.arch, str) and self.arch != "auto" and self.arch not in list_models():
            raise ValueError(
                f"Unknown arch={self.arch!r}. Known architectures: 'auto', "
                f"{', '.join(repr(m) for m in list_models())}. Architectures registered "
                "with skmnist.models.register_model exist only in the process that "
                "registered them (and in processes the estimator is pickled to): register "
                "it in this process, or pass the builder function itself as arch."
            )
        if self.module_params is not None and not isinstance(self.module_params, dict):
            raise ValueError(f"module_params must be a dict or None, got {self.module_params!r}.")

    def _check_training_params(self):
        check_image_shape(self.image_shape)
        make_augmenter(self.augment, seed=0, image_shape=(1, 28, 28))  # the spec alone
        check_choice(self.input_scaling, "input_scaling", ("standard", None))
        check_float(self.lr, "lr", low=0, low_open=True)
        if not (isinstance(self.optimizer, str) and self.optimizer in _OPTIMIZERS) and not (
            inspect.isclass(self.optimizer) and issubclass(self.optimizer, torch.optim.Optimizer)
        ):
            raise ValueError(
                f"optimizer must be one of {', '.join(repr(o) for o in _OPTIMIZERS)} or a "
                f"torch.optim.Optimizer subclass, got {self.optimizer!r}."
            )
        check_float(self.weight_decay, "weight_decay", low=0)
        check_choice(self.lr_schedule, "lr_schedule", _SCHEDULES)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.max_epochs, "max_epochs", low=1)
        check_float(self.validation_fraction, "validation_fraction", low=0, high=1,
                    low_open=True, high_open=True, allow_none=True)
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1, allow_none=True)
        check_float(self.tol, "tol", low=0)
        check_choice(self.precision, "precision", tuple(PRECISIONS))
        if not isinstance(self.compile, (bool, np.bool_)):
            raise ValueError(f"compile must be True or False, got {self.compile!r}.")
        check_int(self.verbose, "verbose", low=0)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be True or False, got {self.warm_start!r}.")
        if not isinstance(self.resume, (bool, np.bool_)):
            raise ValueError(f"resume must be True or False, got {self.resume!r}.")
        if self.checkpoint_dir is not None:
            if not isinstance(self.checkpoint_dir, (str, os.PathLike)):
                raise ValueError(
                    f"checkpoint_dir must be a folder path or None, got {self.checkpoint_dir!r}.")
            from .persistence import check_saveable

            check_saveable(self)
        elif self.resume:
            raise ValueError("resume=True needs checkpoint_dir: the folder to resume from.")
        if self.random_state is not None and not isinstance(
            self.random_state, (numbers.Integral, np.random.RandomState)
        ):
            raise ValueError(
                f"random_state must be None, an int or a numpy RandomState, got "
                f"{self.random_state!r}."
            )
        return resolve_device(self.device)

    def _arch_kwargs(self, arch):
        """The builder's hyperparameters: those set here and in module_params."""
        chosen = {name: getattr(self, name) for name in _ARCH_PARAMS
                  if getattr(self, name) is not None}
        chosen.update(self.module_params or {})
        if callable(arch):
            accepted = inspect.signature(arch).parameters
            takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
            known = set(accepted)
        else:
            takes_any = False
            known = set(model_hyperparameters(arch))
        unknown = sorted(k for k in chosen if k not in known)
        if unknown and not takes_any:
            raise ValueError(
                f"arch={self.arch_ if hasattr(self, 'arch_') else arch!r} does not take "
                f"{', '.join(unknown)}; it takes {', '.join(sorted(known)) or 'no hyperparameters'}."
                " Leave the others at None."
            )
        for key in ("hidden_units", "channels"):
            if isinstance(chosen.get(key), list):
                chosen[key] = tuple(chosen[key])
        return chosen

    # ------------------------------------------------------------------ data
    def _validate_X(self, X, *, reset):
        """Check X; return float32 array of shape (n, c, h, w) (tabular: (n, 1, 1, d))."""
        ndim = getattr(X, "ndim", None)
        if not isinstance(ndim, int):
            try:
                ndim = np.asarray(X).ndim
            except (ValueError, TypeError):  # ragged nested lists: let sklearn explain
                ndim = 2
        if ndim <= 2:
            X = validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite=True)
        else:
            X = as_numeric_array(X)
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        if X.ndim > 4:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features), 3-D (n_samples, height, width) or "
                f"4-D (n_samples, channels, height, width); got shape {X.shape}."
            )
        if reset:
            return self._images_from_fit_input(X)
        return self._images_from_predict_input(X)

    def _needs_images(self):
        return self.arch not in ("auto", "mlp")

    def _model_input_shape(self):
        """The per-sample shape the module sees (after any input adaptation)."""
        return self.input_shape_

    def _needs_images_reason(self):
        return f"arch={self.arch!r}"

    def _images_from_fit_input(self, X):
        n = X.shape[0]
        image_shape = check_image_shape(self.image_shape, int(np.prod(X.shape[1:])))
        if X.ndim == 2:
            d = X.shape[1]
            if image_shape is not None:
                if int(np.prod(image_shape)) != d:
                    raise ValueError(
                        f"image_shape={self.image_shape!r} has {int(np.prod(image_shape))} "
                        f"pixels but X has {d} features per sample."
                    )
                shape, kind = image_shape, "image"
            else:
                side = square_side(d)
                wants_image = self._needs_images()
                if side is not None and (side >= _MIN_AUTO_IMAGE_SIDE or wants_image):
                    shape, kind = (1, side, side), "image"
                elif wants_image:
                    raise ValueError(
                        f"{self._needs_images_reason()} needs images, but X has {d} features "
                        "per sample, "
                        "which is not a square number of pixels. Pass image_shape=(height, "
                        "width) or (channels, height, width), give X as (n, height, width) or "
                        "(n, channels, height, width), or use arch='mlp'."
                    )
                else:
                    shape, kind = (1, 1, d), "tabular"
        else:
            shape = (1,) + X.shape[1:] if X.ndim == 3 else X.shape[1:]
            if image_shape is not None and tuple(image_shape) != tuple(shape):
                raise ValueError(
                    f"image_shape={self.image_shape!r} does not match the images in X, "
                    f"whose shape is {X.shape[1:]}."
                )
            kind = "image"
        self.input_shape_ = tuple(int(s) for s in shape)
        self._input_kind = kind
        return X.reshape((n,) + self.input_shape_)

    def _images_from_predict_input(self, X):
        c, h, w = self.input_shape_
        n = X.shape[0]
        if X.ndim == 2:
            if X.shape[1] != self.n_features_in_:  # validate_data checked this already
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            return X.reshape((n, c, h, w))
        got = (1,) + X.shape[1:] if X.ndim == 3 else X.shape[1:]
        if tuple(got) != (c, h, w):
            raise ValueError(
                f"X holds images of shape {tuple(X.shape[1:])}, but this "
                f"{type(self).__name__} was fitted on images of shape {(c, h, w)} "
                "(channels, height, width). Resize them first, e.g. with "
                "skmnist.preprocessing.ImageResizer."
            )
        return X.reshape((n, c, h, w))

    def _to_device_tensor(self, X, device, *, fit_scaling=False):
        """A float32 tensor on ``device``, standardised in place.

        With ``fit_scaling`` the mean and standard deviation are learned from
        this data first (per channel for images, per feature for tabular
        input), in float32 on the device: no float64 copy of the data set.
        """
        Xt = to_tensor(X, device)
        if fit_scaling:
            if self.input_scaling is None:
                self.input_mean_ = self.input_std_ = None
            else:
                dims = (0, 2, 3) if self._input_kind == "image" else (0, 1, 2)
                var, mean = torch.var_mean(Xt, dim=dims, correction=0, keepdim=True)
                std = var.sqrt_()
                std[std < 1e-6 * mean.abs().clamp_min(1.0)] = 1.0
                self.input_mean_ = mean[0].cpu().numpy()
                self.input_std_ = std[0].cpu().numpy()
        if self.input_mean_ is not None:
            Xt.sub_(to_tensor(self.input_mean_, device)).div_(to_tensor(self.input_std_, device))
        return Xt

    def _encode_y(self, y, *, first, classes):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
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
        return LabelEncoder().fit(self.classes_).transform(y)

    # --------------------------------------------------------------- fitting
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
        self : SkMNISTClassifier
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
        self : SkMNISTClassifier
            The estimator, trained one more epoch.
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit (every label the "
                "model will ever see, e.g. classes=np.unique(y_all))."
            )
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X, y, *, incremental, classes=None):
        first = not hasattr(self, "net_") or not (incremental or self.warm_start)
        resumed = False
        if not incremental and self.resume and self._checkpoint_path() is not None \
                and os.path.exists(self._checkpoint_path()):
            self._adopt_checkpoint()
            first, resumed = False, True
        if first:
            self._check_arch_params()
        device = self._check_training_params()
        self.interrupted_ = False
        if first:
            for attr in ("net_", "classes_"):
                if hasattr(self, attr):
                    delattr(self, attr)
        images = self._validate_X(X, reset=first)
        y_enc = self._encode_y(y, first=first, classes=classes)
        if len(y_enc) != len(images):
            raise ValueError(
                f"X and y have different numbers of samples: {len(images)} and {len(y_enc)}."
            )
        if first:
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self.n_iter_ = 0
            self._best_loss = math.inf
            self._no_improvement = 0

        valid = None
        if self.validation_fraction is not None and not incremental:
            images, valid_images, y_enc, valid_y = self._split_validation(images, y_enc)
            valid = (valid_images, valid_y)

        cuda_devices = [device.index or 0] if device.type == "cuda" else []
        with _SEEDED_TRAINING_LOCK, torch.random.fork_rng(devices=cuda_devices):
            if first:
                torch.manual_seed(self._seed)
                self._build_net(device)
            net = self.net_
            net.augment_fn = make_augmenter(self.augment, seed=self._seed,
                                            image_shape=self._model_input_shape())
            Xt = self._to_device_tensor(images, device, fit_scaling=first)
            yt = torch.as_tensor(y_enc, dtype=torch.long, device=device)
            net.train_split = None
            if valid is not None:
                net.train_split = predefined_split(Dataset(
                    self._to_device_tensor(valid[0], device),
                    torch.as_tensor(valid[1], dtype=torch.long, device=device),
                ))
            # partial_fit continues one training run: callbacks (the LR
            # schedule) begin once, at the first call or after save/load.
            if not incremental or not getattr(net, "train_begun_", False):
                net.notify("on_train_begin", X=Xt, y=yt)
                net.train_begun_ = True
            if resumed:  # bring the LR schedule to where the run stopped
                for _ in range(self._run_epochs):
                    self._scheduler_step()
            elif not incremental:
                self._run_epochs = 0
            n_epochs = 1 if incremental else self.max_epochs - self._run_epochs
            try:
                self._epochs(Xt, yt, n_epochs, has_valid=valid is not None,
                             count_run=not incremental)
            finally:
                net.train_split = None
                if not incremental:
                    net.notify("on_train_end", X=Xt, y=yt)
                # A fitted module rests in eval mode, so predicting changes no state.
                net._set_training(False)
        return self

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
        try:
            train_idx, valid_idx = train_test_split(
                idx, test_size=n_valid, stratify=y_enc, random_state=self._seed % (2**31))
        except ValueError:  # a class too small to stratify
            train_idx, valid_idx = train_test_split(
                idx, test_size=n_valid, random_state=self._seed % (2**31))
        return images[train_idx], images[valid_idx], y_enc[train_idx], y_enc[valid_idx]

    def _make_module(self):
        """Build the freshly initialised ``nn.Module`` for the fitted data shape."""
        c, h, w = self.input_shape_
        n_classes = len(self.classes_)
        if callable(self.arch):
            arch = self.arch
            self.arch_ = getattr(self.arch, "__name__", repr(self.arch))
        else:
            arch = self.arch
            if arch == "auto":
                arch = "cnn" if self._input_kind == "image" else "mlp"
            self.arch_ = arch
        kwargs = self._arch_kwargs(arch)
        shape = dict(in_channels=c, height=h, width=w, n_classes=n_classes)
        module = arch(**shape, **kwargs) if callable(arch) else get_model(arch, **shape, **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                f"arch={self.arch!r} must build a torch.nn.Module, got {type(module).__name__}."
            )
        return module

    def _net_kwargs(self, module):
        """Extra keyword arguments for the skorch net (subclasses add to them)."""
        return {}

    def _before_epoch(self):
        """Hook run before every epoch (the fine-tuner unfreezes here)."""

    def _build_net(self, device):
        module = self._make_module()
        n_classes = len(self.classes_)
        if isinstance(self.optimizer, str):
            opt_cls, opt_defaults = _OPTIMIZERS[self.optimizer]
        else:
            opt_cls, opt_defaults = self.optimizer, {}
        opt_kwargs = {f"optimizer__{k}": v for k, v in opt_defaults.items()}
        # Always passed: AdamW's own default would otherwise decay by 0.01.
        opt_kwargs["optimizer__weight_decay"] = self.weight_decay
        if self.optimizer in _FUSED_OPTIMIZERS and device.type in _FUSED_DEVICES:
            opt_kwargs["optimizer__fused"] = True
        # Each fit restarts the schedule (last_epoch=-1); partial_fit calls
        # continue it. Cosine restarts every max_epochs epochs, so a long run
        # of partial_fit calls never trains at a learning rate of zero.
        callbacks = []
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_scheduler", LRScheduler(
                torch.optim.lr_scheduler.CosineAnnealingWarmRestarts, T_0=self.max_epochs,
                last_epoch=-1)))
        elif self.lr_schedule == "step":
            callbacks.append(("lr_scheduler", LRScheduler(
                torch.optim.lr_scheduler.StepLR, step_size=max(1, self.max_epochs // 3),
                gamma=0.1, last_epoch=-1)))
        self.net_ = SkorchEngineNet(
            module=module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=opt_cls,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__merge_last=True,
            iterator_train__seed=self._seed,
            iterator_valid=TensorBatchIterator,
            iterator_valid__batch_size=max(self.batch_size, inference_chunk_size(device)),
            train_split=None,
            classes=list(range(n_classes)),
            callbacks=callbacks,
            device=str(device),
            precision=self.precision,
            compile=bool(self.compile),
            channels_last=prefers_channels_last(module, device),
            verbose=self.verbose,
            **opt_kwargs,
            **self._net_kwargs(module),
        )
        self.net_.initialize()
        self.device_ = device

    # The trained module and its history live in the skorch net; these views
    # stay in step with it (also after unpickling, where skorch restores its
    # module separately).
    @property
    def module_(self):
        """The trained ``torch.nn.Module`` (``net_.module_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """The skorch training history (``net_.history``)."""
        return self.net_.history

    def _epochs(self, Xt, yt, n_epochs, *, has_valid, count_run):
        net = self.net_
        monitor = "valid_loss" if has_valid else "train_loss"
        best_state = None
        for _ in range(n_epochs):
            self._before_epoch()
            epoch_seed = (self._seed + 1_000_003 * (self.n_iter_ + 1)) % (2**63 - 1)
            torch.manual_seed(epoch_seed)
            net.iterator_train__seed = epoch_seed
            if hasattr(net.augment_fn, "reseed"):
                net.augment_fn.reseed(epoch_seed)
            snapshot = self._snapshot()
            try:
                net.fit_loop(Xt, yt, epochs=1)
            except KeyboardInterrupt:
                self._restore(snapshot)
                self.interrupted_ = True
                message = (
                    f"Training interrupted (KeyboardInterrupt) during epoch {self.n_iter_ + 1}; "
                    f"the model keeps the weights of the last completed epoch "
                    f"({self.n_iter_}).")
                warnings.warn(message, UserWarning, stacklevel=4)
                if self.verbose:
                    print(message)
                break
            self.n_iter_ += 1
            if count_run:
                self._run_epochs += 1
            if self.checkpoint_dir is not None:
                self._write_checkpoint()
            if self.n_iter_no_change is None:
                continue
            loss = net.history[-1, monitor]
            if loss < self._best_loss - self.tol:
                self._best_loss = loss
                self._no_improvement = 0
                if has_valid:
                    best_state = copy.deepcopy(self.module_.state_dict())
            else:
                self._no_improvement += 1
            if self._no_improvement >= self.n_iter_no_change:
                if best_state is not None:
                    self.module_.load_state_dict(best_state)
                if self.verbose:
                    print(f"Early stopping after epoch {self.n_iter_}: {monitor} did not "
                          f"improve by {self.tol} for {self.n_iter_no_change} epochs.")
                self._no_improvement = 0
                break

    # ------------------------------------------------- interruption, checkpoints
    def _lr_scheduler(self):
        for _, callback in self.net_.callbacks_:
            if isinstance(callback, LRScheduler):
                return getattr(callback, "lr_scheduler_", None)
        return None

    def _scheduler_step(self):
        scheduler = self._lr_scheduler()
        if scheduler is not None:
            scheduler.step()

    def _snapshot(self):
        """Copies of what an epoch changes, to undo a half-finished epoch."""
        scheduler = self._lr_scheduler()
        return {
            "module": copy.deepcopy(self.module_.state_dict()),
            "optimizer": copy.deepcopy(self.net_.optimizer_.state_dict()),
            "scheduler": None if scheduler is None else copy.deepcopy(scheduler.state_dict()),
            "history": len(self.net_.history),
        }

    def _restore(self, snapshot):
        self.module_.load_state_dict(snapshot["module"])
        self.net_.optimizer_.load_state_dict(snapshot["optimizer"])
        scheduler = self._lr_scheduler()
        if scheduler is not None and snapshot["scheduler"] is not None:
            scheduler.load_state_dict(snapshot["scheduler"])
        del self.net_.history[snapshot["history"]:]

    def _checkpoint_path(self):
        if self.checkpoint_dir is None:
            return None
        return os.path.join(os.fspath(self.checkpoint_dir), "checkpoint.skmnist")

    def _write_checkpoint(self):
        from .persistence import save

        os.makedirs(os.fspath(self.checkpoint_dir), exist_ok=True)
        save(self, self._checkpoint_path())

    def _adopt_checkpoint(self):
        """Take over the fitted state of the checkpoint in ``checkpoint_dir``."""
        from .persistence import load

        path = self._checkpoint_path()
        checkpoint = load(path, device=self.device)
        ignored = {"resume", "verbose", "device", "checkpoint_dir", "pretrained", "warm_start"}
        mine = {k: v for k, v in self.get_params(deep=False).items() if k not in ignored}
        theirs = {k: v for k, v in checkpoint.get_params(deep=False).items() if k not in ignored}
        if type(checkpoint) is not type(self) or mine != theirs:
            differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(
                f"The checkpoint {path!r} was written by a {type(checkpoint).__name__} with "
                f"other parameters ({', '.join(differ) or 'class'}); resume with the same "
                "parameters, or delete the checkpoint / set resume=False to start over.")
        params = set(self.get_params(deep=False))
        for key, value in vars(checkpoint).items():
            if key not in params:
                setattr(self, key, value)
        self.net_.verbose = self.verbose

    # ------------------------------------------------------------ predicting
    def _inference_device(self):
        try:
            return next(self.module_.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    def _logits(self, X):
        check_is_fitted(self)
        images = self._validate_X(X, reset=False)
        device = self._inference_device()
        Xt = self._to_device_tensor(images, device)
        return predict_logits(self.net_, Xt, inference_chunk_size(device))

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
