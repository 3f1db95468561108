"""skmnist.save / skmnist.load of fitted Pipelines (issue 12, item 13).

skmnist steps are stored in skmnist's own formats (a model file, JSON for the
transformers), scikit-learn steps with skops, audited on load; nothing is
pickled, and what skops cannot audit (a skmnist estimator inside a
scikit-learn object: skorch pickles the network into one blob) is refused.
"""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, _pipeline_io, load, save
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

from ._forge import read_members

pytest.importorskip("skops")


@pytest.fixture(scope="module")
def data(mnist_subset):
    X, y = mnist_subset
    return X[:60], y[:60]


def _clf(**kwargs):
    return SkMNISTClassifier(channels=(4,), hidden_units=(8,), max_epochs=1, device="cpu",
                             random_state=0, **kwargs)


@pytest.fixture(scope="module")
def pipe(data):
    X, y = data
    return make_pipeline(PixelScaler(), StandardScaler(), ImageReshaper(), _clf()).fit(X, y)


def _rewrite(path, dst, edit):
    """Copy a pipeline file with its pipeline.json edited and its checksum recomputed."""
    blobs = read_members(path)
    tree = json.loads(blobs["pipeline.json"])
    edit(tree)
    blobs["pipeline.json"] = json.dumps(tree).encode()
    blobs.pop("SHA256")
    with zipfile.ZipFile(dst, "w") as archive:
        for name, blob in blobs.items():
            archive.writestr(name, blob, compress_type=8 if name == "pipeline.json" else 0)
        archive.writestr("SHA256", _pipeline_io._checksum(blobs))
    return dst


def test_pipeline_round_trip_identical_predictions_no_pickle(pipe, data, tmp_path):
    X, _ = data
    path = save(pipe, tmp_path / "pipe.skmnist")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tree = json.loads(archive.read("pipeline.json"))
    assert names == ["pipeline.json", "steps/0.skops", "steps/1.skmnist", "SHA256"]
    assert [node["kind"] for _, node in tree["root"]["steps"]] == \
        ["transformer", "skops", "transformer", "model"]
    loaded = load(path, device="cpu")
    assert type(loaded) is Pipeline
    assert [type(s).__name__ for _, s in loaded.steps] == \
        ["PixelScaler", "StandardScaler", "ImageReshaper", "SkMNISTClassifier"]
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_nothing_in_the_file_is_unpickled(pipe, data, tmp_path, monkeypatch):
    path = save(pipe, tmp_path / "pipe.skmnist")

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = load(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(data[0]), pipe.predict(data[0]))


def test_every_skmnist_transformer_nested_pipelines_and_frozen(data, tmp_path):
    X, y = data
    inner = make_pipeline(PixelStandardizer(), ImageResizer(size=(10, 12)), ImageFlattener())
    pipe = Pipeline([("scale", PixelScaler(max_value=255)), ("shape", ImageReshaper()),
                     ("inner", inner), ("skip", "passthrough"),
                     ("clf", FrozenEstimator(_clf(image_shape=(10, 12)).fit(
                         make_pipeline(PixelScaler(), ImageReshaper(), inner).fit_transform(X),
                         y)))])
    pipe.fit(X, y)
    loaded = load(save(pipe, tmp_path / "p.skmnist"), device="cpu")
    assert type(loaded.named_steps["clf"]) is FrozenEstimator
    assert loaded.named_steps["skip"] == "passthrough"
    assert loaded.named_steps["inner"].steps[1][1].output_shape_ == (1, 10, 12)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    for (_, a), (_, b) in zip(loaded.named_steps["inner"].steps, inner.steps):
        assert a.get_params() == b.get_params()


def test_a_frozen_model_and_a_fine_tuner_alone(data, tmp_path):
    X, y = data
    frozen = FrozenEstimator(_clf().fit(X, y))
    loaded = load(save(frozen, tmp_path / "f.skmnist"), device="cpu")
    np.testing.assert_array_equal(loaded.predict(X), frozen.predict(X))
    tuner = SkMNISTFineTuner(frozen, max_epochs=1, device="cpu", random_state=0)
    pipe = make_pipeline(PixelScaler(), tuner).fit(X, y % 2)
    loaded = load(save(pipe, tmp_path / "t.skmnist"), device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_a_skmnist_estimator_inside_a_sklearn_object_is_refused_naming_the_step(data,
                                                                                 tmp_path):
    X, y = data
    vote = make_pipeline(PixelScaler(), VotingClassifier([("cnn", _clf())])).fit(X, y)
    with pytest.raises(ValueError, match="Step 'votingclassifier' .*skops cannot audit"):
        save(vote, tmp_path / "v.skmnist")
    search = make_pipeline(GridSearchCV(_clf(), {"lr": [0.1, 0.2]}, cv=2))
    with pytest.raises(ValueError, match="Step 'gridsearchcv' .* holds skmnist._classifier"):
        save(search, tmp_path / "s.skmnist")
    assert list(tmp_path.iterdir()) == []


def test_unfitted_steps_and_other_objects_are_refused(data, tmp_path):
    with pytest.raises(ValueError, match="Step 'pixelscaler' .* is not fitted"):
        save(make_pipeline(PixelScaler(), _clf()), tmp_path / "x.skmnist")
    with pytest.raises(ValueError, match="or a fitted Pipeline, got LogisticRegression"):
        save(LogisticRegression(), tmp_path / "x.skmnist")


def test_untrusted_skops_types_need_trusted(data, tmp_path):
    X, y = data
    pipe = make_pipeline(FunctionTransformer(_identity), PixelScaler(), _clf()).fit(X, y)
    path = save(pipe, tmp_path / "p.skmnist")
    name = f"{__name__}._identity"
    with pytest.raises(ValueError, match=rf"step 'functiontransformer'.*\['{name}'\].*"
                                         rf"trusted=\['{name}'\]"):
        load(path, device="cpu")
    loaded = load(path, device="cpu", trusted=[name])
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    with pytest.raises(ValueError, match="trusted must be None or a list"):
        load(path, trusted=name)


def _identity(X):
    return X


def test_scikit_learn_steps_skops_trusts_load_without_trusted(data, tmp_path):
    X, y = data
    pipe = make_pipeline(PixelScaler(), PCA(n_components=16, random_state=0),
                         FunctionTransformer(np.tanh), ImageReshaper(), _clf()).fit(X, y)
    loaded = load(save(pipe, tmp_path / "p.skmnist"), device="cpu")
    # skops (like pickle) restores PCA's components_ C-contiguous where fit left
    # them Fortran-ordered, so the matrix product may differ in its last bits.
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_a_skops_member_holding_skorch_is_refused_even_when_trusted(pipe, tmp_path):
    # A stranger's file: its skops member holds a skmnist estimator (whose
    # skorch blob skops would unpickle), and the caller trusts every type.
    import skops.io as sio

    path = save(pipe, tmp_path / "p.skmnist")
    blobs = read_members(path)
    # The StandardScaler's skops member, its type renamed to skorch's History.
    with zipfile.ZipFile(io.BytesIO(blobs["steps/0.skops"])) as member:
        parts = {name: member.read(name) for name in member.namelist()}
    schema = json.loads(parts["schema.json"])
    schema.update({"__class__": "History", "__module__": "skorch.history"})
    parts["schema.json"] = json.dumps(schema).encode()
    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w") as member:
        for name, blob in parts.items():
            member.writestr(name, blob)
    blobs["steps/0.skops"] = edited.getvalue()
    blobs.pop("SHA256")
    hostile = tmp_path / "hostile.skmnist"
    with zipfile.ZipFile(hostile, "w") as archive:
        for name, blob in blobs.items():
            archive.writestr(name, blob, compress_type=8 if name == "pipeline.json" else 0)
        archive.writestr("SHA256", _pipeline_io._checksum(blobs))
    every = sio.get_untrusted_types(data=blobs["steps/0.skops"])
    assert every == ["skorch.history.History"]
    with pytest.raises(ValueError, match="step 'standardscaler'.*never loaded from skops"):
        load(hostile, device="cpu", trusted=every)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda t: t.update(root=[]), "not described by a JSON object"),
    (lambda t: t["root"].update(kind="pickle"), "unknown step kind 'pickle'"),
    (lambda t: t["root"]["steps"][3][1].update(member="../../etc/passwd"), "invalid member"),
    (lambda t: t["root"]["steps"][3][1].update(member="steps/0.skops"), "invalid member"),
    (lambda t: t["root"]["steps"][0][1]["params"].update(max_value=-1),
     "step 'pixelscaler'.*max_value must be"),
    (lambda t: t["root"]["steps"][0][1]["fitted"].update(scale_=1e-30),
     "scale_=1e-30 is not what"),
    (lambda t: t["root"]["steps"][2][1]["fitted"].update(image_shape_=[1, 4, 4]),
     "n_features_in_=784 does not match"),
    (lambda t: t["root"]["steps"][2][1]["params"].update(evil=1), "does not take"),
    (lambda t: t["root"]["steps"].append(["again", t["root"]["steps"][3][1]]),
     "used by two steps"),
    (lambda t: t["root"]["steps"].pop(3), "members no step uses"),
    (lambda t: t.update(format_version=9), "pipeline format version 9"),
    (lambda t: t["root"]["steps"].__setitem__(1, ["pixelscaler", t["root"]["steps"][1][1]]),
     "step names repeat"),
])
def test_a_hostile_pipeline_json_is_refused(pipe, tmp_path, edit, match):
    path = _rewrite(save(pipe, tmp_path / "p.skmnist"), tmp_path / "edited.skmnist", edit)
    with pytest.raises(ValueError, match=match) as info:
        load(path, device="cpu")
    assert str(path) in str(info.value)


def test_a_deeply_nested_tree_is_refused(pipe, tmp_path):
    def nest(tree):
        node = tree["root"]
        for _ in range(100):
            node = {"kind": "frozen", "estimator": node}
        tree["root"] = node

    path = _rewrite(save(pipe, tmp_path / "p.skmnist"), tmp_path / "deep.skmnist", nest)
    with pytest.raises(ValueError, match="nested too deeply"):
        load(path)


def test_a_model_step_is_checked_like_a_model_file(pipe, tmp_path):
    # The model member of a pipeline goes through the model file's checks.
    from ._forge import forge

    path = save(pipe, tmp_path / "p.skmnist")
    blobs = read_members(path)
    (tmp_path / "m.skmnist").write_bytes(blobs["steps/1.skmnist"])

    def edit(meta):
        meta["params"]["batch_size"] = 0

    blobs["steps/1.skmnist"] = forge(tmp_path / "m.skmnist", tmp_path / "bad.skmnist",
                                     metadata=edit).read_bytes()
    blobs.pop("SHA256")
    hostile = tmp_path / "hostile.skmnist"
    with zipfile.ZipFile(hostile, "w") as archive:
        for name, blob in blobs.items():
            archive.writestr(name, blob, compress_type=8 if name == "pipeline.json" else 0)
        archive.writestr("SHA256", _pipeline_io._checksum(blobs))
    with pytest.raises(ValueError, match=r"\(step 'skmnistclassifier'\).*batch_size"):
        load(hostile, device="cpu")


def test_a_pipeline_member_is_a_model_file_of_its_own(pipe, data, tmp_path):
    path = save(pipe, tmp_path / "p.skmnist")
    (tmp_path / "clf.skmnist").write_bytes(read_members(path)["steps/1.skmnist"])
    clf = load(tmp_path / "clf.skmnist", device="cpu")
    X = pipe[:-1].transform(data[0])
    np.testing.assert_array_equal(clf.predict(X), pipe[-1].predict(X))


def test_tampering_fails_the_checksum(pipe, tmp_path):
    path = save(pipe, tmp_path / "p.skmnist")
    blobs = read_members(path)
    blobs["pipeline.json"] = blobs["pipeline.json"].replace(b'"verbose": false',
                                                            b'"verbose": true')
    with zipfile.ZipFile(tmp_path / "t.skmnist", "w") as archive:
        for name, blob in blobs.items():
            archive.writestr(name, blob)
    with pytest.raises(ValueError, match="failed its checksum"):
        load(tmp_path / "t.skmnist")


def test_the_skops_member_is_read_within_its_declared_sizes(tmp_path):
    # skops inflates its members with ZipFile.read (up to 2 GiB at once); the
    # copy skops reads has every member stored, each within its declared size.
    from ._forge import deflate, raw_zip, zeros_bomb

    import zlib

    import tracemalloc

    # Declares 10 bytes (and their CRC), inflates to 64 MiB: only 10 are read.
    bomb = raw_zip([("schema.json", zeros_bomb(64 * 2**20), 8, 10, zlib.crc32(bytes(10)))])
    tracemalloc.start()
    copy = _pipeline_io._stored_copy(bomb, "'p.skmnist' (step 's')")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2**20
    with zipfile.ZipFile(io.BytesIO(copy)) as archive:
        assert archive.read("schema.json") == bytes(10)
    lie = raw_zip([("schema.json", deflate(bytes(10)), 8, 10, 12345)])
    with pytest.raises(ValueError, match="'schema.json' is corrupt"):
        _pipeline_io._stored_copy(lie, "'p.skmnist' (step 's')")
    good = raw_zip([("a", deflate(b"x" * 100), 8, 100, zlib.crc32(b"x" * 100))])
    with zipfile.ZipFile(io.BytesIO(_pipeline_io._stored_copy(good, "p"))) as archive:
        assert archive.getinfo("a").compress_type == zipfile.ZIP_STORED
        assert archive.read("a") == b"x" * 100
