"""Random geometric augmentation of image batches, on the training device.

:class:`BatchAugmenter` draws one random affine transform per sample
(shift, rotation, scaling, shear) and warps the whole batch with a single
``torch.nn.functional.affine_grid`` + ``grid_sample`` call, on whatever
device the batch lives on: no per-sample Python loop, no PIL, no copy to
the host. Its random draws come from its own ``torch.Generator``, seeded
from an int, so torch's global random state is never touched.

:func:`make_augmenter` turns the classifiers' ``augment`` parameter into
such a callable (or None).
"""

import copy
import inspect

import numpy as np
import torch
import torch.nn.functional as F

from ._shapes import check_image_shape
from ._validation import check_choice, check_float, check_int

# Magnitudes of the default augmentation, for 28x28 digits. The shift is
# 1/14 of the image side (2 pixels at 28x28) and scales with the image.
_DEFAULT_SPEC = {"shift": 2.0, "rotation": 10.0, "scale": 0.1, "shear": 0.0}
_DEFAULT_SIDE = 28
_SPEC_KEYS = ("shift", "rotation", "scale", "shear")
_PADDING_MODES = ("border", "reflection", "zeros")
_INTERPOLATIONS = ("bilinear", "nearest")


def _check_magnitude(value, key, name):
    """Validate the magnitude ``key`` of :data:`_SPEC_KEYS`; errors say ``name``."""
    if key == "rotation":
        return check_float(value, name, low=0, high=180)
    if key == "scale":
        return check_float(value, name, low=0, high=1, high_open=True)
    if key == "shear":
        return check_float(value, name, low=0, high=90, high_open=True)
    return check_float(value, name, low=0)


class BatchAugmenter:
    """Random affine augmentation of a batch of images, one transform per sample.

    Each call draws, for every sample independently and uniformly, a shift
    of up to ``max_shift`` pixels along each axis, a rotation of up to
    ``max_rotation`` degrees either way, a zoom factor in
    ``[1 - max_scale, 1 + max_scale]`` and a horizontal shear of up to
    ``max_shear`` degrees either way, then warps the whole batch with one
    ``affine_grid`` + ``grid_sample`` on the batch's own device.

    Parameters
    ----------
    max_shift : float, default=2.0
        Largest translation, in pixels, along x and along y (each drawn
        independently). 2 pixels suits 28x28 digits.
    max_rotation : float, default=10.0
        Largest rotation, in degrees, in [0, 180].
    max_scale : float, default=0.1
        Largest relative zoom, in [0, 1): factors are drawn from
        ``[1 - max_scale, 1 + max_scale]``.
    max_shear : float, default=0.0
        Largest horizontal shear angle, in degrees, in [0, 90).
    seed : int or None, default=None
        Seed (a non-negative int, taken modulo 2**63) of the augmenter's own
        ``torch.Generator``, one per device, created on first use. None
        seeds it non-deterministically.
    padding_mode : {"border", "reflection", "zeros"}, default="border"
        What fills the pixels that come from outside the image.
        ``"border"`` repeats the edge pixels: for digits the edge is
        background, so the fill is the background value whatever the input
        scaling (after standardisation the background is a negative number,
        not 0, so ``"zeros"`` would paint a grey frame). Unlike a constant
        fill with the batch minimum it also keeps the background of
        inverted (light) images and of images with a textured edge.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        Resampling of the warped pixels.

    Attributes
    ----------
    seed : int or None
        The current seed; :meth:`reseed` changes it.

    See Also
    --------
    make_augmenter : Builds an augmenter from a classifier's ``augment``.

    Notes
    -----
    The generator is not part of the pickled state (torch generators cannot
    be pickled): an unpickled or deep-copied augmenter starts again from
    ``seed``. With the same seed, the same sequence of batch shapes gives
    bitwise identical output on the CPU. Torch's global random state is
    never used.

    Examples
    --------
    >>> import torch
    >>> from skmnist import BatchAugmenter
    >>> aug = BatchAugmenter(max_shift=2, max_rotation=10, seed=0)
    >>> X = torch.zeros(4, 1, 28, 28)
    >>> X[:, :, 10:18, 10:18] = 1.0
    >>> aug(X).shape
    torch.Size([4, 1, 28, 28])
    >>> torch.equal(aug.reseed(0)(X), BatchAugmenter(2, 10, seed=0)(X))
    True
    """

    def __init__(self, max_shift=2.0, max_rotation=10.0, max_scale=0.1, max_shear=0.0, *,
                 seed=None, padding_mode="border", interpolation="bilinear"):
        self.max_shift = _check_magnitude(max_shift, "shift", "max_shift")
        self.max_rotation = _check_magnitude(max_rotation, "rotation", "max_rotation")
        self.max_scale = _check_magnitude(max_scale, "scale", "max_scale")
        self.max_shear = _check_magnitude(max_shear, "shear", "max_shear")
        self.padding_mode = check_choice(padding_mode, "padding_mode", _PADDING_MODES)
        self.interpolation = check_choice(interpolation, "interpolation", _INTERPOLATIONS)
        self.seed = _check_seed(seed)
        self._generators = {}

    def __repr__(self):
        return (f"{type(self).__name__}(max_shift={self.max_shift:g}, "
                f"max_rotation={self.max_rotation:g}, max_scale={self.max_scale:g}, "
                f"max_shear={self.max_shear:g}, seed={self.seed!r}, "
                f"padding_mode={self.padding_mode!r}, interpolation={self.interpolation!r})")

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generators"] = {}  # torch.Generator cannot be pickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._generators = {}

    # -------------------------------------------------------------- seeding
    def reseed(self, seed):
        """Restart the random draws from ``seed``.

        Parameters
        ----------
        seed : int or None
            The new seed; None reseeds non-deterministically.

        Returns
        -------
        self : BatchAugmenter
            The augmenter, for chaining.

        Examples
        --------
        >>> import torch
        >>> from skmnist import BatchAugmenter
        >>> aug = BatchAugmenter(seed=0)
        >>> X = torch.rand(2, 1, 28, 28)
        >>> first = aug(X)
        >>> torch.equal(aug.reseed(0)(X), first)
        True
        """
        self.seed = _check_seed(seed)
        self._generators = {}
        return self

    def _generator(self, device):
        device = torch.device(device)
        key = str(device)
        generator = self._generators.get(key)
        if generator is None:
            generator = torch.Generator(device=device)
            if self.seed is None:
                generator.seed()
            else:
                generator.manual_seed(self.seed)
            self._generators[key] = generator
        return generator

    # ------------------------------------------------------------ transform
    def sample_params(self, n, device="cpu"):
        """Draw the random transform of each of ``n`` samples.

        Parameters
        ----------
        n : int
            Number of samples.
        device : str or torch.device, default="cpu"
            Device of the draws (and of the generator they come from).

        Returns
        -------
        params : dict of torch.Tensor
            ``"rotation"`` (degrees), ``"scale"``, ``"shear"`` (degrees),
            each of shape (n,), and ``"shift"`` of shape (n, 2): (dx, dy)
            in pixels, x to the right and y down.

        Examples
        --------
        >>> from skmnist import BatchAugmenter
        >>> params = BatchAugmenter(max_shift=3, seed=0).sample_params(5)
        >>> params["shift"].shape, bool(params["shift"].abs().max() <= 3)
        (torch.Size([5, 2]), True)
        """
        u = torch.rand((n, 5), generator=self._generator(device), device=device)
        u = u.mul_(2.0).sub_(1.0)  # uniform in [-1, 1)
        return {
            "rotation": u[:, 0] * self.max_rotation,
            "scale": 1.0 + u[:, 1] * self.max_scale,
            "shear": u[:, 2] * self.max_shear,
            "shift": u[:, 3:5] * self.max_shift,
        }

    def apply(self, X, params):
        """Warp each image of ``X`` by its own affine transform.

        Parameters
        ----------
        X : torch.Tensor of shape (n, channels, height, width)
            Floating-point images on any device.
        params : dict
            Per-sample transforms as returned by :meth:`sample_params`;
            values may also be Python numbers (one transform for all), and a
            missing key means no such transform.

        Returns
        -------
        X_warped : torch.Tensor
            A new tensor of the shape, dtype and device of ``X``.

        Examples
        --------
        >>> import torch
        >>> from skmnist import BatchAugmenter
        >>> X = torch.zeros(1, 1, 8, 8)
        >>> X[0, 0, 2, 2] = 1.0
        >>> Y = BatchAugmenter().apply(X, {"shift": (3.0, 1.0)})
        >>> torch.nonzero(Y[0, 0] > 0.5).tolist()
        [[3, 5]]
        """
        X = _check_batch(X)
        if X.shape[0] == 0:
            return X.clone()
        theta = _affine_theta(params, X.shape, X.device)
        grid = F.affine_grid(theta.to(X.dtype), list(X.shape), align_corners=False)
        return F.grid_sample(X, grid, mode=self.interpolation,
                             padding_mode=self.padding_mode, align_corners=False)

    def __call__(self, X):
        """Return a randomly augmented copy of the batch ``X``.

        Parameters
        ----------
        X : torch.Tensor of shape (n, channels, height, width)
            Floating-point images on any device.

        Returns
        -------
        X_augmented : torch.Tensor
            A new tensor of the shape, dtype and device of ``X``.
        """
        X = _check_batch(X)
        return self.apply(X, self.sample_params(X.shape[0], X.device))


def _check_seed(seed):
    if seed is None:
        return None
    return check_int(seed, "seed", low=0) % (2**63)


def _check_batch(X):
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"BatchAugmenter expects a torch.Tensor, got {type(X).__name__}.")
    if X.dim() != 4:
        raise ValueError(
            "BatchAugmenter expects a batch of images of shape (n, channels, height, "
            f"width); got a tensor of shape {tuple(X.shape)}."
        )
    if not X.is_floating_point():
        raise ValueError(f"BatchAugmenter expects floating-point images, got {X.dtype}.")
    return X


def _per_sample(value, n, device, default):
    """A (n,) float32 tensor from a per-sample tensor, a scalar or None."""
    if value is None:
        return torch.full((n,), float(default), device=device)
    t = torch.as_tensor(value, dtype=torch.float32, device=device)
    return t.expand(n) if t.dim() == 0 else t.reshape(n)


def _affine_theta(params, shape, device):
    """Sampling matrices (n, 2, 3) for ``affine_grid``.

    The forward transform in pixel coordinates centred on the image (x to
    the right, y down) is ``p' = R(rotation) @ Shear(shear) @ scale * p +
    shift``. ``affine_grid`` wants the inverse map, from output to input
    positions, in coordinates normalised to [-1, 1] over the width and the
    height (``align_corners=False``: pixel = normalised * size / 2).
    """
    n, _, h, w = shape
    angle = torch.deg2rad(_per_sample(params.get("rotation"), n, device, 0.0))
    scale = _per_sample(params.get("scale"), n, device, 1.0)
    # Shear(shear) = [[1, -tan(shear)], [0, 1]]: torchvision's sign convention.
    shear = -torch.tan(torch.deg2rad(_per_sample(params.get("shear"), n, device, 0.0)))
    shift = params.get("shift")
    if shift is None:
        shift = torch.zeros((n, 2), device=device)
    else:
        shift = torch.as_tensor(shift, dtype=torch.float32, device=device).expand(n, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # L = scale * R @ Shear = scale * [[a, b], [c, d]], det(R @ Shear) = 1, so
    # L^-1 = [[d, -b], [-c, a]] / scale.
    a, b = cos, cos * shear - sin
    c, d = sin, sin * shear + cos
    inv = torch.stack([d, -b, -c, a], dim=1).div_(scale[:, None]).view(n, 2, 2)
    # Normalised coordinates: p = D @ q with D = diag(w / 2, h / 2).
    half = torch.tensor([w / 2.0, h / 2.0], device=device)
    linear = inv * (half[None, None, :] / half[None, :, None])  # D^-1 L^-1 D
    offset = -torch.bmm(inv, shift.unsqueeze(2)).squeeze(2) / half  # -D^-1 L^-1 t
    return torch.cat([linear, offset.unsqueeze(2)], dim=2)


def make_augmenter(augment, *, seed, image_shape):
    """Turn a classifier's ``augment`` parameter into a batch augmenter.

    Parameters
    ----------
    augment : None, bool, "auto", dict, BatchAugmenter or callable
        * None or False: no augmentation (returns None).
        * True or ``"auto"``: a :class:`BatchAugmenter` with the default
          magnitudes: shifts of up to 1/14 of the image side (2 pixels at
          28x28), rotations of up to 10 degrees, zooms of up to 10%, no
          shear.
        * a dict with keys among ``"shift"`` (pixels, >= 0), ``"rotation"``
          (degrees, in [0, 180]), ``"scale"`` (in [0, 1)) and ``"shear"``
          (degrees, in [0, 90)): those magnitudes; a missing key keeps its
          default. The dict is not modified.
        * a :class:`BatchAugmenter`: a copy of it reseeded with ``seed``
          (the parameter itself is never modified).
        * any other callable: used as it is; it receives each training
          batch, a float tensor (n, channels, height, width) on the training
          device, already standardised, and returns the batch to train on.
    seed : int or None
        Seed of the augmenter's random draws.
    image_shape : tuple of int
        The per-sample shape ``(channels, height, width)`` the model sees;
        ``(1, 1, n_features)`` for tabular data, which geometric
        augmentation rejects.

    Returns
    -------
    augmenter : callable or None
        Maps a batch tensor to an augmented batch tensor of the same shape.

    Raises
    ------
    ValueError
        When ``augment`` is not one of the above, a dict has unknown keys or
        out-of-range values, or geometric augmentation is asked for tabular
        data.

    Examples
    --------
    >>> from skmnist._augment import make_augmenter
    >>> make_augmenter(True, seed=0, image_shape=(1, 28, 28))
    BatchAugmenter(max_shift=2, max_rotation=10, max_scale=0.1, max_shear=0, seed=0, \
padding_mode='border', interpolation='bilinear')
    >>> make_augmenter({"rotation": 15, "shift": 0}, seed=0, image_shape=(1, 28, 28)).max_rotation
    15.0
    >>> make_augmenter(None, seed=0, image_shape=(1, 28, 28)) is None
    True
    """
    if augment is None or augment is False or augment is np.False_:
        return None
    if inspect.isclass(augment):
        raise ValueError(
            f"augment must be an instance or a function, not the class {augment.__name__}; "
            f"e.g. augment={augment.__name__}(...)."
        )
    if isinstance(augment, BatchAugmenter):
        _check_image_input(augment, image_shape)
        return copy.deepcopy(augment).reseed(seed)
    if callable(augment):
        return augment
    if augment is True or augment is np.True_ or (isinstance(augment, str) and augment == "auto"):
        spec = {}
    elif isinstance(augment, dict):
        unknown = sorted(str(k) for k in augment if k not in _SPEC_KEYS)
        if unknown:
            raise ValueError(
                f"augment has unknown key(s) {', '.join(map(repr, unknown))}; the valid keys "
                f"are {', '.join(map(repr, _SPEC_KEYS))}."
            )
        spec = {key: _check_magnitude(augment[key], key, f"augment[{key!r}]") for key in augment}
    else:
        raise ValueError(
            "augment must be None, False, True, 'auto', a dict with keys among "
            f"{', '.join(map(repr, _SPEC_KEYS))}, a BatchAugmenter or a callable; got "
            f"{augment!r}."
        )
    _check_image_input(augment, image_shape)
    _, h, w = check_image_shape(image_shape)
    magnitudes = dict(_DEFAULT_SPEC)
    magnitudes["shift"] = _DEFAULT_SPEC["shift"] * max(h, w) / _DEFAULT_SIDE
    magnitudes.update(spec)
    return BatchAugmenter(
        max_shift=magnitudes["shift"], max_rotation=magnitudes["rotation"],
        max_scale=magnitudes["scale"], max_shear=magnitudes["shear"], seed=seed,
    )


def _check_image_input(augment, image_shape):
    shape = check_image_shape(image_shape)
    if shape is None:
        raise ValueError("image_shape is required: (channels, height, width) of a sample.")
    _, h, w = shape
    if h < 2 or w < 2:
        raise ValueError(
            f"augment={augment!r} needs image input, but each sample has shape {shape} "
            "(tabular features, or images one pixel high or wide): shifts, rotations and "
            "zooms are only defined for images. Pass X as (n_samples, height, width) or "
            "(n_samples, channels, height, width) arrays, or as flat square images, or set "
            "image_shape; otherwise leave augment=None (or pass your own callable)."
        )
