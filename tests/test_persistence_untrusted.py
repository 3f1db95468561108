"""skmnist.load treats a model file as untrusted input (issue 12, items 6-9).

Every hostile file here is forged with its checksum recomputed (tests/_forge.py),
so what refuses it is the check under test, never the checksum. Zip bombs are
checked to be refused with bounded memory: Python allocations with tracemalloc
(zipfile's output is Python bytes), torch's with the peak RSS of a subprocess.
"""

import io
import json
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import tracemalloc
import zlib

import numpy as np
import pytest
import torch

import skmnist
from skmnist import SkMNISTClassifier, SkMNISTFineTuner, _archive, load, save

from ._forge import deflate, forge, model_zip, read_members, zeros_bomb

MiB = 2**20


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(60, 8, 8)).astype(np.uint8)
    y = np.arange(60) % 3
    return X, y


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    """A small fitted CNN and its file."""
    X, y = data
    clf = SkMNISTClassifier(channels=(4,), hidden_units=(8,), max_epochs=1, device="cpu",
                            random_state=0).fit(X, y)
    path = save(clf, tmp_path_factory.mktemp("model") / "m.skmnist")
    return clf, path


@pytest.fixture
def forged(model, tmp_path):
    """``forged(**edits)``: a copy of the model file, edited, checksum recomputed."""
    _, path = model
    return lambda **edits: forge(path, tmp_path / "forged.skmnist", **edits)


def _set(section, key, value):
    def edit(meta):
        meta[section][key] = value
    return edit


def _refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        load(path, device="cpu")
    assert str(path) in str(info.value)  # the message names the file
    return str(info.value)


# ------------------------------------------------------------ 6. metadata
@pytest.mark.parametrize(("edit", "match"), [
    (_set("params", "batch_size", 0), "batch_size must be >= 1"),
    (_set("params", "precision", "8"), "precision must be one of"),
    (_set("params", "lr_schedule", "nope"), "lr_schedule must be one of"),
    (_set("params", "image_shape", [0, 5]), "image_shape must be"),
    (_set("params", "lr", -1.0), "lr must be > 0"),
    (_set("params", "optimizer", "evil"), "optimizer must be one of"),
    (_set("params", "arch", "resnet152"), "Unknown arch='resnet152'"),
    (_set("params", "hidden_units", [0]), "hidden_units"),
    (_set("params", "augment", {"rotation": "x"}), "rotation"),
    (_set("params", "nope", 1), "does not take: 'nope'"),
    (_set("fitted", "input_mean_", {"dtype": "<f4", "shape": [5, 1, 1],
                                    "values": [0.0] * 5}), r"input_mean_ must be .*\(1, 1, 1\)"),
    (_set("fitted", "input_std_", {"dtype": "<f4", "shape": [1, 1, 1], "values": [0.0]}),
     "input_std_ positive"),
    (_set("fitted", "input_std_", {"dtype": "<f8", "shape": [1, 1, 1], "values": [1e300]}),
     "finite in float32"),
    (_set("fitted", "input_mean_", {"dtype": "<f4", "shape": [10**9], "values": [0.0]}),
     "needs 1000000000 values"),
    (_set("fitted", "classes_", {"dtype": "<i8", "values": [2, 1, 0]}), "sorted"),
    (_set("fitted", "classes_", {"dtype": "<i8", "values": [0]}), "at least 2"),
    (_set("fitted", "classes_", {"dtype": "V100000000", "values": [0, 1]}),
     "unsupported dtype"),
    (_set("fitted", "classes_", {"dtype": "(100000,100000)f8", "values": [0, 1]}),
     "unsupported dtype"),
    (_set("fitted", "classes_", {"dtype": "<U100000", "values": ["a", "b"]}),
     "wider than its labels"),
    (_set("fitted", "n_features_in_", 65), "n_features_in_=65 does not match"),
    (_set("fitted", "input_shape_", [1, 8, 0]), "input_shape_ must be 3 positive"),
    (_set("fitted", "arch_", "mlp"), "arch_='mlp' is not the architecture"),
    (_set("fitted", "_input_kind", "audio"), "_input_kind"),
    (_set("fitted", "n_iter_", -1), "epoch counters"),
    (_set("fitted", "_seed", 2**40), "epoch counters"),
    (_set("fitted", "interrupted_", "yes"), "interrupted_"),
    (_set("fitted", "classes_", None), "classes_ is malformed"),
    (_set("fitted", "_n_fit_samples", 0), "_n_fit_samples must be a positive integer"),
    (_set("params", "label_smoothing", 1.5), "label_smoothing must be < 1"),
    (_set("params", "max_epochs", "long"), "max_epochs must be an integer or 'auto'"),
])
def test_metadata_is_checked_as_fit_checks_it(forged, edit, match):
    _refused(forged(metadata=edit), match)


@pytest.mark.parametrize(("raw", "match"), [
    (b"[]", "holds a JSON array, not an object"),
    (b"null", "holds a JSON null, not an object"),
    (b"{", "unreadable metadata"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"\xff\xfe", "unreadable metadata"),
])
def test_metadata_that_is_not_an_object(forged, raw, match):
    _refused(forged(raw_metadata=raw), match)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda m: m.pop("fitted"), "'fitted' is missing"),
    (lambda m: m.pop("params"), "'params' is missing"),
    (_set("fitted", "classes_", {"values": [0, 1]}), "classes_ is malformed"),
    (lambda m: m["fitted"].pop("input_shape_"), "input_shape_ is missing"),
    (lambda m: m.update(fitted=[1, 2]), "'fitted' must be a JSON object"),
    (lambda m: m.update(history=[[1, 2]]), "row 0 is a JSON array"),
    (lambda m: m.update(history=[{"train_loss": "low"}]), "train_loss='low', not a number"),
    (lambda m: m.update({"class": ["SkMNISTClassifier"]}), "'class' must be a JSON string"),
])
def test_missing_keys_and_bad_rows_are_value_errors(forged, edit, match):
    _refused(forged(metadata=edit), match)


def test_the_device_in_a_file_is_not_obeyed(model, forged, data):
    clf, _ = model
    path = forged(metadata=_set("params", "device", "cuda:7"))
    loaded = load(path, device="cpu")
    assert loaded.device == "cpu" and loaded.device_.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), clf.predict_proba(data[0]))
    assert load(path).device == "auto"  # load's default, not the file's "cuda:7"


def test_a_parameter_a_file_lacks_takes_its_default(forged):
    loaded = load(forged(metadata=lambda m: m["params"].pop("tol")), device="cpu")
    assert loaded.tol == SkMNISTClassifier().tol


# ------------------------------------------------------------ 7. tensor members
class _WritesAFile:
    """Unpickling this creates ``marker``: a payload that would show it ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("member", ["weights", "optimizer"])
@pytest.mark.parametrize("container", ["pickle", "torch.save"])
def test_pickle_payloads_never_run(model, forged, tmp_path, member, container):
    marker = tmp_path / "payload-ran"
    # Padded to the size of the real member, so that no size check refuses it first.
    size = len(read_members(model[1])[f"{member}.pt"])
    if container == "pickle":
        blob = pickle.dumps([_WritesAFile(marker), bytes(size)])
    else:  # a genuine torch.save archive whose data.pkl holds the payload
        buffer = io.BytesIO()
        torch.save({"w": _WritesAFile(marker), "pad": torch.zeros(size // 4)}, buffer)
        blob = buffer.getvalue()
    message = _refused(forged(**{member: blob}), f"{member}.pt is not a")
    assert not marker.exists()
    assert "weights_only=False" not in message  # torch's advice would run the payload


def test_a_corrupt_deflate_stream_is_a_value_error(model, tmp_path):
    _, path = model
    weights = read_members(path)["weights.pt"]
    garbage = b"\xff" * 64  # not a deflate stream: zlib.error inside zipfile
    bad = model_zip(path, tmp_path / "bad.skmnist",
                    {"weights.pt": (garbage, 8, len(weights), zlib.crc32(weights))})
    assert "corrupt" in _refused(bad, "member 'weights.pt' is corrupt")


def test_a_compressed_record_inside_the_tensor_archive_is_refused(model, forged):
    _, path = model
    weights = read_members(path)["weights.pt"]
    inner = read_members(io.BytesIO(weights))
    buffer = io.BytesIO()
    with __import__("zipfile").ZipFile(buffer, "w", compression=8) as archive:
        for name, blob in inner.items():
            archive.writestr(name, blob)
    _refused(forged(weights=buffer.getvalue()), "compressed or encrypted record")


@pytest.mark.parametrize(("change", "match"), [
    (lambda s: s.update({"classifier.weight": s["classifier.weight"] * np.nan}),
     "NaN or infinite"),
    (lambda s: s.update({"extra": torch.zeros(1)}), "unexpected \\['extra'\\]"),
    (lambda s: s.pop("classifier.bias"), "lacks \\['classifier.bias'\\]"),
    (lambda s: s.update({"classifier.weight": s["classifier.weight"].double()}),
     "torch.float64"),
    (lambda s: s.update({"classifier.weight": s["classifier.weight"].T.contiguous()}),
     "the architecture's is"),
])
def test_weights_must_be_exactly_the_architecture(model, forged, change, match):
    clf, _ = model
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    change(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _refused(forged(weights=buffer.getvalue()), match)


@pytest.mark.parametrize(("change", "match"), [
    (lambda o: o["param_groups"][0].update(lr=float("nan")), "lr=nan"),
    (lambda o: o["param_groups"][0].update(betas=(0.9, -1.0)), "betas"),
    (lambda o: o.update(param_groups=[]), "0 parameter groups"),
    (lambda o: o["state"].update({99: {}}), "unknown parameter 99"),
    (lambda o: o["state"][0].update(exp_avg=torch.zeros(3, 3, 3)), "does not fit"),
])
def test_optimizer_state_is_checked(model, forged, change, match):
    clf, _ = model
    state = clf.net_.optimizer_.state_dict()
    state = {"state": {k: dict(v) for k, v in state["state"].items()},
             "param_groups": [dict(g) for g in state["param_groups"]]}
    change(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _refused(forged(optimizer=buffer.getvalue()), match)


def test_optimizer_flags_are_the_estimators_not_the_files(model, forged):
    clf, _ = model
    state = clf.net_.optimizer_.state_dict()
    for group in state["param_groups"]:
        group.update(fused=False, maximize=True, differentiable=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    loaded = load(forged(optimizer=buffer.getvalue()), device="cpu")
    group = loaded.net_.optimizer_.param_groups[0]
    assert group["maximize"] is False and group["differentiable"] is False


# ------------------------------------------------------------ 8. bounded resources
def _peak_python_bytes(function):
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_member_declaring_gigabytes_is_refused_before_inflating(model, tmp_path):
    _, path = model
    weights = read_members(path)["weights.pt"]
    lie = model_zip(path, tmp_path / "declared.skmnist",
                    {"weights.pt": (deflate(weights), 8, 2 * 2**30 - 1, zlib.crc32(weights))})
    peak = _peak_python_bytes(lambda: _refused(lie, "would inflate to 2,048.0 MiB"))
    assert peak < 8 * MiB


def test_a_member_inflating_past_its_declared_size_is_never_held(model, tmp_path):
    _, path = model
    weights = read_members(path)["weights.pt"]
    # Declares the true size and CRC, but the stream inflates to 256 MiB of zeros.
    bomb = model_zip(path, tmp_path / "bomb.skmnist",
                     {"weights.pt": (zeros_bomb(256 * MiB), 8, len(weights),
                                     zlib.crc32(weights))})
    peak = _peak_python_bytes(lambda: _refused(bomb, "weights.pt' is corrupt"))
    assert peak < 16 * MiB  # zipfile alone would allocate 256 MiB


def test_metadata_declaring_more_than_the_limit_is_refused(model, tmp_path):
    _, path = model
    meta = read_members(path)["metadata.json"]
    lie = model_zip(path, tmp_path / "meta.skmnist",
                    {"metadata.json": (deflate(meta), 8, 1024 * MiB, zlib.crc32(meta))})
    peak = _peak_python_bytes(lambda: _refused(lie, "'metadata.json' would inflate"))
    assert peak < 8 * MiB


def test_a_consistent_zip_bomb_is_refused_by_its_expansion(model, forged, tmp_path):
    # A metadata asking for a 1.4 GB layer *and* a weights.pt declaring 1.4 GB,
    # made of zeros that deflate 1000-fold: refused before anything is inflated.
    from skmnist.models import get_model

    big = forged(metadata=_set("params", "hidden_units", [400_000]))
    with torch.device("meta"):
        module = get_model("cnn", in_channels=1, height=8, width=8, n_classes=3,
                           channels=(4,), hidden_units=(400_000,))
    size = sum(t.numel() * t.element_size() for t in module.state_dict().values()) + 4096
    bomb = model_zip(big, tmp_path / "bomb.skmnist",
                     {"weights.pt": (zeros_bomb(4 * MiB), 8, size, 0)})
    peak = _peak_python_bytes(lambda: _refused(bomb, "would expand"))
    assert peak < 8 * MiB


def test_a_million_layers_are_refused_before_building(forged):
    _refused(forged(metadata=_set("params", "hidden_units", [1] * 1_000_000)), "layers")


def test_an_architecture_over_the_limit_is_refused(forged):
    _refused(forged(metadata=_set("params", "hidden_units", [10**9])),
             "more than skmnist.load accepts")


# The peak RSS of the probe's own process (VmHWM; ru_maxrss would include
# the RSS of the pytest process it was forked from), torch imported first.
_RSS_PROBE = textwrap.dedent("""
    import sys
    import skmnist
    from skmnist import SkMNISTClassifier, load

    def peak():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    before = peak()
    try:
        load(sys.argv[1], device="cpu")
    except ValueError as exc:
        print("refused:", exc, file=sys.stderr)
    print(peak() - before)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux's VmHWM")
def test_a_huge_architecture_with_small_weights_allocates_nothing(forged):
    # hidden_units=(1000000,) next to the weights of hidden_units=(8,): a 270 MB
    # module (1.4 GB for MNIST's 784 inputs), built and then refused before this fix.
    path = forged(metadata=_set("params", "hidden_units", [1_000_000]))
    done = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True,
                          text=True, timeout=120, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert int(done.stdout.strip()) < 32 * MiB
    assert "too few for the" in done.stderr
    _refused(path, "too few for the")


# ------------------------------------------------------------ 9. machine-local settings
def test_a_checkpoint_dir_in_a_file_is_not_obeyed(forged, data, tmp_path):
    elsewhere = tmp_path / "someone" / "elses" / "folder"

    def edit(meta):
        meta["params"].update(checkpoint_dir=str(elsewhere), resume=True, n_jobs=64)

    loaded = load(forged(metadata=edit), device="cpu")
    assert loaded.checkpoint_dir is None and loaded.resume is False
    assert loaded.n_jobs is None  # the writer's thread count, not this machine's
    loaded.partial_fit(*data)
    loaded.set_params(warm_start=True, max_epochs=1).fit(*data)
    assert not (tmp_path / "someone").exists()


def test_a_pretrained_path_in_a_file_is_not_obeyed(model, data, tmp_path):
    clf, base_path = model
    X, y = data
    tuner = SkMNISTFineTuner(str(base_path), max_epochs=1, device="cpu",
                             random_state=0).fit(X, 2 - y)
    path = save(tuner, tmp_path / "tuner.skmnist")
    meta = json.loads(read_members(path)["metadata.json"])
    assert meta["params"]["pretrained"] == str(base_path)  # saved, for the record
    loaded = load(path, device="cpu")
    assert loaded.pretrained is None
    np.testing.assert_array_equal(loaded.predict_proba(X), tuner.predict_proba(X))


def test_checkpoints_still_resume(data, tmp_path):
    # A checkpoint is loaded through the same checks; the estimator resuming
    # it keeps its own checkpoint_dir.
    X, y = data
    params = dict(channels=(4,), hidden_units=(8,), max_epochs=2, device="cpu",
                  random_state=0, checkpoint_dir=tmp_path, resume=True)
    first = SkMNISTClassifier(**params).fit(X, y)
    again = SkMNISTClassifier(**params).fit(X, y)
    assert again.checkpoint_dir == tmp_path and again.n_iter_ == 2
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))


def test_files_of_the_previous_version_pass_every_check():
    data = pathlib.Path(__file__).parent / "data"
    for name in ("classifier", "finetuner", "mlp"):
        assert load(data / f"v0.1-{name}.skmnist", device="cpu").n_iter_ >= 1


def test_the_saved_file_is_within_every_limit(model):
    _, path = model
    members = read_members(path)
    assert len(members["metadata.json"]) < _archive.MAX_METADATA_BYTES
    assert skmnist.load(path, device="cpu").n_iter_ == 1


def test_attributes_added_since_a_file_was_written_may_be_missing(forged):
    # A file of an earlier version lacks fitted attributes added later (any but
    # those of the first format version): it loads, without them.
    optional = [name for name in SkMNISTClassifier._saved_attributes
                if name not in skmnist._untrusted._REQUIRED_FITTED]
    assert "feature_names_in_" in optional

    def drop(meta):
        for name in optional:
            meta["fitted"].pop(name, None)

    loaded = load(forged(metadata=drop), device="cpu")
    assert not hasattr(loaded, "feature_names_in_") and loaded.interrupted_ is False


def test_fractional_shapes_are_refused(forged):
    _refused(forged(metadata=_set("fitted", "input_shape_", [1, 8.0, 8])),
             "input_shape_ must be 3 positive")
