"""Read PostgreSQL's binary ``COPY ... TO STDOUT (FORMAT binary)`` output into
numpy arrays, for rows of fixed-width, non-null columns.

Bulk scoring reads a million event rows at a time; the binary format needs no
text formatting on the server and no parsing in Python: each row is a fixed
number of bytes, so numpy reads the whole buffer as one structured array.

Column kinds: ``int4``, ``int8``, ``float8`` and ``timestamp`` (microseconds
since 2000-01-01, as an ``int64``).
"""

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
KINDS = {"int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamp": ">i8"}


def parse_binary_copy(data, columns):
    """``{name: array}`` from the bytes of a binary COPY.

    :param data: the whole COPY output (bytes)
    :param columns: ``[(name, kind)]`` in the query's column order
    :raises ValueError: when the data does not have that exact shape (another
        column count, a NULL, another width)
    """
    data = bytes(data)
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    ext_len = int.from_bytes(data[15:19], "big")
    start = 19 + ext_len
    if data[-2:] != b"\xff\xff":
        raise ValueError("binary COPY stream without its trailer")
    body = data[start:-2]
    fields = [("count", ">i2")]
    for name, kind in columns:
        fields += [(f"{name}__len", ">i4"), (name, KINDS[kind])]
    dtype = np.dtype(fields)
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows are not of the expected width")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (rows["count"] != len(columns)).any():
        raise ValueError("binary COPY rows do not have the expected columns")
    for name, kind in columns:
        width = np.dtype(KINDS[kind]).itemsize
        if len(rows) and (rows[f"{name}__len"] != width).any():
            raise ValueError(f"column {name} has NULLs or another type")
    return {
        name: rows[name].astype(KINDS[kind].replace(">", "=")) for name, kind in columns
    }
