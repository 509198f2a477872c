"""Independent reference values for CutMix (Yun et al. 2019), computed with PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/cutmix_reference.py
It writes tests/fixtures/cutmix_reference.json, which tests/unit/cutmix.test.ts compares against
src/trainer/tricks/cutmix.ts, so CI needs no PyTorch. Written from the paper's Algorithm A1 and
timm's rand_bbox / cutmix_bbox_and_lam (timm/data/mixup.py), not from our code:
- the box for lambda: ratio sqrt(1 - lambda), cut = int(side * ratio), centre randint(side)
  (here floor(u * side) for a fixed uniform u, so the draw is an input), edges centre -+ cut // 2
  clipped to the image;
- the corrected lambda 1 - box area / image area;
- the cut-mixed batch in PyTorch's NCHW layout, x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1],
  written out as NHWC (our layout), so a mix-up of the axes fails;
- the targets lambda * onehot + (1 - lambda) * onehot[perm], plain and label-smoothed the way timm's
  mixup_target smooths (off = eps / K, on = 1 - eps + off);
- the soft cross entropy of fixed logits against them (mean over the batch), its gradient with
  respect to the logits (autograd), and the same loss in the paper's form
  lambda * CE(z, y) + (1 - lambda) * CE(z, y[perm]).
The cases: a box inside the image, one clipped at a corner, an odd cut side, lambda 0 (the largest
box) and lambda close to 1 (an empty box: nothing is cut, lambda is 1).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)  # the reference in float64; we compare in float32


def det(shape, salt, scale=1.0):
    n = math.prod(shape)
    return torch.tensor([math.sin(0.7 * i + salt) * scale for i in range(n)]).reshape(shape)


B, H, W, C, K = 4, 5, 6, 2, 5
x_nhwc = det((B, H, W, C), 0.4)
logits = det((B, K), 0.3, 2.0)
labels = torch.tensor([1, 4, 0, 4])
perm = torch.tensor([2, 0, 3, 1])
onehot = F.one_hot(labels, K).double()


def rand_bbox(lam, uy, ux):
    # timm: np.sqrt, int(), np.random.randint(side), np.clip (written out: no numpy here)
    ratio = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(H * ratio), int(W * ratio)
    cy, cx = math.floor(uy * H), math.floor(ux * W)

    def clip(v, hi):
        return min(max(v, 0), hi)

    y0, y1 = clip(cy - cut_h // 2, H), clip(cy + cut_h // 2, H)
    x0, x1 = clip(cx - cut_w // 2, W), clip(cx + cut_w // 2, W)
    return y0, y1, x0, x1


def soft_ce(z, t):
    return -(t * F.log_softmax(z, 1)).sum(1).mean()


cases = []
for name, lam, uy, ux in [
    ("inside", 0.55, 0.5, 0.6),
    ("clipped at a corner", 0.3, 0.05, 0.95),
    ("odd cut side", 0.2, 0.62, 0.31),
    ("lambda 0", 0.0, 0.41, 0.77),
    ("empty box", 0.97, 0.5, 0.5),
]:
    y0, y1, x0, x1 = rand_bbox(lam, uy, ux)
    lam_c = 1.0 - (y1 - y0) * (x1 - x0) / float(H * W)
    x = x_nhwc.permute(0, 3, 1, 2).clone()  # NCHW, as PyTorch and timm hold images
    x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
    mixed = x.permute(0, 2, 3, 1)
    targets = lam_c * onehot + (1 - lam_c) * onehot[perm]
    eps = 0.1
    off = eps / K
    smooth = torch.full((B, K), off)
    smooth[torch.arange(B), labels] = 1 - eps + off
    smoothed = lam_c * smooth + (1 - lam_c) * smooth[perm]
    z = logits.clone().requires_grad_(True)
    loss = soft_ce(z, targets)
    (grad,) = torch.autograd.grad(loss, z)
    cases.append({
        "name": name,
        "drawnLambda": lam,
        "uy": uy,
        "ux": ux,
        "box": {"y0": y0, "y1": y1, "x0": x0, "x1": x1},
        "lambda": lam_c,
        "mixedX": mixed.flatten().tolist(),
        "mixedTargets": targets.flatten().tolist(),
        "loss": loss.item(),
        "lossPaperForm": (lam_c * F.cross_entropy(logits, labels) + (1 - lam_c) * F.cross_entropy(logits, labels[perm])).item(),
        "gradLogits": grad.flatten().tolist(),
        "lossSmoothed": soft_ce(logits, smoothed).item(),
    })

out = {"B": B, "H": H, "W": W, "C": C, "K": K, "x": x_nhwc.flatten().tolist(), "logits": logits.flatten().tolist(),
       "labels": labels.tolist(), "perm": perm.tolist(), "cases": cases}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "cutmix_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(path))
for c in cases:
    print(c["name"], c["box"], "lambda", c["lambda"])
