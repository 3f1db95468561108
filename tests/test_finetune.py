"""SkMNISTFineTuner: freezing, heads, new labels, input adaptation, persistence."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_score

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, load, save
from skmnist.datasets import load_mnist_sample

SMALL = dict(channels=(8, 16), hidden_units=(32,), device="cpu", random_state=0)


@pytest.fixture(scope="module")
def mnist():
    X, y = load_mnist_sample(return_X_y=True, as_images=True)
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(X))
    return X[idx], y[idx]


@pytest.fixture(scope="module")
def base(mnist):
    X, y = mnist
    low = y < 5
    model = SkMNISTClassifier(max_epochs=2, augment=None, **SMALL)
    return model.fit(X[low][:1000], y[low][:1000])


@pytest.fixture()
def high(mnist):
    X, y = mnist
    keep = y >= 5
    return X[keep][:150], y[keep][:150]


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_pretrained_is_never_mutated(base, high):
    before = _state(base.module_)
    params = base.get_params()
    history = len(base.history_)
    SkMNISTFineTuner(base, freeze="none", max_epochs=2, device="cpu", random_state=0).fit(*high)
    after = _state(base.module_)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert base.get_params() == params
    assert len(base.history_) == history


def test_frozen_backbone_is_bit_identical_and_head_trains(base, high):
    tuner = SkMNISTFineTuner(base, freeze="backbone", max_epochs=2, device="cpu",
                             random_state=0).fit(*high)
    assert tuner.head_replaced_
    assert tuner.frozen_ == ["features.0", "features.1"]
    base_state = _state(base.module_)
    tuned = _state(tuner.module_)
    for key, value in base_state.items():
        if key.startswith("features."):
            # weights and batch-norm running statistics alike
            assert torch.equal(value, tuned[key]), key
        elif key.startswith("head.") and key.endswith("weight"):
            assert not torch.equal(value, tuned[key]), key  # the dense layers train
    assert tuned["classifier.weight"].shape == (5, base.module_.classifier.in_features)


def test_freeze_none_changes_backbone(base, high):
    tuner = SkMNISTFineTuner(base, freeze="none", max_epochs=1, device="cpu",
                             random_state=0).fit(*high)
    assert tuner.frozen_ == []
    assert not torch.equal(base.module_.features[0][0].weight,
                           tuner.module_.features[0][0].weight)


def test_freeze_leading_blocks(base, high):
    tuner = SkMNISTFineTuner(base, freeze=1, max_epochs=1, device="cpu",
                             random_state=0).fit(*high)
    assert tuner.frozen_ == ["features.0"]
    assert torch.equal(base.module_.features[0][0].weight, tuner.module_.features[0][0].weight)
    assert not torch.equal(base.module_.features[1][0].weight,
                           tuner.module_.features[1][0].weight)


def test_unfreeze_epoch(base, high):
    tuner = SkMNISTFineTuner(base, freeze="backbone", unfreeze_epoch=1, max_epochs=1,
                             lr_schedule=None, device="cpu", random_state=0).fit(*high)
    frozen_weight = tuner.module_.features[0][0].weight.detach().clone()
    assert torch.equal(frozen_weight, base.module_.features[0][0].weight)
    tuner.partial_fit(*high)  # epoch index 1: unfrozen now
    assert tuner.frozen_ == []
    assert not torch.equal(frozen_weight, tuner.module_.features[0][0].weight)


def test_backbone_lr_factor_param_groups(base, high):
    tuner = SkMNISTFineTuner(base, freeze="none", backbone_lr_factor=0.1,
                             lr_schedule=None, max_epochs=1, device="cpu").fit(*high)
    lrs = sorted({group["lr"] for group in tuner.net_.optimizer_.param_groups})
    assert lrs == pytest.approx([1e-3, 1e-2])


def test_head_reused_when_classes_match(base, mnist):
    X, y = mnist
    low = y < 5
    tuner = SkMNISTFineTuner(base, freeze="backbone", max_epochs=1, lr=1e-12,
                             lr_schedule=None, device="cpu").fit(X[low][1000:1200],
                                                                 y[low][1000:1200])
    assert not tuner.head_replaced_
    # With a negligible learning rate, the reused head predicts like the base
    # (input statistics are re-learned, so allow a few differences).
    agree = np.mean(tuner.predict(X[low][:200]) == base.predict(X[low][:200]))
    assert agree > 0.9


def test_head_options(base, high, mnist):
    X, y = mnist
    low = y < 5
    replaced = SkMNISTFineTuner(base, head="replace", max_epochs=1, device="cpu")
    assert replaced.fit(X[low][:100], y[low][:100]).head_replaced_
    with pytest.raises(ValueError, match="head='reuse' needs as many classes"):
        SkMNISTFineTuner(base, head="reuse", device="cpu").fit(high[0][:40],
                                                              np.arange(40) % 3)


def test_head_reinit_keeps_only_the_convolutional_features(base, mnist):
    X, y = mnist
    low = y < 5
    # Same classes as the base: "auto" would reuse everything; "reinit" starts
    # the dense layers and the output layer afresh. A negligible lr shows the
    # weights the fine-tuner starts from.
    params = dict(head="reinit", max_epochs=1, lr=1e-12, lr_schedule=None, device="cpu",
                  random_state=0)
    tuner = SkMNISTFineTuner(base, **params).fit(X[low][1000:1200], y[low][1000:1200])
    assert tuner.head_replaced_
    assert tuner.frozen_ == ["features.0", "features.1"]
    base_state, tuned = _state(base.module_), _state(tuner.module_)
    dense = [k for k in base_state if k.startswith(("head.", "classifier."))
             and k.endswith("weight")]
    assert dense and "head.2.weight" in dense
    for key in base_state:
        if key.startswith("features."):
            assert torch.equal(base_state[key], tuned[key]), key
    for key in dense:
        assert not torch.allclose(base_state[key], tuned[key], atol=1e-3), key
    # Kaiming-normal like a freshly built network, and seeded: reproducible.
    fan_in = tuned["head.2.weight"].shape[1]
    assert abs(tuned["head.2.weight"].std().item() - (2 / fan_in) ** 0.5) < 0.2 * (2 / fan_in) ** 0.5
    again = SkMNISTFineTuner(base, **params).fit(X[low][1000:1200], y[low][1000:1200])
    assert all(torch.equal(v, _state(again.module_)[k]) for k, v in tuned.items())
    # The re-initialised network starts near chance; the reused one does not.
    reused = SkMNISTFineTuner(base, **dict(params, head="auto")).fit(
        X[low][1000:1200], y[low][1000:1200])
    assert reused.score(X[low][:300], y[low][:300]) > tuner.score(X[low][:300], y[low][:300]) + 0.3


def test_head_reinit_trains_and_round_trips(base, high, tmp_path):
    tuner = SkMNISTFineTuner(base, head="reinit", max_epochs=2, augment=None, device="cpu",
                             random_state=0).fit(*high)
    assert tuner.score(*high) > 0.5
    loaded = load(save(tuner, tmp_path / "reinit.skmnist"))
    np.testing.assert_array_equal(loaded.predict_proba(high[0]), tuner.predict_proba(high[0]))


def test_head_reinit_refuses_to_freeze_reinitialised_layers(base, high):
    with pytest.raises(ValueError, match="freeze=3 would freeze.*head.2.*Freeze at most the "
                                         "backbone \\(2 blocks\\)"):
        SkMNISTFineTuner(base, head="reinit", freeze=3, device="cpu").fit(*high)
    tuner = SkMNISTFineTuner(base, head="reinit", freeze=2, max_epochs=1, device="cpu").fit(*high)
    assert tuner.frozen_ == ["features.0", "features.1"]


def test_head_reinit_on_an_mlp_is_a_new_output_layer(high, mnist):
    X, y = mnist
    mlp = SkMNISTClassifier(arch="mlp", hidden_units=(32,), max_epochs=1, device="cpu",
                            random_state=0).fit(X[:300], y[:300])
    tuner = SkMNISTFineTuner(mlp, head="reinit", max_epochs=1, device="cpu",
                             random_state=0).fit(*high)
    # An MLP's backbone is every layer but the output: only that is new.
    assert tuner.head_replaced_ and tuner.frozen_
    for key, value in _state(mlp.module_).items():
        if not key.startswith("classifier."):
            assert torch.equal(value, _state(tuner.module_)[key]), key


def test_new_label_types(base, high):
    X, y = high
    names = np.array(["five", "six", "seven", "eight", "nine"])[y - 5]
    tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0).fit(X, names)
    assert set(tuner.classes_) == set(names)
    assert set(tuner.predict(X)) <= set(names)
    proba = tuner.predict_proba(X)
    assert proba.shape == (len(X), 5)
    np.testing.assert_allclose(proba.sum(1), 1)


def test_input_adaptation_digits_8x8_onto_28x28(base):
    X, y = load_digits(return_X_y=True)  # flat 64 features, values 0..16
    tuner = SkMNISTFineTuner(base, freeze="none", max_epochs=3, device="cpu",
                             random_state=0).fit(X[:600], y[:600])
    assert tuner.input_shape_ == (1, 8, 8)
    assert tuner.model_input_shape_ == (1, 28, 28)
    assert tuner.score(X[600:900], y[600:900]) > 0.5
    assert tuner.predict(X[600:610].reshape(10, 8, 8)).shape == (10,)


def test_input_adaptation_colour_images(base, high):
    X, y = high
    rgb = np.repeat(X[:, None], 3, axis=1)  # (n, 3, 28, 28)
    tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0).fit(rgb, y)
    assert tuner.input_shape_ == (3, 28, 28)
    assert tuner.predict(rgb[:5]).shape == (5,)


def test_tabular_cannot_be_adapted():
    rng = np.random.RandomState(0)
    base = SkMNISTClassifier(max_epochs=1, device="cpu").fit(rng.rand(40, 5), np.arange(40) % 2)
    with pytest.raises(ValueError, match="Cannot adapt input"):
        SkMNISTFineTuner(base, device="cpu").fit(rng.rand(40, 7), np.arange(40) % 2)


def test_warm_start_and_partial_fit_continue(base, high):
    tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0).fit(*high)
    tuner.partial_fit(*high)
    assert tuner.n_iter_ == 2
    tuner.set_params(warm_start=True, max_epochs=2).fit(*high)
    assert tuner.n_iter_ == 4
    tuner.set_params(warm_start=False, max_epochs=1).fit(*high)
    assert tuner.n_iter_ == 1


def test_partial_fit_from_scratch_needs_classes(base, high):
    with pytest.raises(ValueError, match="classes must be passed"):
        SkMNISTFineTuner(base, device="cpu").partial_fit(*high)
    tuner = SkMNISTFineTuner(base, device="cpu").partial_fit(*high, classes=np.arange(5, 10))
    assert tuner.n_iter_ == 1


def test_clone_needs_frozen_estimator_or_path(base, high, tmp_path):
    tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu")
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(tuner).fit(*high)
    frozen = SkMNISTFineTuner(FrozenEstimator(base), max_epochs=1, device="cpu", random_state=0)
    assert clone(frozen).fit(*high).score(*high) > 0.2
    path = save(base, tmp_path / "base.skmnist")
    by_path = SkMNISTFineTuner(str(path), max_epochs=1, device="cpu", random_state=0)
    scores = cross_val_score(by_path, *high, cv=2)
    assert scores.shape == (2,)


def test_save_load_round_trip(base, high, tmp_path):
    X, y = high
    tuner = SkMNISTFineTuner(base, freeze=1, max_epochs=1, device="cpu", random_state=0).fit(X, y)
    loaded = load(save(tuner, tmp_path / "ft.skmnist"))
    assert type(loaded) is SkMNISTFineTuner
    np.testing.assert_array_equal(loaded.predict_proba(X), tuner.predict_proba(X))
    assert loaded.frozen_ == tuner.frozen_
    assert loaded.get_params()["pretrained"] is None
    loaded.partial_fit(X, y)  # continues without the pretrained model
    assert loaded.n_iter_ == 2
    assert torch.equal(loaded.module_.features[0][0].weight, base.module_.features[0][0].weight)


def test_finetune_a_finetuned_model(base, high, mnist):
    X, y = mnist
    first = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0).fit(*high)
    second = SkMNISTFineTuner(first, freeze="none", max_epochs=1, device="cpu",
                              random_state=0).fit(X[:100], y[:100] % 2)
    assert list(second.classes_) == [0, 1]
    assert second.base_recipe_["arch"] == "cnn"


def test_pickle_and_deepcopy(base, high):
    tuner = SkMNISTFineTuner(base, max_epochs=1, device="cpu", random_state=0).fit(*high)
    for copied in (pickle.loads(pickle.dumps(tuner)), copy.deepcopy(tuner)):
        np.testing.assert_array_equal(copied.predict_proba(high[0]), tuner.predict_proba(high[0]))


@pytest.mark.parametrize("params, match", [
    (dict(freeze="all"), "freeze must be"),
    (dict(freeze=-1), "freeze must be"),
    (dict(freeze=99), "would freeze all"),
    (dict(unfreeze_epoch=-1), "unfreeze_epoch must be >= 0"),
    (dict(backbone_lr_factor=-0.5), "backbone_lr_factor must be >= 0"),
    (dict(head="new"), "head must be one of"),
    (dict(lr=0), "lr must be > 0"),
])
def test_bad_parameters(base, high, params, match):
    with pytest.raises(ValueError, match=match):
        SkMNISTFineTuner(base, device="cpu", **params).fit(*high)


@pytest.mark.parametrize("pretrained, match", [
    (None, "pretrained is required"),
    ("not-a-model-file.skmnist", "No saved model"),
    (object(), "pretrained must be a skmnist estimator"),
    (SkMNISTClassifier(), "pretrained is not fitted"),
])
def test_bad_pretrained(high, pretrained, match):
    error = FileNotFoundError if match == "No saved model" else ValueError
    with pytest.raises(error, match=match):
        SkMNISTFineTuner(pretrained, device="cpu").fit(*high)


def test_auto_recipe_of_the_fine_tuner(base, high):
    # A CNN: augmented, 20 epochs (the few-shot recipe), no label smoothing.
    tuner = SkMNISTFineTuner(base, device="cpu", random_state=0).fit(high[0][:40], high[1][:40])
    assert tuner.net_.augment_fn is not None
    assert tuner.n_iter_ == 20 and tuner.net_.criterion_.label_smoothing == 0.0
    plain = SkMNISTFineTuner(base, augment=None, label_smoothing=0.05, device="cpu",
                             random_state=0).fit(high[0][:40], high[1][:40])
    assert plain.net_.augment_fn is None
    assert plain.n_iter_ == 10 and plain.net_.criterion_.label_smoothing == 0.05
