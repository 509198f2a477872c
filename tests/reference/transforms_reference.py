"""Reference outputs of the data-augmentation ops, computed with torchvision's tensor transforms.

Run with Debian's python3-torch / python3-torchvision (0.14):
    /usr/bin/python3 tests/reference/transforms_reference.py
It writes tests/fixtures/transforms_reference.json, which tests/unit/transforms.test.ts compares
against src/data/transforms.ts, so CI needs no PyTorch. Written from torchvision's public
functional API, not from our code:
- for three small random uint8 images (9x11x3, 16x20x3 and a 10x12 greyscale), at fixed
  parameters: pad + crop (constant with a fill, reflect), hflip, resized_crop and resize
  (bilinear, antialias=False), rotate (nearest, with fill), adjust_brightness / contrast /
  saturation / hue;
- each op's uint8 result (torchvision on the uint8 tensor) and, for the ops that interpolate or
  blend, its exact result: the same op on the float image in [0, 1], times 255. torchvision
  truncates uint8 colour results; we round, so we are compared with the exact value (within 0.5)
  and with torchvision's uint8 output (within 1);
- the distribution of RandomResizedCrop.get_params and RandomCrop.get_params over many draws
  (mean, spread and range of the crop sides, area fraction and offsets), to check
  our sampler against torchvision's by statistics, not by random streams.
"""
import json
import math
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F

rs = np.random.RandomState(7)
images = {
    "rgbSmall": rs.randint(0, 256, size=(9, 11, 3)).astype(np.uint8),
    "rgb": rs.randint(0, 256, size=(16, 20, 3)).astype(np.uint8),
    "grey": rs.randint(0, 256, size=(10, 12, 1)).astype(np.uint8),
}
# torchvision works on CHW tensors; the fixture and our code use HWC.
chw = {k: torch.from_numpy(v).permute(2, 0, 1).contiguous() for k, v in images.items()}


def hwc(t):
    return t.permute(1, 2, 0).contiguous()


def ints(t):
    return hwc(t).flatten().tolist()


def floats(t):
    # the exact result in 0-255 units, 3 decimals (well inside the 0.5 tolerance it is used with)
    return [round(v, 3) for v in (hwc(t).double() * 255).flatten().tolist()]


cases = []


def case(op, image, params, u8, exact=None):
    c = {"op": op, "image": image, "params": params, "shape": list(hwc(u8).shape), "uint8": ints(u8)}
    if exact is not None:
        c["exact"] = floats(exact)
    cases.append(c)


def as_float(name):
    return chw[name].float() / 255


# pad then crop; top/left in padded coordinates
for name, padding, mode, fill, top, left, oh, ow in [
    ("rgbSmall", 3, "constant", 17, 1, 5, 9, 11),
    ("rgb", 4, "constant", 0, 0, 8, 16, 20),
    ("rgbSmall", 3, "reflect", 0, 5, 0, 9, 11),
    ("rgb", 4, "reflect", 0, 8, 3, 16, 20),
    ("grey", 2, "reflect", 0, 3, 1, 10, 12),
]:
    padded = F.pad(chw[name], padding, fill=fill, padding_mode=mode)
    case("padCrop", name, {"padding": padding, "padMode": mode, "fill": fill, "top": top, "left": left, "height": oh, "width": ow},
         F.crop(padded, top, left, oh, ow))

for name in images:
    case("hflip", name, {}, F.hflip(chw[name]))

for name, top, left, h, w, oh, ow in [
    ("rgbSmall", 2, 3, 5, 7, 8, 8),  # upsampling
    ("rgb", 1, 2, 14, 15, 6, 7),  # downsampling
    ("rgb", 0, 0, 16, 20, 32, 32),
    ("grey", 0, 1, 10, 9, 7, 13),
]:
    args = dict(top=top, left=left, height=h, width=w, size=[oh, ow], interpolation=T.InterpolationMode.BILINEAR, antialias=False)
    case("resizedCrop", name, {"top": top, "left": left, "height": h, "width": w, "outH": oh, "outW": ow},
         F.resized_crop(chw[name], **args), F.resized_crop(as_float(name), **args))

for name, size in [("rgbSmall", [13, 17]), ("rgb", [7, 9]), ("rgb", 12), ("grey", 7)]:
    args = dict(size=size, interpolation=T.InterpolationMode.BILINEAR, antialias=False)
    case("resize", name, {"size": size}, F.resize(chw[name], **args), F.resize(as_float(name), **args))

for name, angle, fill in [("rgbSmall", 17.5, 0), ("rgbSmall", -33.0, 0), ("rgb", -7.3, 40), ("rgb", 145.0, 0), ("grey", 25.0, 255)]:
    case("rotate", name, {"angle": angle, "fill": fill},
         F.rotate(chw[name], angle, interpolation=T.InterpolationMode.NEAREST, expand=False, fill=[float(fill)]))

adjust = {
    "brightness": F.adjust_brightness,
    "contrast": F.adjust_contrast,
    "saturation": F.adjust_saturation,
    "hue": F.adjust_hue,
}
for op, name, factor in [
    ("brightness", "rgbSmall", 0.6), ("brightness", "rgb", 1.7), ("brightness", "grey", 1.3),
    ("contrast", "rgbSmall", 0.5), ("contrast", "rgb", 1.8), ("contrast", "grey", 0.7),
    ("saturation", "rgbSmall", 0.3), ("saturation", "rgb", 1.9), ("saturation", "grey", 1.5),
    ("hue", "rgbSmall", 0.1), ("hue", "rgbSmall", -0.45), ("hue", "rgb", 0.27), ("hue", "rgb", -0.2), ("hue", "grey", 0.3),
]:
    case(op, name, {"factor": factor}, adjust[op](chw[name], factor), adjust[op](as_float(name), factor))

# Sampler statistics over many draws of torchvision's get_params.
torch.manual_seed(0)
N = 20000


def stats(xs):
    a = np.asarray(xs, dtype=np.float64)
    return {"mean": a.mean(), "std": a.std(), "min": a.min(), "max": a.max()}


samplers = []
for h, w, scale, ratio in [(32, 32, (0.08, 1.0), (3 / 4, 4 / 3)), (40, 40, (0.6, 1.0), (3 / 4, 4 / 3)), (12, 40, (0.5, 1.0), (0.9, 1.1))]:
    img = torch.zeros(1, h, w)
    draws = [T.RandomResizedCrop.get_params(img, list(scale), list(ratio)) for _ in range(N)]
    hs = [d[2] for d in draws]
    ws = [d[3] for d in draws]
    samplers.append({
        "kind": "resizedCrop", "height": h, "width": w, "scale": list(scale), "ratio": list(ratio), "n": N,
        "h": stats(hs), "w": stats(ws), "area": stats([a * b / (h * w) for a, b in zip(hs, ws)]),
        "top": stats([d[0] for d in draws]), "left": stats([d[1] for d in draws]),
    })
for h, w, oh, ow in [(40, 40, 32, 32), (13, 9, 8, 8)]:
    img = torch.zeros(1, h, w)
    draws = [T.RandomCrop.get_params(img, (oh, ow)) for _ in range(N)]
    samplers.append({"kind": "crop", "height": h, "width": w, "outH": oh, "outW": ow, "n": N,
                     "top": stats([d[0] for d in draws]), "left": stats([d[1] for d in draws])})

out = {
    "torchvision": torchvision.__version__,
    "images": {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in images.items()},
    "cases": cases,
    "samplers": samplers,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "transforms_reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes,", len(cases), "cases")
