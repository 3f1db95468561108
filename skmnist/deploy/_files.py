"""Writing exported files: atomically, as skmnist's saved models are written."""

import os
import tempfile


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file renamed into place.

    A crash or an error never leaves a half-written model at ``path``; an
    existing file there is replaced only once the new one is complete.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"Cannot write {path!r}: the folder {folder!r} does not exist.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".skmnist-export-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
