"""Minimal safetensors reader/writer (numpy), no `safetensors` package needed."""
import json
import struct

import numpy as np

_DT = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I8": np.int8,
       "U8": np.uint8, "BOOL": np.bool_}
_RDT = {np.dtype(v).str: k for k, v in _DT.items()}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dt = info["dtype"]
        if dt == "BF16":
            raw = np.frombuffer(data[base + a:base + b], dtype="<u2").astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[base + a:base + b], dtype=np.dtype(_DT[dt]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out, {k: (v["dtype"], v["shape"]) for k, v in header.items()}, meta


def save(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        b = arr.tobytes()
        header[name] = {"dtype": _RDT[np.dtype(arr.dtype).newbyteorder("<").str if arr.dtype.byteorder != "|" else arr.dtype.str],
                        "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
