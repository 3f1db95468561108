"""Tests for skmnist.datasets._idx (IDX reading and writing)."""

import gzip
import os
import struct
import zlib

import numpy as np
import pytest

from skmnist.datasets import _idx, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
         np.float32: 0x0D, np.float64: 0x0E}


def _random_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


def _idx_bytes(code, shape, payload):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)], ids=["1d", "3d"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip(tmp_path, dtype, shape, compressed):
    array = _random_array(dtype, shape)
    path = tmp_path / ("array-idx" + (".gz" if compressed else ""))
    write_idx(path, array)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    assert result.shape == shape
    assert result.flags.writeable
    np.testing.assert_array_equal(result, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compressed


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1, 2, 1, 2, 1)])
def test_round_trip_edge_shapes(tmp_path, shape):
    array = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    write_idx(tmp_path / "a", array)
    result = read_idx(tmp_path / "a")
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_writes_standard_big_endian_layout(tmp_path, dtype):
    array = _random_array(dtype, (2, 3), seed=1)
    write_idx(tmp_path / "a", array)
    big_endian = array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    expected = _idx_bytes(CODES[dtype], (2, 3), big_endian)
    assert (tmp_path / "a").read_bytes() == expected


def test_reads_hand_written_mnist_style_file(tmp_path):
    # The header of the MNIST label files: magic 0x00000801, then the count.
    (tmp_path / "labels").write_bytes(bytes.fromhex("00000801 00000003 050004"))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), [5, 0, 4])
    (tmp_path / "ints").write_bytes(bytes.fromhex("00000b01 00000002 0102 fffe"))
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), [258, -2])


def test_big_endian_input_is_written_correctly(tmp_path):
    array = np.array([1, -2, 70000], dtype=">i4")
    write_idx(tmp_path / "a", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), [1, -2, 70000])


def test_compression_detected_by_content_not_name(tmp_path):
    array = _random_array(np.uint8, (4, 4))
    write_idx(tmp_path / "compressed.gz", array)
    write_idx(tmp_path / "plain", array)
    os.rename(tmp_path / "compressed.gz", tmp_path / "compressed-no-suffix")
    os.rename(tmp_path / "plain", tmp_path / "plain-named.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-no-suffix"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-named.gz"), array)


def test_accepts_str_paths(tmp_path):
    path = str(tmp_path / "a.gz")
    write_idx(path, np.array([1, 2, 3], dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_gzip_output_is_deterministic(tmp_path):
    array = _random_array(np.float32, (5, 5))
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


GOOD = _idx_bytes(0x08, (2, 3), bytes(range(6)))


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x00\x00", "fewer than the 4-byte magic"),
        (b"", "fewer than the 4-byte magic"),
        (b"\x01" + GOOD[1:], "bad magic number"),
        (b"PK\x03\x04" + GOOD[4:], "bad magic number"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX type code 0x0A"),
        (GOOD[:10], "truncated IDX header"),
        (GOOD[:-1], r"truncated.*needs 6 bytes of data but the file holds 5"),
        (GOOD + b"\x00", r"trailing bytes.*needs 6 bytes of data but the file holds 7"),
        (_idx_bytes(0x0C, (3,), b"\x00" * 11), r"needs 12 bytes"),
    ],
    ids=["short", "empty", "bad-magic", "zip-file", "unknown-dtype",
         "truncated-header", "truncated-data", "trailing-bytes", "int32-size"],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
def test_corrupt_files_raise_helpful_value_error(tmp_path, content, match, compressed):
    path = tmp_path / "broken-idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(ValueError, match=match) as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:-20])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize("array", [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool),
                                   np.zeros(3, dtype=np.uint16), np.array(["a"])])
def test_write_rejects_unsupported_dtypes(tmp_path, array):
    with pytest.raises(ValueError, match="supported dtypes are"):
        write_idx(tmp_path / "a", array)
    assert list(tmp_path.iterdir()) == []


def test_write_leaves_no_temporary_files(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((3, 2), dtype=np.uint8))
    write_idx(tmp_path / "b", np.zeros((3, 2), dtype=np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz", "b"]


@pytest.mark.parametrize("name", ["a", "a.gz"])
def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, name):
    path = tmp_path / name
    old = np.array([1, 2, 3], dtype=np.uint8)
    write_idx(path, old)
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(_idx.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.array([9, 9], dtype=np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_overwrite_replaces_file(tmp_path):
    path = tmp_path / "a"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    write_idx(path, np.ones((2, 2), dtype=np.float64))
    np.testing.assert_array_equal(read_idx(path), np.ones((2, 2)))


# --------------------------------------------------------------------------
# Hostile files (issue 12, item 10)
# --------------------------------------------------------------------------


def test_a_gzip_bomb_is_inflated_only_as_far_as_its_header_says(tmp_path):
    import tracemalloc

    # A 3-byte array followed by 256 MiB of zeros, gzipped to a few hundred KiB.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(_idx_bytes(0x08, (3,), b"\x01\x02\x03"))]
    parts += [compressor.compress(bytes(2**20)) for _ in range(256)]
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(b"".join(parts) + compressor.flush())
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"trailing bytes.*more than") as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 8 * 2**20  # gzip.decompress of the whole file took 256 MiB


def test_the_size_product_does_not_wrap(tmp_path):
    # Four dimensions of 65536: 2**64 bytes, which numpy's uint64 product wraps to 0.
    content = _idx_bytes(0x08, (65536,) * 4, b"")
    for name, data in (("plain", content), ("packed.gz", gzip.compress(content))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match="needs 18446744073709551616 bytes") as info:
            read_idx(path)
        assert str(path) in str(info.value)


def test_a_header_claiming_more_than_gzip_can_hold_is_refused_before_allocating(tmp_path):
    path = tmp_path / "lie.gz"
    path.write_bytes(gzip.compress(_idx_bytes(0x0E, (2**20, 2**12), b"")))  # 32 GiB
    with pytest.raises(ValueError, match="more than .* bytes of gzip data can hold"):
        read_idx(path)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
def test_absurd_ndim_is_refused(tmp_path, compressed):
    content = bytes([0, 0, 0x08, 255]) + bytes(4 * 255)
    path = tmp_path / "many-dims"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(ValueError, match="claims 255 dimensions") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_write_refuses_what_read_refuses(tmp_path):
    with pytest.raises(ValueError, match="at most 32 dimensions"):
        write_idx(tmp_path / "a", np.zeros((1,) * 33, dtype=np.uint8))
    write_idx(tmp_path / "b", np.zeros((1,) * 32, dtype=np.uint8))
    assert read_idx(tmp_path / "b").shape == (1,) * 32


def test_errors_opening_the_file_name_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        read_idx(tmp_path)
