"""The saved-model file (skmnist/_archive.py): JSON values, atomic writes, checks."""

import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch

from skmnist import _archive


@pytest.mark.parametrize(("kind", "value"), [
    ("labels", np.array(["cat", "dog"])), ("labels", np.array([3, 7])),
    ("labels", np.array([1, "a"], dtype=object)), ("array", np.arange(6.0).reshape(2, 3)),
    ("array", None), ("tuple", (1, 28, 28)), ("int", 5), ("json", {"a": [1, 2]}),
])
def test_encode_decode_round_trip(kind, value):
    encoded = json.loads(json.dumps(_archive.encode(kind, value)))
    decoded = _archive.decode(kind, encoded)
    if isinstance(value, np.ndarray):
        assert decoded.dtype == value.dtype
        np.testing.assert_array_equal(decoded, value)
    else:
        assert decoded == value


def _write(path, **metadata):
    weights = {"w": torch.arange(4.0)}
    metadata = {"class": "Thing", "params": {}, "fitted": {}, "history": [], **metadata}
    return _archive.write(path, metadata, weights, {"state": {}})


def test_write_then_read(tmp_path):
    path = _write(tmp_path / "m.skmnist", params={"lr": 0.1})
    metadata, members = _archive.read_metadata(path)
    assert metadata["format"] == _archive.FORMAT and metadata["params"] == {"lr": 0.1}
    blobs = members.read({"weights.pt": (16, 10**6), "optimizer.pt": (0, 10**6)})
    weights = _archive.read_tensors(blobs["weights.pt"], label="m", member="weights.pt")
    assert torch.equal(weights["w"], torch.arange(4.0))
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["SHA256", *sorted(_archive.MEMBERS)]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = _write(tmp_path / "m.skmnist")
    before = (tmp_path / "m.skmnist").read_bytes()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError, match="full"):
        _write(path)
    assert (tmp_path / "m.skmnist").read_bytes() == before
    assert os.listdir(tmp_path) == ["m.skmnist"]


def test_read_refuses_other_formats_and_versions(tmp_path):
    path = tmp_path / "m.skmnist"
    _write(path)
    with zipfile.ZipFile(path) as archive:
        blobs = {n: archive.read(n) for n in _archive.MEMBERS}
    original = json.loads(blobs["metadata.json"])
    for change, match in (({"format": "other"}, "not a skmnist model file"),
                          ({"format_version": 99}, "format version 99")):
        meta = {**original, **change}
        blobs["metadata.json"] = json.dumps(meta).encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name in _archive.MEMBERS:
                archive.writestr(name, blobs[name])
            archive.writestr("SHA256", _archive._checksum(blobs))
        with pytest.raises(ValueError, match=match):
            _archive.read_metadata(path)
    with pytest.raises(FileNotFoundError):
        _archive.read_metadata(tmp_path / "missing.skmnist")


# ------------------------------------------------- untrusted input (issue 12)
@pytest.mark.parametrize(("kind", "value", "match"), [
    ("labels", [1, 2], "expected"),
    ("labels", {"dtype": "<i8", "values": [[1], [2]]}, "strings or numbers"),
    ("labels", {"dtype": "<i8", "values": ["a"]}, "must be numbers"),
    ("labels", {"dtype": "<U1", "values": [1, 2]}, "must be strings"),
    ("labels", {"dtype": "<M8[s]", "values": [1]}, "unsupported dtype"),
    ("labels", {"dtype": "O", "values": [1]}, "unsupported dtype"),
    ("labels", {"dtype": "<i1", "values": [1000]}, "do not fit"),
    ("array", {"dtype": "<f4", "shape": [2], "values": [1.0]}, "needs 2 values"),
    ("array", {"dtype": "<f4", "shape": [-1], "values": []}, "bad shape"),
    ("array", {"dtype": "<f4", "shape": [1] * 9, "values": [1.0]}, "bad shape"),
    ("array", {"dtype": "<f4", "shape": [1], "values": [float("nan")]}, "finite"),
    ("array", {"dtype": "<f4", "shape": [1], "values": ["1"]}, "must be numbers"),
    ("array", {"dtype": "<U3", "shape": [1], "values": [1]}, "unsupported dtype"),
    ("tuple", [1, "2"], "list of finite numbers"),
    ("tuple", [True], "list of finite numbers"),
    ("tuple", [float("inf")], "list of finite numbers"),
    ("int", 1.5, "an integer"),
    ("int", True, "an integer"),
    ("str", 3, "a string"),
])
def test_decode_refuses_malformed_values(kind, value, match):
    with pytest.raises(ValueError, match=match):
        _archive.decode(kind, value)


def _zip(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, method) in members.items():
            archive.writestr(name, data, compress_type=method)
    return path


def test_zip_reader_refuses_methods_skmnist_never_writes(tmp_path):
    path = _zip(tmp_path / "a.zip", x=(b"abc" * 100, zipfile.ZIP_BZIP2),
                y=(b"abc", zipfile.ZIP_STORED))
    with _archive.ZipReader(path, "'a.zip'") as archive:
        with pytest.raises(ValueError, match="'a.zip': member 'x' uses zip compression "
                                             "method 12"):
            archive.read("x", 10**6)
        assert archive.read("y", 3) == b"abc"
        with pytest.raises(ValueError, match="'y' would inflate to"):
            archive.read("y", 2)
        with pytest.raises(ValueError, match="lacks its member 'z'"):
            archive.read("z", 10)


def test_zip_reader_refuses_duplicate_names(tmp_path):
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _zip(path, x=(b"1", 0))
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("x", b"2")
    with pytest.raises(ValueError, match="two members named 'x'"):
        _archive.ZipReader(path, "'dup.zip'")


def test_read_tensors_refuses_what_is_not_a_tensor_archive():
    import pickle

    with pytest.raises(ValueError, match="not a tensor archive .* a pickle"):
        _archive.read_tensors(pickle.dumps({"w": 1}), label="'m'", member="weights.pt")
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    assert torch.equal(_archive.read_tensors(buffer.getvalue(), label="'m'",
                                             member="weights.pt")["w"], torch.ones(2))


def test_a_model_too_large_to_read_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setattr(_archive, "MAX_TENSOR_BYTES", 1000)
    with pytest.raises(ValueError, match="more than the safe format holds"):
        _archive.write(tmp_path / "m.skmnist", {"class": "Thing"},
                       {"w": torch.zeros(1000)}, {})
    assert list(tmp_path.iterdir()) == []


def test_save_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".skmnist-x.tmp"))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "m.skmnist"
    with pytest.raises(OSError, match=r"Cannot save to .*m\.skmnist.*: No space left") as exc:
        _write(target)
    assert ".tmp" not in str(exc.value) and exc.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o500)
    try:
        if os.access(tmp_path / "ro", os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        with pytest.raises(PermissionError, match=r"Cannot save to .*ro/m\.skmnist"):
            _write(tmp_path / "ro" / "m.skmnist")
    finally:
        os.chmod(tmp_path / "ro", 0o700)
