"""Hostile files for the tests: edited model files whose checksum is recomputed, and
zip archives whose directory says what the attacker wants.

A model file's SHA-256 is no defence (anyone who edits a file can recompute
it), so every forged file here carries a correct checksum: what refuses it
must be the check under test, never the checksum.
"""

import io
import json
import struct
import zipfile
import zlib

from skmnist import _archive


def read_members(path):
    """``{name: bytes}`` of a zip file."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def forge(src, dst, *, metadata=None, raw_metadata=None, **members):
    """Copy model file ``src`` to ``dst``, edited, with a recomputed checksum.

    ``metadata`` is a function editing the metadata dict in place;
    ``raw_metadata`` replaces the JSON bytes;
    keyword arguments ``weights`` / ``optimizer`` replace ``weights.pt`` /
    ``optimizer.pt``.
    """
    blobs = read_members(src)
    if metadata is not None:
        meta = json.loads(blobs["metadata.json"])
        metadata(meta)
        blobs["metadata.json"] = json.dumps(meta).encode()
    if raw_metadata is not None:
        blobs["metadata.json"] = raw_metadata
    for key, blob in members.items():
        blobs[f"{key}.pt"] = blob
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in _archive.MEMBERS:
            archive.writestr(name, blobs[name])
        archive.writestr("SHA256", _archive._checksum(blobs))
    return dst


def deflate(data_or_chunks):
    """Raw deflate (as in zip files) of bytes or of an iterable of byte chunks."""
    chunks = [data_or_chunks] if isinstance(data_or_chunks, bytes) else data_or_chunks
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [compressor.compress(chunk) for chunk in chunks]
    out.append(compressor.flush())
    return b"".join(out)


def zeros_bomb(n_bytes):
    """Raw deflate of ``n_bytes`` zeros, built from 1 MiB chunks (a few MiB of output)."""
    chunk = bytes(2**20)
    return deflate(chunk for _ in range(n_bytes // 2**20))


def raw_zip(entries):
    """The bytes of a zip file whose entries say what they are told to.

    ``entries`` are ``(name, payload, method, declared_size, crc)``: the
    payload is written as is (already deflated for method 8), with the
    declared uncompressed size and CRC in both headers.
    """
    out = io.BytesIO()
    central = []
    for name, payload, method, size, crc in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21,
                              crc, len(payload), size, len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0,
                                   0x21, crc, len(payload), size, len(encoded), 0, 0, 0, 0,
                                   0, offset) + encoded)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    return out.getvalue()


def model_zip(src, dst, replace):
    """Rewrite model file ``src`` as a raw zip, entries in ``replace`` (name -> entry) swapped.

    The checksum member is recomputed over the members' true contents (those
    not replaced), so a replaced entry is what is refused.
    """
    blobs = read_members(src)
    entries = []
    for name in (*_archive.MEMBERS, "SHA256"):
        if name in replace:
            entries.append((name, *replace[name]))
            continue
        data = _archive._checksum(blobs).encode() if name == "SHA256" else blobs[name]
        entries.append((name, deflate(data), 8, len(data), zlib.crc32(data)))
    with open(dst, "wb") as f:
        f.write(raw_zip(entries))
    return dst
