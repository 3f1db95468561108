"""Tests for the batch augmentation (skmnist/_augment.py)."""

import copy
import pickle

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from skmnist._augment import BatchAugmenter, make_augmenter

IMAGE = (1, 28, 28)


def square_batch(n=1, size=28, top=10, left=10, side=6, channels=1):
    """Zero images holding one bright square each."""
    X = torch.zeros(n, channels, size, size)
    X[:, :, top:top + side, left:left + side] = 1.0
    return X


def centre_of_mass(X):
    """(x, y) centre of mass of each image of a batch, in pixels."""
    mass = X.sum(dim=(1, 2, 3))
    ys = torch.arange(X.shape[2], dtype=X.dtype).view(1, 1, -1, 1)
    xs = torch.arange(X.shape[3], dtype=X.dtype).view(1, 1, 1, -1)
    return torch.stack([(X * xs).sum(dim=(1, 2, 3)) / mass,
                        (X * ys).sum(dim=(1, 2, 3)) / mass], dim=1)


def orientation(X):
    """Angle in degrees of the principal axis of each image (x right, y down)."""
    com = centre_of_mass(X)
    ys = torch.arange(X.shape[2], dtype=X.dtype).view(1, 1, -1, 1) - com[:, 1].view(-1, 1, 1, 1)
    xs = torch.arange(X.shape[3], dtype=X.dtype).view(1, 1, 1, -1) - com[:, 0].view(-1, 1, 1, 1)
    mxx, myy, mxy = ((X * v).sum(dim=(1, 2, 3)) for v in (xs * xs, ys * ys, xs * ys))
    return torch.rad2deg(0.5 * torch.atan2(2 * mxy, mxx - myy))


@pytest.fixture
def digits_like():
    gen = torch.Generator().manual_seed(0)
    X = square_batch(16)
    return (X + 0.05 * torch.rand(X.shape, generator=gen) - 0.3) / 0.3  # standardised-ish


# ----------------------------------------------------------------- shapes
@pytest.mark.parametrize("shape", [(8, 1, 28, 28), (5, 3, 32, 32), (3, 1, 20, 12), (1, 1, 8, 8)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device_preserved(shape, dtype):
    X = torch.rand(shape, dtype=dtype)
    Y = BatchAugmenter(seed=0)(X)
    assert Y.shape == X.shape and Y.dtype == dtype and Y.device == X.device
    assert Y.data_ptr() != X.data_ptr()


def test_empty_batch():
    X = torch.zeros(0, 1, 28, 28)
    assert BatchAugmenter(seed=0)(X).shape == X.shape


def test_input_is_not_modified(digits_like):
    before = digits_like.clone()
    BatchAugmenter(seed=0, max_shear=10)(digits_like)
    assert torch.equal(digits_like, before)


def test_identity_when_all_magnitudes_are_zero(digits_like):
    aug = BatchAugmenter(0, 0, 0, 0, seed=0)
    torch.testing.assert_close(aug(digits_like), digits_like, atol=1e-5, rtol=0)


# -------------------------------------------------------------- geometry
@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (2, 1), (1.5, -0.5)])
def test_shift_moves_the_square_by_k_pixels(dx, dy):
    X = square_batch()
    Y = BatchAugmenter().apply(X, {"shift": (dx, dy)})
    moved = centre_of_mass(Y) - centre_of_mass(X)
    torch.testing.assert_close(moved, torch.tensor([[dx, dy]], dtype=torch.float32),
                               atol=1e-4, rtol=0)
    assert Y.sum().item() == pytest.approx(X.sum().item(), rel=1e-5)  # nothing cut off
    if float(dx).is_integer() and float(dy).is_integer():  # whole pixels: exact copy
        torch.testing.assert_close(Y, torch.roll(X, (int(dy), int(dx)), dims=(2, 3)),
                                   atol=1e-5, rtol=0)


def test_random_shifts_match_the_drawn_parameters():
    X = square_batch(64)
    aug = BatchAugmenter(max_shift=3, max_rotation=0, max_scale=0, seed=1)
    shift = aug.sample_params(64)["shift"]
    moved = centre_of_mass(aug.reseed(1)(X)) - centre_of_mass(X)
    torch.testing.assert_close(moved, shift, atol=1e-4, rtol=0)
    assert shift.abs().max() <= 3
    assert shift.abs().max() > 2  # the range is used, not just its centre


def test_rotation_is_symmetric_and_bounded():
    # A thin horizontal bar: its principal axis gives the rotation angle.
    n = 400
    X = torch.zeros(n, 1, 28, 28)
    X[:, :, 13:15, 4:24] = 1.0
    aug = BatchAugmenter(max_shift=0, max_rotation=20, max_scale=0, seed=0)
    drawn = aug.sample_params(n)["rotation"]
    angles = orientation(aug.reseed(0)(X))
    torch.testing.assert_close(angles, drawn, atol=0.5, rtol=0)
    assert angles.abs().max() <= 20.5
    assert angles.max() > 15 and angles.min() < -15
    assert abs(angles.mean().item()) < 2.0  # symmetric around 0
    assert (angles > 0).float().mean().item() == pytest.approx(0.5, abs=0.1)


def test_scale_changes_the_size_within_bounds():
    X = square_batch(200, top=11, left=11, side=6)
    aug = BatchAugmenter(max_shift=0, max_rotation=0, max_scale=0.2, seed=0)
    ratio = aug(X).sum(dim=(1, 2, 3)) / X.sum(dim=(1, 2, 3))  # area grows as scale**2
    assert ratio.min() >= 0.8**2 - 0.05 and ratio.max() <= 1.2**2 + 0.05
    assert ratio.min() < 0.75 and ratio.max() > 1.3


@pytest.mark.parametrize("rotation, scale, shear, shift", [
    (25.0, 1.1, 12.0, (2.0, -1.0)),
    (-40.0, 0.8, -20.0, (1.5, 0.5)),
    (0.0, 1.0, 15.0, (0.0, 0.0)),
])
def test_matches_torchvision_affine(rotation, scale, shear, shift):
    # torchvision's own affine is the reference for the conventions (clockwise
    # angles in y-down images, shear along x, translation in pixels).
    X = torch.rand(2, 3, 20, 32, generator=torch.Generator().manual_seed(0))
    Y = BatchAugmenter(padding_mode="zeros").apply(
        X, {"rotation": rotation, "scale": scale, "shear": shear, "shift": shift})
    Z = TF.affine(X, angle=rotation, translate=list(shift), scale=scale, shear=[shear, 0.0],
                  interpolation=TF.InterpolationMode.BILINEAR)
    torch.testing.assert_close(Y, Z, atol=1e-4, rtol=0)


def test_border_padding_keeps_the_standardised_background(digits_like):
    background = digits_like[:, :, 0, 0].min().item()  # about -1, not 0
    Y = BatchAugmenter(max_shift=4, max_rotation=30, max_scale=0.2, seed=0)(digits_like)
    corners = Y[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.max().item() < background + 0.2
    zeros = BatchAugmenter(max_shift=4, max_rotation=30, max_scale=0.2, seed=0,
                           padding_mode="zeros")(digits_like)
    assert zeros[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].max().item() > background + 0.5


def test_transforms_differ_between_samples_of_a_batch():
    X = square_batch(32)
    Y = BatchAugmenter(seed=0)(X)
    flat = Y.flatten(1)
    assert all(not torch.allclose(flat[0], flat[i]) for i in range(1, 32))
    assert len({tuple(c) for c in centre_of_mass(Y).round(decimals=3).tolist()}) == 32


# --------------------------------------------------------------- seeding
def test_same_seed_same_output_different_seed_different(digits_like):
    a = BatchAugmenter(seed=3, max_shear=5)(digits_like)
    b = BatchAugmenter(seed=3, max_shear=5)(digits_like)
    c = BatchAugmenter(seed=4, max_shear=5)(digits_like)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_successive_calls_differ_and_reseed_restarts(digits_like):
    aug = BatchAugmenter(seed=0)
    first, second = aug(digits_like), aug(digits_like)
    assert not torch.allclose(first, second)
    assert aug.reseed(0) is aug
    assert torch.equal(aug(digits_like), first)
    assert torch.equal(aug(digits_like), second)
    aug.reseed(1)
    assert aug.seed == 1 and not torch.allclose(aug(digits_like), first)


def test_global_torch_rng_untouched(digits_like):
    state = torch.get_rng_state()
    aug = BatchAugmenter(seed=0)
    aug(digits_like)
    aug.reseed(5)(digits_like)
    BatchAugmenter(seed=None)(digits_like)
    make_augmenter(True, seed=0, image_shape=IMAGE)(digits_like)
    assert torch.equal(torch.get_rng_state(), state)


def test_pickle_round_trip(digits_like):
    aug = BatchAugmenter(max_shift=3, max_rotation=15, max_scale=0.2, max_shear=5, seed=7,
                         padding_mode="reflection", interpolation="nearest")
    first = aug(digits_like)  # the generator now exists
    restored = pickle.loads(pickle.dumps(aug))
    assert repr(restored) == repr(aug)
    assert restored._generators == {}  # torch.Generator cannot be pickled; not stored
    assert torch.equal(restored(digits_like), first)  # restarts from the seed
    assert torch.equal(copy.deepcopy(aug).reseed(7)(digits_like), first)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_cuda_with_a_cuda_generator(digits_like):
    X = digits_like.cuda()
    state = torch.cuda.get_rng_state()
    a = BatchAugmenter(seed=0)(X)
    assert a.device == X.device and a.shape == X.shape
    assert torch.equal(BatchAugmenter(seed=0)(X), a)
    assert torch.equal(torch.cuda.get_rng_state(), state)


# --------------------------------------------------------- make_augmenter
@pytest.mark.parametrize("augment", [None, False, np.False_])
def test_no_augmentation(augment):
    assert make_augmenter(augment, seed=0, image_shape=IMAGE) is None


@pytest.mark.parametrize("augment", [True, "auto", np.True_])
def test_defaults(augment):
    aug = make_augmenter(augment, seed=0, image_shape=IMAGE)
    assert isinstance(aug, BatchAugmenter)
    assert (aug.max_shift, aug.max_rotation, aug.max_scale, aug.max_shear) == (2, 10, 0.1, 0)
    assert aug.seed == 0 and aug.padding_mode == "border"


def test_default_shift_scales_with_the_image():
    assert make_augmenter(True, seed=0, image_shape=(3, 56, 56)).max_shift == pytest.approx(4)
    assert make_augmenter(True, seed=0, image_shape=(8, 8)).max_shift == pytest.approx(8 / 14)


def test_dict_spec_sets_magnitudes_and_keeps_defaults():
    spec = {"shift": 1, "rotation": 0, "shear": 5}
    aug = make_augmenter(spec, seed=2, image_shape=IMAGE)
    assert (aug.max_shift, aug.max_rotation, aug.max_scale, aug.max_shear) == (1, 0, 0.1, 5)
    assert spec == {"shift": 1, "rotation": 0, "shear": 5}  # not mutated
    aug = make_augmenter({"shift": 2, "rotation": 10, "scale": 0.1, "shear": 0}, seed=0,
                         image_shape=IMAGE)
    assert (aug.max_shift, aug.max_rotation, aug.max_scale, aug.max_shear) == (2, 10, 0.1, 0)


def test_seed_from_make_augmenter_is_deterministic(digits_like):
    a = make_augmenter(True, seed=11, image_shape=IMAGE)(digits_like)
    b = make_augmenter(True, seed=11, image_shape=IMAGE)(digits_like)
    c = make_augmenter(True, seed=12, image_shape=IMAGE)(digits_like)
    assert torch.equal(a, b) and not torch.allclose(a, c)


@pytest.mark.parametrize("spec, match", [
    ({"shift": -1}, r"augment\['shift'\] must be >= 0"),
    ({"rotation": -5}, r"augment\['rotation'\] must be >= 0"),
    ({"scale": -0.1}, r"augment\['scale'\] must be >= 0"),
    ({"shear": -3}, r"augment\['shear'\] must be >= 0"),
    ({"rotation": 181}, r"augment\['rotation'\] must be <= 180"),
    ({"scale": 1.0}, r"augment\['scale'\] must be < 1"),
    ({"shear": 90}, r"augment\['shear'\] must be < 90"),
    ({"shift": float("nan")}, r"augment\['shift'\] must be a finite number"),
    ({"shift": "2"}, r"augment\['shift'\] must be a finite number"),
    ({"rotation": True}, r"augment\['rotation'\] must be a finite number"),
    ({"rotate": 10}, r"unknown key\(s\) 'rotate'; the valid keys are 'shift', 'rotation', "
                     r"'scale', 'shear'"),
    ({"shift": 1, "flip": True, "zoom": 2}, r"unknown key\(s\) 'flip', 'zoom'"),
    ("yes", r"augment must be None, False, True, 'auto', a dict"),
    (1, r"augment must be None, False, True, 'auto', a dict"),
    (0.5, r"augment must be None, False, True, 'auto', a dict"),
    (BatchAugmenter, r"not the class BatchAugmenter"),
])
def test_invalid_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        make_augmenter(spec, seed=0, image_shape=IMAGE)


@pytest.mark.parametrize("kwargs, match", [
    ({"max_shift": -1}, "max_shift must be >= 0"),
    ({"max_rotation": 200}, "max_rotation must be <= 180"),
    ({"max_scale": 1}, "max_scale must be < 1"),
    ({"max_shear": -1}, "max_shear must be >= 0"),
    ({"seed": -1}, "seed must be >= 0"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"padding_mode": "constant"}, "padding_mode must be one of 'border', 'reflection'"),
    ({"interpolation": "bicubic"}, "interpolation must be one of 'bilinear', 'nearest'"),
])
def test_invalid_augmenter_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchAugmenter(**kwargs)


@pytest.mark.parametrize("X, error, match", [
    (torch.zeros(2, 28, 28), ValueError, r"shape \(n, channels, height, width\)"),
    (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), ValueError, "floating-point"),
    (np.zeros((2, 1, 28, 28), dtype=np.float32), TypeError, "expects a torch.Tensor"),
])
def test_invalid_batches(X, error, match):
    with pytest.raises(error, match=match):
        BatchAugmenter(seed=0)(X)


@pytest.mark.parametrize("augment", [True, "auto", {"rotation": 5}, BatchAugmenter()])
@pytest.mark.parametrize("image_shape", [(1, 1, 64), (1, 1, 784), (3, 1, 10)])
def test_tabular_input_is_rejected(augment, image_shape):
    with pytest.raises(ValueError, match="needs image input"):
        make_augmenter(augment, seed=0, image_shape=image_shape)


def test_user_callable_passes_through():
    def double(X):
        return 2 * X

    assert make_augmenter(double, seed=0, image_shape=IMAGE) is double
    assert make_augmenter(double, seed=0, image_shape=(1, 1, 20)) is double  # any input


def test_batch_augmenter_instance_is_copied_and_reseeded(digits_like):
    user = BatchAugmenter(max_rotation=30, seed=99)
    aug = make_augmenter(user, seed=5, image_shape=IMAGE)
    assert aug is not user and user.seed == 99 and aug.seed == 5
    assert aug.max_rotation == 30
    expected = BatchAugmenter(max_rotation=30, seed=5)(digits_like)
    assert torch.equal(aug(digits_like), expected)
