"""Reading and writing arrays in the IDX format used by MNIST and Fashion-MNIST.

An IDX file is a header followed by the array's values in big-endian order.
The header holds two zero bytes, one byte naming the element type, one byte
giving the number of dimensions, then one big-endian ``uint32`` per
dimension. The MNIST files are distributed gzip-compressed.
"""

import contextlib
import gzip
import math
import os
import struct
import uuid
import zlib
from pathlib import Path

import numpy as np

# IDX type code -> big-endian numpy dtype of the stored values.
_CODE_TO_DTYPE = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_DTYPE_TO_CODE = {dtype.newbyteorder("="): code for code, dtype in _CODE_TO_DTYPE.items()}
_GZIP_MAGIC = b"\x1f\x8b"
#: The most dimensions an IDX file may have here (MNIST's have 1 or 3).
MAX_NDIM = 32
# Deflate inflates at most 1032-fold: a header claiming more is a lie.
_MAX_DEFLATE_RATIO = 1032


def _describe_codes():
    return ", ".join(
        f"0x{code:02X} ({dtype.newbyteorder('=').name})"
        for code, dtype in _CODE_TO_DTYPE.items()
    )


def read_idx(path):
    """Read an array from an IDX file, gzip-compressed or not.

    The IDX format stores one array of unsigned or signed bytes, 16- or
    32-bit integers, or 32- or 64-bit floats. Compression is detected from
    the file's first bytes (the gzip magic number ``1f 8b``), not from its
    name, so ``train-images-idx3-ubyte`` and ``train-images-idx3-ubyte.gz``
    are both read whatever they actually hold.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    array : ndarray
        A new, writable array in native byte order, with the shape and
        dtype (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
        ``float64``) given by the file's header.

    Raises
    ------
    ValueError
        If the file is not a valid IDX file: a bad magic number, an unknown
        type code, a corrupt gzip stream, or a data section whose size does
        not match the header (truncated file or trailing bytes). The message
        names the file and the problem.

    See Also
    --------
    write_idx : Write an array to an IDX file.
    fetch_mnist : Load MNIST from its IDX files.

    Notes
    -----
    The whole array is read into memory; MNIST's largest file is 47 MB once
    decompressed. The file is untrusted input: the header is read first, and
    exactly the bytes it announces are then read (or, for gzip data,
    inflated), never more, so a small file cannot make the reader inflate
    gigabytes; a header announcing more than the file can hold, more than
    32 dimensions, or trailing data is a ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmnist.datasets import read_idx, write_idx
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "labels-idx1-ubyte.gz")
    ...     write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    ...     read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    with open(path, "rb") as fh:
        compressed = fh.read(2) == _GZIP_MAGIC
        fh.seek(0)
        if compressed:
            return _read_gzip(path, fh, os.fstat(fh.fileno()).st_size)
        return _read_stream(path, fh, os.fstat(fh.fileno()).st_size)


def _read_gzip(path, fh, file_size):
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
            return _read_stream(path, gz, None, compressed_size=file_size)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; EOFError: the stream ends early.
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc}).") from exc


def _read_exactly(stream, n):
    """Up to ``n`` bytes of ``stream`` (fewer only at its end)."""
    chunks, left = [], n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_stream(path, stream, file_size, *, compressed_size=None):
    """Header first, then exactly the data it announces: never more is read or inflated.

    ``file_size`` is the size of an uncompressed file; for gzip data it is
    None and ``compressed_size`` bounds what the header may claim (deflate
    expands at most about 1032-fold).
    """
    head = _read_exactly(stream, 4)
    if len(head) < 4:
        raise ValueError(
            f"{path}: not an IDX file: it holds {len(head)} bytes, fewer than "
            "the 4-byte magic number."
        )
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: bad magic number {head.hex(' ')} "
            "(an IDX file starts with two zero bytes, a type code and the "
            "number of dimensions)."
        )
    code, ndim = head[2], head[3]
    if code not in _CODE_TO_DTYPE:
        raise ValueError(
            f"{path}: unknown IDX type code 0x{code:02X}; known codes are "
            f"{_describe_codes()}."
        )
    if ndim > MAX_NDIM:
        raise ValueError(
            f"{path}: the header claims {ndim} dimensions; skmnist reads IDX files of at "
            f"most {MAX_NDIM} (MNIST's have 1 or 3). The file is damaged or not an IDX file."
        )
    header_size = 4 + 4 * ndim
    dims = _read_exactly(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        held = 4 + len(dims) if file_size is None else file_size
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need a "
            f"{header_size}-byte header but the file holds {held} bytes."
        )
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = _CODE_TO_DTYPE[code]
    # Python integers: the product of the dimensions never wraps around.
    expected = math.prod(shape) * dtype.itemsize
    described = (f"shape {shape} of {dtype.newbyteorder('=').name} needs {expected} bytes "
                 "of data")
    if file_size is not None:
        actual = file_size - header_size
        if actual != expected:
            problem = "truncated" if actual < expected else "trailing bytes"
            raise ValueError(
                f"{path}: data size does not match the header ({problem}): {described} "
                f"but the file holds {actual}."
            )
    elif expected > _MAX_DEFLATE_RATIO * compressed_size + 2**20:
        raise ValueError(
            f"{path}: data size does not match the header (truncated): {described}, more "
            f"than {compressed_size} bytes of gzip data can hold."
        )
    array = np.empty(shape, dtype=dtype)
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    filled = 0
    while filled < expected:
        n = stream.readinto(buffer[filled:filled + 2**24])
        if not n:
            break
        filled += n
    if filled < expected:
        raise ValueError(
            f"{path}: data size does not match the header (truncated): {described} but "
            f"the file holds {filled}."
        )
    if file_size is None:
        # Only the header's bytes were inflated so far; what follows is trailing
        # data, counted up to 1 MiB (a small file that announces little and
        # inflates to gigabytes stops here).
        extra = len(_read_exactly(stream, 2**20))
        if extra:
            held = f"{expected + extra}" if extra < 2**20 else f"more than {expected + extra}"
            raise ValueError(
                f"{path}: data size does not match the header (trailing bytes): "
                f"{described} but the file holds {held}."
            )
    # Swapped in place: the result is a new, writable, native-endian array.
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def write_idx(path, array):
    """Write an array to an IDX file, gzip-compressed if the name ends in ``.gz``.

    The file is written atomically: the bytes go to a temporary file in the
    same directory, which then replaces ``path`` in one step, so readers
    never see a partly written file and a failed write leaves nothing
    behind.

    Parameters
    ----------
    path : str or path-like
        The file to write. Its directory must exist. If the name ends in
        ``.gz`` the file is gzip-compressed.

    array : array-like
        The array to store. Its dtype must be one of ``uint8``, ``int8``,
        ``int16``, ``int32``, ``float32`` or ``float64`` (no implicit
        casting is done), with at most 32 dimensions, each smaller than
        ``2**32``.

    Raises
    ------
    ValueError
        If the dtype or the shape cannot be stored in IDX.

    See Also
    --------
    read_idx : Read an array from an IDX file.

    Notes
    -----
    Compressed files are written without a file name or time stamp in the
    gzip header, so the same array always gives the same bytes.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmnist.datasets import read_idx, write_idx
    >>> images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "images-idx3-ubyte")
    ...     write_idx(path, images)
    ...     os.path.getsize(path)  # 16-byte header + 18 bytes of data
    ...     read_idx(path).shape
    34
    (2, 3, 3)
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _DTYPE_TO_CODE:
        raise ValueError(
            f"Cannot write dtype {array.dtype} to IDX file {path}; supported "
            f"dtypes are {_describe_codes()}. Cast the array first."
        )
    if array.ndim > MAX_NDIM:
        raise ValueError(
            f"Cannot write a {array.ndim}-dimensional array to IDX file "
            f"{path}; read_idx reads at most {MAX_NDIM} dimensions."
        )
    if any(n >= 2**32 for n in array.shape):
        raise ValueError(
            f"Cannot write shape {array.shape} to IDX file {path}; each "
            "dimension must be smaller than 2**32."
        )
    header = bytes([0, 0, _DTYPE_TO_CODE[native], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    with _atomic_open(path) as fh:
        if path.name.endswith(".gz"):
            # filename="" and mtime=0: no temp name or date in the header.
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
                gz.write(header)
                gz.write(data)
        else:
            fh.write(header)
            fh.write(data)


@contextlib.contextmanager
def _atomic_open(path):
    """Open a temporary file next to ``path``; move it there on success.

    The temporary file is created in the same directory (so ``os.replace``
    is atomic) with the default permissions, and removed if the ``with``
    block raises anything, ``KeyboardInterrupt`` included.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with open(tmp, "xb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
