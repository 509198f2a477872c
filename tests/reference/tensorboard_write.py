#!/usr/bin/env python3
"""Writes the TensorBoard fixtures of tests/unit/import-tensorboard.test.ts, independently of the
importer: the protobuf wire format and CRC-32C are encoded here by hand (stdlib only), from
TensorFlow's event.proto / summary.proto / tensor.proto and the TFRecord framing.

    python3 tests/reference/tensorboard_write.py   # rewrites tests/fixtures/tensorboard/

Layout (DIR = tests/fixtures/tensorboard/logs):
  baseline/seed1/  simple_value scalars (train/loss, val/acc), and a histogram (histo) to skip
  baseline/seed2/  TF2 tensor scalars: DT_FLOAT in tensor_content, plugin 'scalars' on the first
                   value of a tag only; and a 'histograms' tensor (shape [2, 3]) to skip
  mixup/seed1/     two files (read in name order): float_val and double_val scalars; the second
                   ends in a truncated record (a live run)
  mixup/seed2/     a record whose data CRC is wrong in the middle: the importer stops there
  (DIR2 = tests/fixtures/tensorboard/keras)
  seed3/train/, seed3/validation/   Keras' TensorBoard callback layout: epoch_loss, epoch_accuracy
                   (step = epoch index) and batch_loss (step = batch) as TF2 tensor scalars
expected.json says what each folder holds (values as float32 where written as float32) and where
the damage is.
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "tensorboard")

# --- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bitwise ---------------------------
def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

assert crc32c(b"123456789") == 0xE3069283  # the standard check value

def masked(data: bytes) -> int:
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

def record(data: bytes, bad_data_crc=False) -> bytes:
    head = struct.pack("<Q", len(data))
    crc = masked(data) ^ (0x1 if bad_data_crc else 0)
    return head + struct.pack("<I", masked(head)) + data + struct.pack("<I", crc)

# --- protobuf wire format -----------------------------------------------------------------------
def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def key(field: int, wire: int) -> bytes:
    return varint((field << 3) | wire)

def f_varint(field, n): return key(field, 0) + varint(n)
def f_double(field, x): return key(field, 1) + struct.pack("<d", x)
def f_float(field, x): return key(field, 5) + struct.pack("<f", x)
def f_bytes(field, b): return key(field, 2) + varint(len(b)) + b
def f_str(field, s): return f_bytes(field, s.encode())

def f32(x): return struct.unpack("<f", struct.pack("<f", x))[0]

DT_FLOAT, DT_DOUBLE = 1, 2

def shape(*dims):  # TensorShapeProto{dim=2 {size=1}}
    return b"".join(f_bytes(2, f_varint(1, d)) for d in dims)

def plugin(name):  # SummaryMetadata{plugin_data=1 {plugin_name=1}}
    return f_bytes(1, f_str(1, name))

def value(tag, *, simple=None, tensor=None, histo=None, meta=None):
    v = f_str(1, tag)
    if simple is not None: v += f_float(2, simple)
    if histo is not None: v += f_bytes(5, histo)
    if tensor is not None: v += f_bytes(8, tensor)
    if meta is not None: v += f_bytes(9, meta)
    return v

def event(step, wall, *values, file_version=None):
    e = f_double(1, wall) + f_varint(2, step)
    if file_version is not None:
        e += f_str(3, file_version)
    if values:
        e += f_bytes(5, b"".join(f_bytes(1, v) for v in values))  # Summary{value=1}
    return e

T0 = 1_700_000_000.0

def write(path, events, bad_at=None, truncate_last=0):
    """Writes the records; returns the byte offset of each."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    offsets, blob = [], b""
    for i, e in enumerate(events):
        offsets.append(len(blob))
        blob += record(e, bad_data_crc=(i == bad_at))
    if truncate_last:
        blob = blob[:-truncate_last]
    with open(path, "wb") as f:
        f.write(blob)
    return offsets

def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    logs = os.path.join(OUT, "logs")
    expected = {}

    # baseline/seed1: TF1 / PyTorch style simple_value, a histogram to skip
    evs = [event(0, T0, file_version="brain.Event:2")]
    pts = []
    for s in range(5):
        loss, acc = 2.0 / (s + 1), 0.5 + 0.1 * s
        histo = f_double(1, 0.0) + f_double(2, 1.0) + f_double(3, 10.0)  # HistogramProto min/max/num
        evs.append(event(s, T0 + s, value("train/loss", simple=loss), value("val/acc", simple=acc), value("weights", histo=histo)))
        pts += [{"key": "train/loss", "step": s, "value": f32(loss), "time": round((T0 + s) * 1000)},
                {"key": "val/acc", "step": s, "value": f32(acc), "time": round((T0 + s) * 1000)}]
    write(os.path.join(logs, "baseline/seed1/events.out.tfevents.1700000000.host.1.0"), evs)
    expected["baseline/seed1"] = {"points": pts, "skipped": {"histogram": 5}}

    # baseline/seed2: TF2 tensor scalars in tensor_content; plugin metadata on a tag's first value only
    evs = [event(0, T0, file_version="brain.Event:2")]
    pts = []
    for s in range(4):
        acc = 0.55 + 0.1 * s
        meta = plugin("scalars") if s == 0 else None
        t = f_varint(1, DT_FLOAT) + f_bytes(2, b"") + f_bytes(4, struct.pack("<f", acc))
        hmeta = plugin("histograms") if s == 0 else None
        h = f_varint(1, DT_DOUBLE) + f_bytes(2, shape(2, 3)) + f_bytes(4, struct.pack("<6d", 0, 1, 2, 1, 2, 3))
        evs.append(event(s, T0 + s, value("epoch_accuracy", tensor=t, meta=meta), value("kernel_0", tensor=h, meta=hmeta)))
        pts.append({"key": "epoch_accuracy", "step": s, "value": f32(acc), "time": round((T0 + s) * 1000)})
    write(os.path.join(logs, "baseline/seed2/events.out.tfevents.1700000000.host.2.v2"), evs)
    expected["baseline/seed2"] = {"points": pts, "skipped": {"histograms": 4}}

    # mixup/seed1: float_val in the first file, double_val in the second, whose last record is cut
    evs1 = [event(0, T0, file_version="brain.Event:2")]
    pts = []
    for s in range(3):
        acc = 0.6 + 0.1 * s
        t = f_varint(1, DT_FLOAT) + f_bytes(2, b"") + f_bytes(5, struct.pack("<f", acc))  # packed float_val
        evs1.append(event(s, T0 + s, value("epoch_accuracy", tensor=t, meta=plugin("scalars"))))
        pts.append({"key": "epoch_accuracy", "step": s, "value": f32(acc), "time": round((T0 + s) * 1000)})
    write(os.path.join(logs, "mixup/seed1/events.out.tfevents.1700000000.host.3.v2"), evs1)
    evs2 = [event(0, T0 + 10, file_version="brain.Event:2")]
    for s in range(3, 6):
        loss = 1.0 / s
        t = f_varint(1, DT_DOUBLE) + f_bytes(2, b"") + f_bytes(6, struct.pack("<d", loss))  # packed double_val
        evs2.append(event(s, T0 + 10 + s, value("epoch_loss", tensor=t, meta=plugin("scalars") if s == 3 else None)))
        if s < 5:
            pts.append({"key": "epoch_loss", "step": s, "value": loss, "time": round((T0 + 10 + s) * 1000)})
    offs = write(os.path.join(logs, "mixup/seed1/events.out.tfevents.1700000100.host.3.v2"), evs2, truncate_last=7)
    expected["mixup/seed1"] = {"points": pts, "truncated": {"file": "events.out.tfevents.1700000100.host.3.v2", "offset": offs[-1]}}

    # mixup/seed2: the data CRC of the 3rd scalar record is wrong; the records after it are good
    evs = [event(0, T0, file_version="brain.Event:2")]
    pts = []
    for s in range(6):
        acc = 0.7 + 0.01 * s
        evs.append(event(s, T0 + s, value("val/acc", simple=acc)))
        if s < 2:
            pts.append({"key": "val/acc", "step": s, "value": f32(acc), "time": round((T0 + s) * 1000)})
    offs = write(os.path.join(logs, "mixup/seed2/events.out.tfevents.1700000000.host.4.0"), evs, bad_at=3)
    expected["mixup/seed2"] = {"points": pts, "corrupt": {"file": "events.out.tfevents.1700000000.host.4.0", "offset": offs[3]}}

    # keras/seed3: train/ and validation/ of one Keras run
    keras = os.path.join(OUT, "keras", "seed3")
    def tscalar(x):
        return f_varint(1, DT_FLOAT) + f_bytes(2, b"") + f_bytes(4, struct.pack("<f", x))
    kpts = []
    for sub, side in (("train", "train"), ("validation", "val")):
        evs = [event(0, T0, file_version="brain.Event:2")]
        for e in range(3):
            loss, acc = 1.5 - 0.4 * e - (0.1 if side == "val" else 0), 0.4 + 0.15 * e
            first = e == 0
            evs.append(event(e, T0 + 60 * e,
                             value("epoch_loss", tensor=tscalar(loss), meta=plugin("scalars") if first else None),
                             value("epoch_accuracy", tensor=tscalar(acc), meta=plugin("scalars") if first else None)))
            kpts += [{"key": f"{side}/loss", "step": e, "value": f32(loss), "time": round((T0 + 60 * e) * 1000)},
                     {"key": f"{side}/acc", "step": e, "value": f32(acc), "time": round((T0 + 60 * e) * 1000)}]
            if side == "train":
                b = 10 * e + 5
                evs.append(event(b, T0 + 60 * e + 30, value("batch_loss", tensor=tscalar(loss + 0.05), meta=plugin("scalars") if first else None)))
                kpts.append({"key": "train/loss_step", "step": b, "value": f32(loss + 0.05), "time": round((T0 + 60 * e + 30) * 1000)})
        write(os.path.join(keras, sub, f"events.out.tfevents.1700000000.host.5.v2"), evs)
    expected["keras:seed3"] = {"points": kpts}

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")

if __name__ == "__main__":
    main()
