"""The saved-model file (skmnist/_archive.py): JSON values, atomic writes, checks."""

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
    return _archive.write(path, {"class": "Thing", **metadata}, weights, {"state": {}})


def test_write_then_read(tmp_path):
    path = _write(tmp_path / "m.skmnist", params={"lr": 0.1})
    metadata, blobs = _archive.read_metadata(path)
    assert metadata["format"] == _archive.FORMAT and metadata["params"] == {"lr": 0.1}
    assert torch.equal(_archive.read_tensors(blobs["weights.pt"], "cpu")["w"], torch.arange(4.0))
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
