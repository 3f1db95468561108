"""SkMNISTFineTuner: continue training a fitted model on a new task."""

import copy
import os

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted
from torch.nn import functional as F

from ._base import BaseSkMNIST, load_saved
from ._classifier import SkMNISTClassifier
from ._validation import check_choice, check_float, check_int
from .models import get_model
from .models._surgery import (
    backbone_blocks,
    block_names,
    head_name,
    reinitialize,
    replace_head,
    set_trainable,
)

_HEADS = ("auto", "reuse", "replace", "reinit")


class SkMNISTFineTuner(BaseSkMNIST):
    """Fine-tune a trained skmnist model on new data, possibly with new classes.

    The pretrained network is copied (never changed); its head is reused
    when the new task has the same classes, else replaced by a fresh linear
    layer. Leading blocks can be frozen, unfrozen later, and trained with a
    smaller learning rate than the head. Images of another size or channel
    count are adapted (resized, channels averaged or repeated) to the input
    the pretrained network expects.

    Parameters
    ----------
    pretrained : SkMNISTClassifier, SkMNISTFineTuner, FrozenEstimator or str
        A fitted estimator, a ``sklearn.frozen.FrozenEstimator`` wrapping one,
        or the path of a model saved with :func:`skmnist.save`. Note that
        ``sklearn.clone`` (used by ``cross_val_score`` and the searches)
        returns an *unfitted* copy of an estimator parameter: pass a path or
        a ``FrozenEstimator`` when the fine-tuner will be cloned.
    freeze : {"backbone", "none"} or int, default="backbone"
        What is frozen at the start: the backbone (the convolutional
        ``features`` blocks of skmnist's architectures; for other modules
        every block but the output layer), nothing, or the first ``freeze``
        blocks (see Notes). Frozen weights (and their batch-norm statistics)
        stay bit-identical. The dense layers after the convolutions always
        train with the head: they transfer poorly between tasks.
    unfreeze_epoch : int, default=None
        Unfreeze everything before this epoch (counted from 0 over all
        calls to ``fit``/``partial_fit``); None keeps the frozen blocks
        frozen.
    backbone_lr_factor : float, default=0.1
        Learning rate of the backbone, as a fraction of ``lr``, once it
        trains (``freeze="none"``, a partial ``freeze`` or after
        ``unfreeze_epoch``).
    head : {"auto", "reuse", "replace", "reinit"}, default="auto"
        The output layer: ``"reuse"`` keeps the pretrained one,
        ``"replace"`` puts a fresh linear layer in its place, and ``"auto"``
        reuses it when the new classes equal the pretrained ``classes_`` and
        replaces it otherwise. ``"reinit"`` replaces it and also
        re-initialises every layer outside the backbone (the dense hidden
        layers of skmnist's CNNs), keeping only the convolutional features:
        the choice when the new data comes from another domain (clothing to
        digits), whose pretrained dense layers are a bad start; fresh dense
        layers want a lower ``lr`` than the default, such as 3e-3
        (``benchmarks/README.md``: Fashion-MNIST to digits with 10 labels
        per class, +5.8 points over training from scratch at 3e-3, -3.4 at
        1e-2). Two data sets whose labels are both 0-9 have "the same
        classes" for ``"auto"``: pass ``"replace"`` or ``"reinit"`` when the
        labels mean different things.
    image_shape : tuple of int, default=None
        Shape of flat input that is not square, as in
        :class:`SkMNISTClassifier`.
    input_scaling : {"standard", None}, default="standard"
        Standardise the new data with its own mean and standard deviation
        (per channel), as the pretrained model's data was.
    augment : bool, "auto", dict, callable or None, default="auto"
        Train-time augmentation, as in :class:`SkMNISTClassifier`; applied
        to the adapted images the pretrained network sees. ``"auto"``
        augments when the pretrained architecture is one of skmnist's CNNs
        (``"cnn"``, ``"lenet5"``) and ``fit`` gets fewer than 20,000 images.
    lr : float, default=1e-2
        Learning rate of the head; the pretrained layers train at
        ``lr * backbone_lr_factor`` (1e-3 by default), the usual
        fine-tuning recipe of a fast new head on a slowly adapting backbone.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or optimizer class, default="adam"
        The optimizer.
    weight_decay : float, default=0.0
        L2 penalty.
    label_smoothing : float or "auto", default=0.0
        Label smoothing of the cross-entropy loss, in [0, 1) (``"auto"``
        is 0.0 too: the few-shot recipe was measured without it).
    lr_schedule : {"cosine", "step"} or None, default="cosine"
        Learning-rate schedule over ``max_epochs``.
    batch_size : int, default=32
        Samples per batch.
    max_epochs : int or "auto", default="auto"
        Epochs per ``fit``: ``"auto"`` is 20 when training augments (the
        default for skmnist's CNNs: the few-shot recipe of
        ``benchmarks/README.md``) and 10 otherwise.
    validation_fraction : float, default=None
        Held-out fraction for validation metrics and early stopping.
    n_iter_no_change : int, default=None
        Early-stopping patience in epochs.
    tol : float, default=1e-4
        Minimum loss improvement for early stopping.
    device : str, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``, as in
        :class:`SkMNISTClassifier`.
    precision : {"32", "bf16", "16"}, default="32"
        Forward-pass precision.
    compile : bool, default=False
        Compile the module with ``torch.compile``.
    n_jobs : int, default=None
        CPU threads torch uses inside ``fit`` and ``predict`` (the meaning
        XGBoost and LightGBM give it). None uses the cores that other
        processes leave idle, looking again every few seconds of a long fit,
        at most ``torch.get_num_threads()``: threads that wait for a busy
        core make training several times slower. An int pins the count,
        which also makes results reproducible bit for bit (the order of
        floating-point sums depends on it); -1 means every core. The
        caller's torch setting is restored afterwards.
    random_state : int, RandomState instance or None, default=None
        Seeds the new head, shuffling, dropout and validation split.
    verbose : int, default=0
        Print a row per epoch when > 0.
    warm_start : bool, default=False
        ``fit`` continues from the fine-tuned weights instead of starting
        again from the pretrained ones.
    checkpoint_dir : str or path, default=None
        Save ``checkpoint.skmnist`` there after every completed epoch.
    resume : bool, default=False
        Resume an interrupted ``fit`` from the checkpoint in
        ``checkpoint_dir``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The new task's labels.
    n_features_in_ : int
        Values per sample of the new data.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X when it was a DataFrame with string column names.
    input_shape_ : tuple of int
        Per-sample shape ``(channels, height, width)`` of the new data.
    model_input_shape_ : tuple of int
        The input shape of the pretrained network, which new data is
        adapted to.
    arch_ : str
        The pretrained architecture.
    base_recipe_ : dict
        How to rebuild the pretrained architecture (name, hyperparameters,
        input shape, class count); used by :func:`skmnist.load`.
    pretrained_classes_ : ndarray
        The pretrained model's classes.
    head_replaced_ : bool
        Whether a new head was created.
    frozen_ : list of str
        The blocks frozen now.
    input_mean_ : ndarray or None
        Mean used to standardise the new data.
    input_std_ : ndarray or None
        Standard deviation used to standardise the new data.
    input_range_ : tuple of float
        The smallest and largest input value seen in ``fit`` (and
        ``partial_fit``); ``predict`` warns when X lies far outside it.
    device_ : torch.device
        The training device.
    net_ : SkorchEngineNet
        The skorch net training the copy.
    module_ : torch.nn.Module
        The fine-tuned module.
    history_ : skorch.history.History
        Per-epoch records.
    n_iter_ : int
        Epochs fine-tuned in total.
    interrupted_ : bool
        True when the last call was stopped by Ctrl-C; the model then holds
        the weights of the last completed epoch.

    See Also
    --------
    SkMNISTClassifier : Train from scratch.

    Notes
    -----
    Blocks are the module's children in forward order, with
    ``nn.Sequential`` children split into their parts: for the CNN these
    are each convolutional block, each layer of the dense head, then the
    output layer. ``freeze=2`` freezes the two convolutional blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from skmnist import SkMNISTClassifier, SkMNISTFineTuner
    >>> from skmnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> low, high = y < 5, y >= 5
    >>> base = SkMNISTClassifier(channels=(8, 16), max_epochs=1, device="cpu",
    ...                          random_state=0).fit(X[low][::5], y[low][::5])
    >>> tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0)
    >>> tuner.fit(X[high][::25], y[high][::25]).classes_
    array([5, 6, 7, 8, 9])
    >>> tuner.head_replaced_
    True
    """

    def __init__(
        self,
        pretrained=None,
        *,
        freeze="backbone",
        unfreeze_epoch=None,
        backbone_lr_factor=0.1,
        head="auto",
        image_shape=None,
        input_scaling="standard",
        augment="auto",
        lr=1e-2,
        optimizer="adam",
        weight_decay=0.0,
        label_smoothing=0.0,
        lr_schedule="cosine",
        batch_size=32,
        max_epochs="auto",
        validation_fraction=None,
        n_iter_no_change=None,
        tol=1e-4,
        device="auto",
        precision="32",
        compile=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        checkpoint_dir=None,
        resume=False,
    ):
        self.pretrained = pretrained
        self.freeze = freeze
        self.unfreeze_epoch = unfreeze_epoch
        self.backbone_lr_factor = backbone_lr_factor
        self.head = head
        self.image_shape = image_shape
        self.input_scaling = input_scaling
        self.augment = augment
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.precision = precision
        self.compile = compile
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume

    _AUTO_RECIPE = {"plain": {"max_epochs": 10, "label_smoothing": 0.0},
                    "augmented": {"max_epochs": 20, "label_smoothing": 0.0},
                    "large": {"max_epochs": 10, "label_smoothing": 0.0}}

    _saved_attributes = {
        **BaseSkMNIST._saved_attributes,
        "model_input_shape_": "tuple",
        "base_recipe_": "json",
        "pretrained_classes_": "labels",
        "head_replaced_": "json",
        "frozen_": "json",
    }

    # ------------------------------------------------------------------ hooks
    def _check_model_params(self):
        if not (self.freeze in ("backbone", "none") or (
                isinstance(self.freeze, (int, np.integer)) and not isinstance(self.freeze, bool)
                and self.freeze >= 0)):
            raise ValueError(
                f"freeze must be 'backbone', 'none' or a number of leading blocks (>= 0), "
                f"got {self.freeze!r}.")
        check_int(self.unfreeze_epoch, "unfreeze_epoch", low=0, allow_none=True)
        check_float(self.backbone_lr_factor, "backbone_lr_factor", low=0)
        check_choice(self.head, "head", _HEADS)

    def _model_source(self):
        """The fitted pretrained estimator (loaded when ``pretrained`` is a path)."""
        base = self.pretrained
        if base is None:
            raise ValueError(
                "pretrained is required: a fitted SkMNISTClassifier (or fine-tuner), a "
                "FrozenEstimator wrapping one, or the path of a model saved with skmnist.save.")
        if isinstance(base, (str, os.PathLike)):
            return load_saved(os.fspath(base), (SkMNISTClassifier, SkMNISTFineTuner),
                              device="cpu")
        if isinstance(base, FrozenEstimator):
            base = base.estimator
        if not isinstance(base, BaseSkMNIST):
            raise ValueError(
                f"pretrained must be a skmnist estimator, a FrozenEstimator or a path, got "
                f"{type(base).__name__}.")
        try:
            check_is_fitted(base, "net_")
        except NotFittedError:
            raise ValueError(
                "pretrained is not fitted. If this fine-tuner was cloned (cross_val_score, "
                "GridSearchCV, sklearn.clone), its pretrained estimator was cloned too, which "
                "drops the weights: pass pretrained=FrozenEstimator(model) or the path of a "
                "model saved with skmnist.save instead.") from None
        return base

    def _images_required(self, base):
        return f"The pretrained {base.arch_!r} model" if base._input_kind == "image" else None

    def _model_input_shape(self):
        return self.model_input_shape_

    def _build_module(self, base):
        self.arch_ = base.arch_
        self.model_input_shape_ = tuple(base.input_shape_)
        self.pretrained_classes_ = np.asarray(base.classes_)
        self.base_recipe_ = _recipe_of(base)
        if self._input_kind != base._input_kind or (
                self._input_kind == "tabular" and self.input_shape_ != self.model_input_shape_):
            raise ValueError(
                f"Cannot adapt input of shape {self.input_shape_} ({self._input_kind}) to the "
                f"pretrained model's input {self.model_input_shape_} ({base._input_kind}): only "
                "images can be resized or have their channels adapted.")
        if self.input_shape_[0] != self.model_input_shape_[0] and 1 not in (
                self.input_shape_[0], self.model_input_shape_[0]):
            raise ValueError(
                f"Cannot adapt {self.input_shape_[0]}-channel images to a model trained on "
                f"{self.model_input_shape_[0]} channels (only 1 <-> N is supported).")
        # A compiled pretrained module is copied without its torch.compile wrapper.
        module = copy.deepcopy(getattr(base.module_, "_orig_mod", base.module_)).cpu()
        head = head_name(module)
        same_classes = (len(self.classes_) == len(self.pretrained_classes_)
                        and np.array_equal(self.classes_, self.pretrained_classes_))
        if self.head == "reuse" and len(self.classes_) != len(self.pretrained_classes_):
            raise ValueError(
                f"head='reuse' needs as many classes as the pretrained model "
                f"({len(self.pretrained_classes_)}), got {len(self.classes_)}; use "
                "head='auto', 'replace' or 'reinit'.")
        self.head_replaced_ = self.head in ("replace", "reinit") or (
            self.head == "auto" and not same_classes)
        if self.head_replaced_:
            replace_head(module, len(self.classes_), head)
        blocks = block_names(module)
        reinitialised = []
        if self.head == "reinit":
            backbone = set(backbone_blocks(module, head))
            reinitialised = [b for b in blocks if b != head and b not in backbone]
            reinitialize(module, reinitialised)
        if self.freeze == "backbone":
            frozen = backbone_blocks(module, head)
        elif self.freeze == "none":
            frozen = []
        else:
            if self.freeze >= len(blocks):
                raise ValueError(
                    f"freeze={self.freeze} would freeze all {len(blocks)} blocks ({blocks}); "
                    "leave at least the head trainable.")
            frozen = blocks[: self.freeze]
            overlap = [b for b in frozen if b in reinitialised]
            if overlap:
                raise ValueError(
                    f"freeze={self.freeze} would freeze {overlap}, which head='reinit' "
                    "re-initialises: frozen random weights never learn. "
                    f"Freeze at most the backbone ({len(blocks) - len(reinitialised) - 1} "
                    "blocks) or use head='replace'.")
        set_trainable(module, frozen, False)
        self.frozen_ = frozen
        return module

    def _rebuild_module(self):
        """The fine-tuned architecture from ``base_recipe_`` (for loading).

        A replaced head is a fresh ``nn.Linear(in_features, n_classes)``, which
        is what the builder itself makes for ``n_classes`` outputs.
        """
        recipe = self.base_recipe_
        shape = self.model_input_shape_
        if not (isinstance(recipe, dict) and {"arch", "params", "input_shape"} <= set(recipe)
                and isinstance(recipe["params"], (dict, type(None)))):
            raise ValueError(
                "base_recipe_ must be {'arch': ..., 'params': {...}, 'input_shape': [c, h, w]}, "
                f"got {recipe!r:.200}.")
        if recipe.get("arch") is None:
            raise ValueError(
                "This fine-tuned model was built from a custom (callable) architecture, which "
                "cannot be rebuilt from a saved file; use pickle/joblib for it (trusted files "
                "only).")
        if len(shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in shape) \
                or list(recipe["input_shape"]) != list(shape):
            raise ValueError(
                f"model_input_shape_={shape} and base_recipe_'s input_shape="
                f"{recipe['input_shape']!r} must be the same 3 positive integers.")
        if (self._input_kind == "tabular" and tuple(self.input_shape_) != tuple(shape)) or (
                self.input_shape_[0] != shape[0] and 1 not in (self.input_shape_[0], shape[0])):
            raise ValueError(
                f"input_shape_={self.input_shape_} ({self._input_kind}) cannot be adapted to "
                f"the pretrained input {tuple(shape)}: only images are resized, and only "
                "1 <-> N channels adapted.")
        classes = self.pretrained_classes_
        if classes.ndim != 1 or len(classes) < 1 or not isinstance(self.head_replaced_, bool) \
                or (not self.head_replaced_ and len(classes) != len(self.classes_)):
            raise ValueError(
                "pretrained_classes_ and head_replaced_ do not fit classes_: a reused head "
                "has as many classes as the pretrained model.")
        c, h, w = shape
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in (recipe["params"] or {}).items()}
        module = get_model(recipe["arch"], in_channels=c, height=h, width=w,
                           n_classes=len(self.classes_), **params)
        blocks = block_names(module)
        if not isinstance(self.frozen_, list) or any(b not in blocks for b in self.frozen_):
            raise ValueError(f"frozen_={self.frozen_!r:.200} must list blocks of the "
                             f"architecture, which has {blocks}.")
        return set_trainable(module, self.frozen_, False)

    def _net_params(self, module):
        kwargs = {"frozen_modules": tuple(self.frozen_)}
        factor = self.backbone_lr_factor
        if factor != 1.0:
            head = head_name(module)
            prefix = "_orig_mod." if self.compile else ""  # torch.compile's wrapper
            kwargs["optimizer__param_groups"] = [
                (f"{prefix}{name}.*", {"lr": self.lr * factor})
                for name in backbone_blocks(module, head)
            ]
        return kwargs

    def _before_epoch(self):
        if (self.unfreeze_epoch is not None and self.frozen_
                and self.n_iter_ >= self.unfreeze_epoch):
            set_trainable(self.module_, self.frozen_, True)
            if self.verbose:
                print(f"Unfreezing {', '.join(self.frozen_)} before epoch {self.n_iter_ + 1}.")
            self.frozen_ = []
            self.net_.frozen_modules = ()

    def _adapt_input(self, Xt):
        """Adapt standardised images to the pretrained input: channels, then size."""
        c, h, w = self.model_input_shape_
        if Xt.shape[1] != c:
            Xt = Xt.mean(dim=1, keepdim=True) if c == 1 else Xt.expand(-1, c, -1, -1)
        if tuple(Xt.shape[2:]) != (h, w):
            Xt = F.interpolate(Xt, size=(h, w), mode="bilinear", align_corners=False,
                               antialias=Xt.shape[2] > h or Xt.shape[3] > w)
        return Xt.contiguous()

    def _saved_params(self, params=None):
        # The weights are in the file: a path is kept, an in-memory model is not.
        params = self.get_params(deep=False) if params is None else params
        pretrained = params.get("pretrained")
        params["pretrained"] = (os.fspath(pretrained)
                                if isinstance(pretrained, (str, os.PathLike)) else None)
        return super()._saved_params(params)


def _recipe_of(base):
    """How to rebuild ``base``'s architecture: name, hyperparameters, input shape."""
    if isinstance(base, SkMNISTFineTuner):
        return copy.deepcopy(base.base_recipe_)
    if callable(base.arch):
        return {"arch": None, "params": None, "input_shape": list(base.input_shape_)}
    return {"arch": base.arch_, "params": base._arch_kwargs(base.arch_),
            "input_shape": list(base.input_shape_)}
