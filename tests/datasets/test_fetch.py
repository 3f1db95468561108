"""Tests for skmnist.datasets._fetch (MNIST and Fashion-MNIST loaders).

Every test is offline: the files are small IDX files written by the tests,
"downloads" come from ``file://`` URLs or a patched ``urlopen``, and any
attempt to open a network connection fails the test.
"""

import gzip
import hashlib
import io
import socket
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from skmnist.datasets import (
    _fetch,
    fetch_fashion_mnist,
    fetch_mnist,
    get_data_home,
    write_idx,
)

N_TRAIN, N_TEST = 20, 12
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = [name for pair in FILES.values() for name in pair]
DATASETS = [
    pytest.param(fetch_mnist, "mnist", "MNIST", id="mnist"),
    pytest.param(fetch_fashion_mnist, "fashion-mnist", "FASHION_MNIST", id="fashion"),
]


@pytest.fixture(autouse=True)
def offline_and_isolated(monkeypatch, tmp_path):
    """No network, no real data home, no system directories."""
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        pytest.fail(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", ())
    monkeypatch.delenv("SKMNIST_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    yield attempts
    assert not attempts, f"network attempts: {attempts}"


def make_arrays(seed=0):
    """Tiny random train/test images and labels, as the files hold them."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for part, n in (("train", N_TRAIN), ("test", N_TEST)):
        images_name, labels_name = FILES[part]
        arrays[images_name] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[labels_name] = rng.integers(0, 10, size=n, dtype=np.uint8)
    return arrays


def write_files(directory, arrays, *, gz=True, names=None):
    """Write ``arrays`` as IDX files (``name.gz`` or ``name``) in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in names or arrays:
        write_idx(directory / (name + (".gz" if gz else "")), arrays[name])
    return directory


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def checksums_of(directory, *, raw=False):
    """A checksum table for the .gz files in ``directory``."""
    table = {}
    for path in Path(directory).glob("*.gz"):
        gz_md5 = md5(path)
        raw_md5 = hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()
        table[path.name] = ("0" * 32, raw_md5) if raw else (gz_md5, None)
    return table


def expected(arrays, subset):
    parts = ["train", "test"] if subset == "all" else [subset]
    images = np.concatenate([arrays[FILES[p][0]] for p in parts])
    labels = np.concatenate([arrays[FILES[p][1]] for p in parts])
    return images, labels


# --------------------------------------------------------------------------
# get_data_home


def test_get_data_home_argument_env_and_default(monkeypatch, tmp_path):
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    assert get_data_home(str(tmp_path / "y")) == tmp_path / "y"
    assert get_data_home() == tmp_path / "home" / "skmnist_data"
    monkeypatch.setenv("SKMNIST_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"  # argument wins
    monkeypatch.setenv("SKMNIST_DATA", "")
    assert get_data_home() == tmp_path / "home" / "skmnist_data"


def test_get_data_home_expands_user_and_creates_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("SKMNIST_DATA", "~/custom")
    result = get_data_home()
    assert isinstance(result, Path)
    assert result == tmp_path / "home" / "custom"
    assert get_data_home("~") == tmp_path / "home"
    assert not (tmp_path / "home").exists()


# --------------------------------------------------------------------------
# reading files already on disk


@pytest.mark.parametrize("fetch, subdir, prefix", DATASETS)
@pytest.mark.parametrize("subset", ["train", "test", "all"])
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_fetch_reads_local_files(tmp_path, fetch, subdir, prefix, subset, gz):
    arrays = make_arrays()
    write_files(tmp_path / "data" / subdir, arrays, gz=gz)
    bunch = fetch(data_home=tmp_path / "data", subset=subset, download_if_missing=False)
    images, labels = expected(arrays, subset)

    assert isinstance(bunch, Bunch)
    assert bunch.subset == subset
    assert bunch.data.shape == (len(labels), 784)
    assert bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, images.reshape(len(images), -1))
    np.testing.assert_array_equal(bunch.target, labels)
    assert len(bunch.feature_names) == 784
    assert bunch.feature_names[0] == "pixel_0_0"
    assert bunch.feature_names[-1] == "pixel_27_27"
    assert len(bunch.target_names) == 10
    assert "Licence" in bunch.DESCR


def test_fetch_target_names_values(tmp_path):
    arrays = make_arrays()
    write_files(tmp_path / "mnist", arrays)
    write_files(tmp_path / "fashion-mnist", arrays)
    mnist = fetch_mnist(data_home=tmp_path, download_if_missing=False)
    fashion = fetch_fashion_mnist(data_home=tmp_path, download_if_missing=False)
    np.testing.assert_array_equal(mnist.target_names, np.arange(10))
    assert list(fashion.target_names) == [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    assert "Zalando" in fashion.DESCR
    assert "LeCun" in mnist.DESCR


@pytest.mark.parametrize("fetch, subdir, prefix", DATASETS)
def test_fetch_as_images_and_return_X_y(tmp_path, fetch, subdir, prefix):
    arrays = make_arrays()
    write_files(tmp_path / subdir, arrays)
    X, y = fetch(data_home=tmp_path, subset="test", return_X_y=True, as_images=True)
    images, labels = expected(arrays, "test")
    assert X.shape == (N_TEST, 28, 28)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)
    X, y = fetch(data_home=tmp_path, subset="all", return_X_y=True)
    assert X.shape == (N_TRAIN + N_TEST, 784)
    assert y.shape == (N_TRAIN + N_TEST,)


def test_fetch_mixed_gz_and_plain_files(tmp_path):
    arrays = make_arrays()
    write_files(tmp_path / "mnist", arrays, gz=True, names=FILES["train"])
    write_files(tmp_path / "mnist", arrays, gz=False, names=FILES["test"])
    bunch = fetch_mnist(data_home=tmp_path, subset="all", download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, expected(arrays, "all")[1])


def test_fetch_uses_env_var(tmp_path, monkeypatch):
    arrays = make_arrays()
    write_files(tmp_path / "env_home" / "mnist", arrays)
    monkeypatch.setenv("SKMNIST_DATA", str(tmp_path / "env_home"))
    X, y = fetch_mnist(subset="test", return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(y, expected(arrays, "test")[1])


def test_fetch_returns_fresh_arrays(tmp_path):
    write_files(tmp_path / "mnist", make_arrays())
    first = fetch_mnist(data_home=tmp_path)
    first.data[:] = 0
    second = fetch_mnist(data_home=tmp_path)
    assert second.data.max() > 0


@pytest.mark.parametrize("subset", ["training", "Train", "", None, 1])
def test_invalid_subset(tmp_path, subset):
    with pytest.raises(ValueError, match=r"subset must be one of 'train', 'test', 'all'"):
        fetch_mnist(data_home=tmp_path, subset=subset)
    assert not (tmp_path / "mnist").exists()


def test_fashion_found_in_system_dir(tmp_path, monkeypatch):
    arrays = make_arrays()
    system_dir = write_files(tmp_path / "usr_share", arrays)
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", (str(system_dir),))
    bunch = fetch_fashion_mnist(data_home=tmp_path / "home", subset="all",
                                download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, expected(arrays, "all")[1])
    assert not (tmp_path / "home").exists()


def test_data_home_wins_over_system_dir(tmp_path, monkeypatch):
    system_dir = write_files(tmp_path / "usr_share", make_arrays(seed=1))
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", (str(system_dir),))
    arrays = make_arrays(seed=2)
    write_files(tmp_path / "home" / "fashion-mnist", arrays)
    bunch = fetch_fashion_mnist(data_home=tmp_path / "home", subset="test")
    np.testing.assert_array_equal(bunch.target, expected(arrays, "test")[1])


def test_incomplete_directory_is_skipped(tmp_path, monkeypatch):
    # The data home has only the images; the system directory has both.
    arrays = make_arrays()
    write_files(tmp_path / "home" / "fashion-mnist", arrays, names=FILES["test"][:1])
    system_dir = write_files(tmp_path / "usr_share", arrays)
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", (str(system_dir),))
    bunch = fetch_fashion_mnist(data_home=tmp_path / "home", subset="test",
                                download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, expected(arrays, "test")[1])


# --------------------------------------------------------------------------
# invalid files


def test_mismatched_image_and_label_counts(tmp_path):
    arrays = make_arrays()
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:-1]
    write_files(tmp_path / "mnist", arrays)
    with pytest.raises(ValueError, match=r"holds 20 images but .* holds 19 labels"):
        fetch_mnist(data_home=tmp_path, subset="train")
    # The test pair is still fine.
    assert fetch_mnist(data_home=tmp_path, subset="test").data.shape == (N_TEST, 784)


@pytest.mark.parametrize(
    "name, array, match",
    [
        ("train-images-idx3-ubyte", np.zeros((20, 32, 32), np.uint8), r"shape \(n, 28, 28\)"),
        ("train-images-idx3-ubyte", np.zeros((20, 784), np.uint8), r"shape \(n, 28, 28\)"),
        ("train-images-idx3-ubyte", np.zeros((20, 28, 28), np.float32), "uint8 images"),
        ("train-labels-idx1-ubyte", np.zeros((20, 1), np.uint8), "1-D uint8 array"),
        ("train-labels-idx1-ubyte", np.full(20, 10, np.uint8), r"labels must be in 0\.\.9"),
    ],
)
def test_wrong_file_contents(tmp_path, name, array, match):
    arrays = make_arrays()
    arrays[name] = array
    write_files(tmp_path / "mnist", arrays)
    with pytest.raises(ValueError, match=match) as excinfo:
        fetch_mnist(data_home=tmp_path)
    assert name in str(excinfo.value)


def test_corrupt_local_file(tmp_path):
    directory = write_files(tmp_path / "mnist", make_arrays())
    path = directory / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    with pytest.raises(ValueError, match="truncated") as excinfo:
        fetch_mnist(data_home=tmp_path, subset="test")
    assert str(path) in str(excinfo.value)


# --------------------------------------------------------------------------
# missing files


@pytest.mark.parametrize("fetch, subdir, prefix", DATASETS)
def test_missing_files_without_download(tmp_path, fetch, subdir, prefix):
    with pytest.raises(FileNotFoundError) as excinfo:
        fetch(data_home=tmp_path / "data", subset="test", download_if_missing=False)
    message = str(excinfo.value)
    directory = tmp_path / "data" / subdir
    assert str(directory) in message
    assert "SKMNIST_DATA" in message
    assert "download_if_missing=False" in message
    assert "t10k-images-idx3-ubyte.gz" in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "train-images" not in message  # only what the subset needs
    for url in getattr(_fetch, f"{prefix}_URLS"):
        assert url + "t10k-labels-idx1-ubyte.gz" in message
    assert not (tmp_path / "data").exists()


def test_missing_fashion_message_mentions_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", (str(tmp_path / "nowhere"),))
    with pytest.raises(OSError, match="dataset-fashion-mnist") as excinfo:
        fetch_fashion_mnist(data_home=tmp_path, download_if_missing=False)
    assert str(tmp_path / "nowhere") in str(excinfo.value)


def test_only_the_missing_file_is_listed(tmp_path):
    write_files(tmp_path / "mnist", make_arrays(), names=FILES["train"][:1])
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    first_line = str(excinfo.value).splitlines()[0]
    assert "train-labels-idx1-ubyte.gz" in first_line
    assert "train-images" not in first_line


# --------------------------------------------------------------------------
# downloading (offline: file:// URLs and a patched urlopen)


@pytest.fixture
def mirror(tmp_path):
    """A directory of .gz files served through a file:// URL."""
    arrays = make_arrays(seed=3)
    directory = write_files(tmp_path / "mirror", arrays)
    return directory, arrays


def _no_temp_files(directory):
    return [p.name for p in Path(directory).iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("fetch, subdir, prefix", DATASETS)
def test_download_verified(tmp_path, monkeypatch, mirror, fetch, subdir, prefix):
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, f"{prefix}_CHECKSUMS", checksums_of(directory))
    bunch = fetch(data_home=tmp_path / "data", subset="all", base_url=directory.as_uri())
    images, labels = expected(arrays, "all")
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.target, labels)

    target_dir = tmp_path / "data" / subdir
    assert sorted(p.name for p in target_dir.iterdir()) == sorted(f"{n}.gz" for n in ALL_FILES)
    for name in ALL_FILES:
        assert md5(target_dir / f"{name}.gz") == md5(directory / f"{name}.gz")

    # Second call reads from disk: an unreachable URL is never tried.
    again = fetch(data_home=tmp_path / "data", subset="all", base_url="file:///nonexistent/")
    np.testing.assert_array_equal(again.target, labels)


def test_download_only_what_the_subset_needs(tmp_path, monkeypatch, mirror):
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    fetch_mnist(data_home=tmp_path, subset="test", base_url=directory.as_uri() + "/")
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
    ]


def test_download_only_missing_files(tmp_path, monkeypatch, mirror):
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    # Images already there, uncompressed; the mirror lacks them entirely.
    write_files(tmp_path / "mnist", arrays, gz=False, names=FILES["test"][:1])
    (directory / "t10k-images-idx3-ubyte.gz").unlink()
    bunch = fetch_mnist(data_home=tmp_path, subset="test", base_url=directory.as_uri())
    np.testing.assert_array_equal(bunch.target, expected(arrays, "test")[1])
    assert (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_download_falls_back_to_next_mirror(tmp_path, monkeypatch, mirror):
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    empty = tmp_path / "empty_mirror"
    empty.mkdir()
    bunch = fetch_mnist(data_home=tmp_path / "data", subset="test",
                        base_url=[empty.as_uri(), directory.as_uri()])
    np.testing.assert_array_equal(bunch.target, expected(arrays, "test")[1])


def test_default_mirrors_are_used(tmp_path, monkeypatch, mirror):
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    monkeypatch.setattr(_fetch, "MNIST_URLS", (directory.as_uri(),))
    X, y = fetch_mnist(data_home=tmp_path / "data", subset="test", return_X_y=True)
    np.testing.assert_array_equal(y, expected(arrays, "test")[1])


def test_recompressed_mirror_accepted_by_content_checksum(tmp_path, monkeypatch, mirror):
    # As with Debian's files: a different gzip wrapper, the same IDX content.
    directory, arrays = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory, raw=True))
    bunch = fetch_mnist(data_home=tmp_path / "data", subset="test",
                        base_url=directory.as_uri())
    np.testing.assert_array_equal(bunch.target, expected(arrays, "test")[1])


def test_checksum_mismatch_removes_download(tmp_path, monkeypatch, mirror):
    directory, _ = mirror
    bad = {name: ("0" * 32, "1" * 32) for name in checksums_of(directory)}
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", bad)
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=tmp_path / "data", subset="test", base_url=directory.as_uri())
    message = str(excinfo.value)
    assert "checksum mismatch for t10k-images-idx3-ubyte.gz" in message
    assert "removed" in message
    assert md5(directory / "t10k-images-idx3-ubyte.gz") in message
    assert str(tmp_path / "data" / "mnist") in message
    # Nothing left behind: no file, no temporary file, no empty directory.
    assert not (tmp_path / "data").exists()


def test_checksum_mismatch_keeps_existing_files(tmp_path, monkeypatch, mirror):
    directory, arrays = mirror
    table = checksums_of(directory)
    table["t10k-labels-idx1-ubyte.gz"] = ("0" * 32, None)
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", table)
    write_files(tmp_path / "mnist", arrays, names=FILES["test"][:1])
    with pytest.raises(OSError, match="checksum mismatch for t10k-labels"):
        fetch_mnist(data_home=tmp_path, subset="test", base_url=directory.as_uri())
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_file_without_known_checksum_is_not_downloaded(tmp_path, monkeypatch, mirror):
    directory, _ = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", {})
    with pytest.raises(OSError, match="no checksum is known"):
        fetch_mnist(data_home=tmp_path / "data", base_url=directory.as_uri())
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("fetch, subdir, prefix", DATASETS)
def test_offline_download_failure_message(tmp_path, monkeypatch, fetch, subdir, prefix):
    calls = []

    def offline_urlopen(url, timeout=None):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_fetch.urllib.request, "urlopen", offline_urlopen)
    with pytest.raises(OSError) as excinfo:
        fetch(data_home=tmp_path / "data", subset="train")
    message = str(excinfo.value)
    assert str(tmp_path / "data" / subdir) in message
    assert "SKMNIST_DATA" in message
    assert "name resolution" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert "train-labels-idx1-ubyte.gz" in message
    default_urls = getattr(_fetch, f"{prefix}_URLS")
    for url in default_urls:
        assert url + "train-images-idx3-ubyte.gz" in message
    # Every mirror tried once for the first file, then it gives up; with a timeout.
    assert [url for url, _ in calls] == [u + "train-images-idx3-ubyte.gz" for u in default_urls]
    assert all(timeout == _fetch.DOWNLOAD_TIMEOUT for _, timeout in calls)
    assert not (tmp_path / "data").exists()


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, mirror):
    directory, _ = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    (tmp_path / "data" / "mnist").mkdir(parents=True)

    class BrokenResponse(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 100:
                raise ConnectionResetError("connection reset by peer")
            return super().read(64)

    payload = (directory / "t10k-images-idx3-ubyte.gz").read_bytes()
    monkeypatch.setattr(_fetch.urllib.request, "urlopen",
                        lambda url, timeout=None: BrokenResponse(payload))
    with pytest.raises(OSError, match="connection reset"):
        fetch_mnist(data_home=tmp_path / "data", subset="test", base_url="https://example.invalid/")
    # The directory existed before: it stays, empty.
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


def test_keyboard_interrupt_during_download_leaves_nothing(tmp_path, monkeypatch, mirror):
    directory, _ = mirror
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory))
    (tmp_path / "mnist").mkdir()

    class InterruptedResponse(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise KeyboardInterrupt
            return super().read(10)

    monkeypatch.setattr(_fetch.urllib.request, "urlopen",
                        lambda url, timeout=None: InterruptedResponse(b"x" * 100))
    with pytest.raises(KeyboardInterrupt):
        fetch_mnist(data_home=tmp_path, subset="test", base_url="https://example.invalid/")
    assert list((tmp_path / "mnist").iterdir()) == []


def test_partial_success_lists_only_files_still_missing(tmp_path, monkeypatch, mirror):
    directory, _ = mirror
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(_fetch, "MNIST_CHECKSUMS", checksums_of(directory) | {
        "t10k-labels-idx1-ubyte.gz": ("0" * 32, None)})
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=tmp_path, subset="test", base_url=directory.as_uri())
    first_line = str(excinfo.value).splitlines()[0]
    assert "t10k-labels-idx1-ubyte.gz" in first_line
    assert "t10k-images" not in first_line
    # The verified image file is kept for next time.
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_data_home_that_cannot_be_created(tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    with pytest.raises(OSError, match="cannot create") as excinfo:
        fetch_mnist(data_home=tmp_path / "a_file", base_url="https://example.invalid/")
    assert "SKMNIST_DATA" in str(excinfo.value)


def test_base_url_type_is_checked(tmp_path):
    with pytest.raises(TypeError, match="base_url"):
        fetch_mnist(data_home=tmp_path, base_url=[1, 2])


def test_no_network_guard_is_active(offline_and_isolated):
    with pytest.raises(pytest.fail.Exception, match="network"):
        socket.create_connection(("example.com", 80))
    with pytest.raises(pytest.fail.Exception, match="network"):
        urllib.request.urlopen("http://example.com/", timeout=1)
    assert len(offline_and_isolated) == 2
    offline_and_isolated.clear()  # the guard worked; let the fixture pass


# --------------------------------------------------------------------------
# checksum tables and the real Debian files


@pytest.mark.parametrize("table", [_fetch.MNIST_CHECKSUMS, _fetch.FASHION_MNIST_CHECKSUMS])
def test_checksum_tables_are_complete(table):
    assert sorted(table) == sorted(f"{name}.gz" for name in ALL_FILES)
    for gz_md5, raw_md5 in table.values():
        for digest in (gz_md5, raw_md5):
            assert len(digest) == 32
            int(digest, 16)


DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_test_set(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "FASHION_MNIST_SYSTEM_DIRS", (str(DEBIAN_DIR),))
    bunch = fetch_fashion_mnist(data_home=tmp_path, subset="test", download_if_missing=False)
    assert bunch.data.shape == (10000, 784)
    np.testing.assert_array_equal(np.bincount(bunch.target), np.full(10, 1000))
    assert list(bunch.target_names[bunch.target[:3]]) == ["Ankle boot", "Pullover", "Trouser"]
    # Debian recompressed the files: the published .gz MD5 may differ, but
    # the content matches the published content checksum.
    for name in FILES["test"]:
        gz_md5, raw_md5 = _fetch.FASHION_MNIST_CHECKSUMS[f"{name}.gz"]
        assert _fetch._decompressed_md5(DEBIAN_DIR / f"{name}.gz") == raw_md5
