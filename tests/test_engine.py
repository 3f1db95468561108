"""The training engine (skmnist/_engine.py): batch iterator, devices, inference, tensors."""

import copy
import warnings

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset

from skmnist import SkMNISTClassifier
from skmnist._engine import (
    SkorchEngineNet,
    TensorBatchIterator,
    inference_chunk_size,
    predict_logits,
    prefers_channels_last,
    resolve_device,
    to_tensor,
)
from skmnist.models import get_model

# --------------------------------------------------------------------------
# TensorBatchIterator
# --------------------------------------------------------------------------


def _iterator(n, batch_size, with_y=True, **kwargs):
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1) * 10
    y = torch.arange(n) if with_y else None
    return TensorBatchIterator(Dataset(X, y), batch_size, **kwargs)


def _order(iterator):
    return torch.cat([yb for _, yb in iterator]).tolist()


@pytest.mark.parametrize("merge_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(("n", "batch_size"), [(1, 4), (7, 3), (8, 4), (9, 4), (33, 32),
                                               (65, 32), (5, 1), (3, 100)])
def test_iterator_covers_every_sample_once(n, batch_size, shuffle, merge_last):
    it = _iterator(n, batch_size, shuffle=shuffle, merge_last=merge_last, seed=0)
    batches = list(it)
    assert len(it) == len(batches)
    for Xb, yb in batches:
        assert len(Xb) == len(yb) >= 1
        assert torch.equal(Xb[:, 0], yb.float() * 10)  # X and y stay aligned
        if not merge_last:
            assert len(Xb) <= batch_size
    assert sorted(_order(it)) == list(range(n))
    assert sum(len(yb) for _, yb in batches) == n


def test_iterator_without_shuffle_keeps_order():
    assert _order(_iterator(10, 3)) == list(range(10))


def test_iterator_shuffle_changes_order():
    assert _order(_iterator(50, 8, shuffle=True, seed=0)) != list(range(50))


def test_iterator_same_seed_same_order():
    a = _order(_iterator(50, 8, shuffle=True, seed=7))
    b = _order(_iterator(50, 8, shuffle=True, seed=7))
    c = _order(_iterator(50, 8, shuffle=True, seed=8))
    assert a == b
    assert a != c


def test_iterator_unseeded_shuffle_follows_torch_global_rng():
    torch.manual_seed(3)
    a = _order(_iterator(50, 8, shuffle=True))
    torch.manual_seed(3)
    b = _order(_iterator(50, 8, shuffle=True))
    assert a == b
    assert a != list(range(50))


@pytest.mark.parametrize(
    ("n", "batch_size", "merge_last", "sizes"),
    [
        (33, 32, True, [33]),
        (33, 32, False, [32, 1]),
        (65, 32, True, [32, 33]),
        (66, 32, True, [32, 32, 2]),
        (64, 32, True, [32, 32]),
        (1, 32, True, [1]),  # a single sample has nothing to merge into
        (3, 1, True, [1, 2]),
        (0, 4, True, []),
    ],
)
def test_iterator_batch_sizes_and_merge_last(n, batch_size, merge_last, sizes):
    for shuffle in (False, True):
        it = _iterator(n, batch_size, shuffle=shuffle, merge_last=merge_last, seed=0)
        assert [len(Xb) for Xb, _ in it] == sizes
        assert len(it) == len(sizes)


def test_iterator_without_y_yields_none():
    for shuffle in (False, True):
        batches = list(_iterator(5, 2, with_y=False, shuffle=shuffle, seed=0))
        assert [yb for _, yb in batches] == [None, None, None]
        assert sorted(torch.cat([Xb for Xb, _ in batches])[:, 0].tolist()) == [0, 10, 20, 30, 40]


def test_iterator_is_reiterable():
    it = _iterator(20, 6, shuffle=True, seed=1)
    assert _order(it) == _order(it)
    it = _iterator(20, 6)
    assert _order(it) == _order(it) == list(range(20))


def test_classifier_reshuffles_every_epoch(digits_two_classes, monkeypatch):
    """The estimator gives the training iterator a new seed each epoch."""
    seeds = []
    original = TensorBatchIterator.__iter__

    def recording_iter(self):
        if self.shuffle:
            seeds.append(self.seed)
        return original(self)

    monkeypatch.setattr(TensorBatchIterator, "__iter__", recording_iter)
    X, y = digits_two_classes
    SkMNISTClassifier(arch="mlp", hidden_units=(8,), max_epochs=3, device="cpu",
                      random_state=0).fit(X, y)
    assert len(seeds) == 3
    assert len(set(seeds)) == 3
    assert None not in seeds


# --------------------------------------------------------------------------
# resolve_device
# --------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["auto", None])
def test_resolve_device_auto_is_cpu_without_cuda(device):
    assert resolve_device(device) == torch.device("cpu")


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_resolve_device_cpu(device):
    dev = resolve_device(device)
    assert isinstance(dev, torch.device)
    assert dev.type == "cpu"


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_resolve_device_cuda_without_cuda_is_helpful_error(device):
    with pytest.raises(ValueError, match="CUDA is not available") as exc:
        resolve_device(device)
    assert "device='cpu'" in str(exc.value)
    assert "'auto'" in str(exc.value)


@pytest.mark.parametrize("device", ["tpu", "gpu", "", "cuda0", "cpu:x", "meta", "xla", 1.5,
                                    ["cpu"]])
def test_resolve_device_garbage(device):
    with pytest.raises(ValueError, match="device=") as exc:
        resolve_device(device)
    assert "'cpu'" in str(exc.value)


def test_resolve_device_mps_without_mps_is_value_error():
    if torch.backends.mps.is_available():
        pytest.skip("MPS is available here")
    with pytest.raises(ValueError, match="mps"):
        resolve_device("mps")


@pytest.mark.cuda
def test_resolve_device_auto_picks_cuda_when_present():
    assert resolve_device("auto").type == "cuda"


def test_inference_chunk_size():
    assert inference_chunk_size("cpu") == 256
    assert inference_chunk_size(torch.device("cpu")) == 256


@pytest.mark.parametrize("model, shape, rows", [
    # The default CNN on 28x28: 32 x 28 x 28 float32 values (98 KiB) per image
    # out of its first convolution, 64 of them fill the 8 MiB.
    (("cnn", {"channels": (32, 64, 128)}), (1, 28, 28), 64),
    (("cnn", {"channels": (32, 64, 128)}), (1, 8, 8), 256),     # capped at 256
    (("cnn", {"channels": (32, 64, 128)}), (3, 64, 64), 16),
    (("cnn", {"channels": (32, 64, 128)}), (3, 512, 512), 1),   # 32 MiB per image
    (("cnn", {"channels": (4,)}), (1, 28, 28), 256),
    (("lenet5", {}), (1, 28, 28), 256),                         # 6 channels, 5x5, no padding
    (("mlp", {"hidden_units": (128,)}), (1, 28, 28), 256),      # no convolution
])
def test_cpu_inference_chunk_follows_the_first_convolution(model, shape, rows):
    name, kwargs = model
    module = get_model(name, in_channels=shape[0], height=shape[1], width=shape[2],
                       n_classes=10, **kwargs)
    assert inference_chunk_size("cpu", module, shape) == rows
    # A power of two, whatever the size, and the GPU's chunk is left alone.
    assert rows & (rows - 1) == 0
    assert inference_chunk_size("cuda", module, shape) == 4096


def test_cpu_inference_chunk_of_a_user_module_with_a_strided_convolution():
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 64, 3, stride=2, padding=1),
                                 torch.nn.Flatten(), torch.nn.LazyLinear(10))
    # 64 x 14 x 14 float32 values per 28x28 image: 49 KiB, 128 in 8 MiB.
    assert inference_chunk_size("cpu", module, (1, 28, 28)) == 128


# --------------------------------------------------------------------------
# predict_logits
# --------------------------------------------------------------------------


@pytest.fixture(params=["mlp", "cnn", "lenet5"])
def engine_net(request):
    torch.manual_seed(0)
    extra = {"mlp": {"hidden_units": (32,)}, "cnn": {"channels": (4,), "hidden_units": (16,)},
             "lenet5": {}}[request.param]
    module = get_model(request.param, in_channels=1, height=8, width=8, n_classes=3, **extra)
    return SkorchEngineNet(module=module, criterion=torch.nn.CrossEntropyLoss,
                           classes=[0, 1, 2], device="cpu").initialize()


def test_predict_logits_shape_and_values(engine_net):
    Xt = torch.randn(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    logits = predict_logits(engine_net, Xt, 16)
    assert logits.shape == (40, 3)
    assert logits.dtype == torch.float32
    assert logits.device.type == "cpu"
    engine_net.module_.eval()
    with torch.no_grad():
        direct = engine_net.module_(Xt)
    torch.testing.assert_close(logits, direct, rtol=1e-5, atol=1e-5)


def test_predict_logits_of_a_subset_are_bitwise_identical(engine_net):
    Xt = torch.randn(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    full = predict_logits(engine_net, Xt, 16)
    for start, stop in [(0, 1), (0, 3), (5, 21), (20, 23), (35, 40), (0, 16), (16, 40)]:
        part = predict_logits(engine_net, Xt[start:stop], 16)
        assert torch.equal(part, full[start:stop]), (start, stop)
    # Chunk sizes larger than the data are padded too.
    assert torch.equal(predict_logits(engine_net, Xt[:3], 64),
                       predict_logits(engine_net, Xt, 64)[:3])


def test_predict_logits_is_repeatable_and_leaves_input_alone(engine_net):
    Xt = torch.randn(10, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    before = Xt.clone()
    assert torch.equal(predict_logits(engine_net, Xt, 4), predict_logits(engine_net, Xt, 4))
    assert torch.equal(Xt, before)


def test_predict_logits_empty(engine_net):
    logits = predict_logits(engine_net, torch.empty(0, 1, 8, 8), 16)
    assert logits.shape == (0, 3)
    assert logits.dtype == torch.float32


@pytest.mark.parametrize("channels, chunk", [((4,), 256), ((32,), 64)])
def test_classifier_predictions_do_not_depend_on_the_batch(mnist_subset, channels, chunk):
    X, y = mnist_subset
    clf = SkMNISTClassifier(channels=channels, hidden_units=(16,), max_epochs=1, device="cpu",
                            random_state=0).fit(X, y)
    assert inference_chunk_size("cpu", clf.module_, clf.input_shape_) == chunk
    full = clf.predict_proba(X)
    # Slices inside one chunk, across a chunk boundary (64) and at the end.
    for sl in [slice(0, 1), slice(0, 5), slice(60, 70), slice(100, 107), slice(190, 200)]:
        np.testing.assert_array_equal(clf.predict_proba(X[sl]), full[sl])


# --------------------------------------------------------------------------
# to_tensor
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_to_tensor_read_only_array_no_warning(dtype):
    arr = np.arange(12, dtype=dtype).reshape(3, 4)
    arr.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = to_tensor(arr, "cpu")
    assert t.dtype == torch.float32
    assert t.device.type == "cpu"
    assert t.is_contiguous()
    np.testing.assert_array_equal(t.numpy(), arr.astype(np.float32))
    t[0, 0] = 100.0  # the tensor is writable and does not alias the read-only input
    assert arr[0, 0] == 0


def test_to_tensor_non_contiguous_and_lists():
    arr = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    t = to_tensor(arr, torch.device("cpu"))
    assert t.is_contiguous()
    np.testing.assert_array_equal(t.numpy(), arr)
    np.testing.assert_array_equal(to_tensor(arr[:, ::2], "cpu").numpy(), arr[:, ::2])
    np.testing.assert_array_equal(to_tensor([[1, 2], [3, 4]], "cpu").numpy(), [[1, 2], [3, 4]])


def test_to_tensor_dtype():
    t = to_tensor(np.array([1.5, 2.5]), "cpu", dtype=torch.float64)
    assert t.dtype == torch.float64
    np.testing.assert_array_equal(t.numpy(), [1.5, 2.5])


# --------------------------------------------------------------------------
# SkorchEngineNet
# --------------------------------------------------------------------------


def test_diverging_training_raises_floating_point_error(digits_two_classes):
    X, y = digits_two_classes
    clf = SkMNISTClassifier(arch="mlp", hidden_units=(8,), optimizer="sgd", lr=1e20,
                            lr_schedule=None, max_epochs=1, batch_size=8, device="cpu",
                            random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.fit(X, y)


def test_engine_net_records_one_loss_per_epoch(digits_two_classes):
    X, y = digits_two_classes
    clf = SkMNISTClassifier(arch="mlp", hidden_units=(8,), max_epochs=2, batch_size=16,
                            validation_fraction=0.25, device="cpu", random_state=0).fit(X, y)
    n_train = len(y) - int(np.ceil(0.25 * len(y)))
    for row in clf.history_:
        assert row["train_batch_count"] == int(np.ceil(n_train / 16)) - (n_train % 16 == 1)
        assert row["train_loss"] > 0 and np.isfinite(row["train_loss"])
        assert 0 <= row["valid_acc"] <= 1
    assert clf.history_[0, "train_loss_best"] is True


# --------------------------------------------------------------------------
# Memory layout (channels-last on the CPU)
# --------------------------------------------------------------------------


def _conv_weights(module):
    return [m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


@pytest.mark.parametrize("arch", ["cnn", "lenet5"])
def test_prefers_channels_last_for_builtin_convnets_on_cpu(arch):
    module = get_model(arch, in_channels=1, height=8, width=8, n_classes=3)
    assert prefers_channels_last(module, "cpu")
    assert prefers_channels_last(module, torch.device("cpu"))
    assert not prefers_channels_last(module, "cuda")
    assert not prefers_channels_last(module, "meta")


def test_prefers_channels_last_not_for_mlps_or_user_modules():
    assert not prefers_channels_last(get_model("mlp", in_channels=1, height=8, width=8, n_classes=3), "cpu")
    user = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(),
                               torch.nn.LazyLinear(3))
    assert not prefers_channels_last(user, "cpu")


def test_engine_net_sets_the_layout_both_ways():
    module = get_model("cnn", in_channels=1, height=8, width=8, n_classes=3)
    net = SkorchEngineNet(module=module, criterion=torch.nn.CrossEntropyLoss,
                          classes=[0, 1, 2], device="cpu", channels_last=True).initialize()
    weights = _conv_weights(net.module_)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    # (A 1-channel first convolution is both layouts at once; the second is not.)
    assert not weights[1].is_contiguous()
    # A channels-last module given to a net that does not want the layout is
    # converted back (e.g. fine-tuning a CPU model on another device).
    net2 = SkorchEngineNet(module=copy.deepcopy(net.module_), criterion=torch.nn.CrossEntropyLoss,
                           classes=[0, 1, 2], device="cpu").initialize()
    assert all(w.is_contiguous() for w in _conv_weights(net2.module_))
    torch.testing.assert_close(net2.module_.state_dict(), net.module_.state_dict())


def test_classifier_trains_builtin_cnn_channels_last_on_cpu(mnist_subset):
    X, y = mnist_subset
    clf = SkMNISTClassifier(channels=(4,), hidden_units=(16,), max_epochs=1, device="cpu",
                            random_state=0).fit(X, y)
    weights = _conv_weights(clf.module_)
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    # The layout changes how numbers are stored, not what the model computes.
    contiguous = SkMNISTClassifier(channels=(4,), hidden_units=(16,), max_epochs=1,
                                   device="cpu", random_state=0)
    contiguous.fit(X, y)
    for w in _conv_weights(contiguous.module_):
        w.data = w.data.contiguous()
    np.testing.assert_allclose(clf.predict_proba(X), contiguous.predict_proba(X), atol=1e-5)


def test_user_module_with_view_is_left_in_the_default_layout(mnist_subset):
    # .view on a channels-last convolution output would fail: user modules
    # are never converted.
    class ViewNet(torch.nn.Module):
        def __init__(self, in_channels, height, width, n_classes):
            super().__init__()
            self.conv = torch.nn.Conv2d(in_channels, 4, 3, padding=1)
            self.fc = torch.nn.Linear(4 * height * width, n_classes)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))

    X, y = mnist_subset
    clf = SkMNISTClassifier(arch=ViewNet, max_epochs=1, device="cpu", random_state=0)
    clf.fit(X, y)
    assert clf.module_.conv.weight.is_contiguous()
    assert clf.score(X, y) > 0.5


@pytest.mark.parametrize("shape, dims", [((37, 3, 5, 4), (0, 2, 3)), ((50, 1, 1, 9), (0, 1, 2)),
                                         ((1, 1, 600, 600), (0, 2, 3)), ((0, 2, 3, 3), (0, 2, 3))])
def test_channel_mean_std_matches_float64_whatever_the_chunk(shape, dims):
    from skmnist._engine import channel_mean_std
    rng = np.random.default_rng(0)
    X = (rng.standard_normal(shape) * 1e30 + 3e30).astype(np.float32)
    if X.size:
        X.flat[0] = 3e38  # a value whose square overflows float32
    Xt = torch.from_numpy(X)
    ref = X.astype(np.float64)
    results = [channel_mean_std(Xt, dims), channel_mean_std(Xt, dims, chunk=7),
               channel_mean_std(Xt, dims, chunk=1)]
    if not X.size:
        return
    mean = ref.mean(axis=dims, keepdims=True)
    std = ref.std(axis=dims, keepdims=True)
    for m, s in results:
        assert m.dtype == s.dtype == torch.float32 and m.shape == mean.shape
        np.testing.assert_allclose(m.numpy(), mean, rtol=1e-6)
        np.testing.assert_allclose(s.numpy(), std, rtol=1e-6)
        assert np.isfinite(s.numpy()).all()
