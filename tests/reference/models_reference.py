"""Independent PyTorch versions of every model in the registry, for tests/unit/models.test.ts.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/models_reference.py
It writes tests/fixtures/models_reference.json, so CI needs no PyTorch.

The models themselves are in torch_models.py, written from the papers and the spec, not from our
TypeScript. Their module names are our layer names: our `layer/kernel` is torch's `layer.weight`
(conv [cout, cin, kh, kw] vs our [kh, kw, cin, cout]; linear [out, in] vs our [in, out]), BN
gamma/beta/movingMean/movingVar are weight/bias/running_mean/running_var.

What it pins down:
- parameter counts and multiply-adds (conv and linear layers, counted by forward hooks) of every
  model and variant on 32x32x3 and 28x28x1 inputs with 10 classes;
- for small configs (resnet20 a/c/d, rir18 with both shortcut kinds, cnn3 with BatchNorm) on a 9x9
  input (odd sizes exercise padding and pooling rounding): logits in eval mode with fixed weights
  and running stats; and one training-mode pass (batch statistics): logits, loss, gradient
  summaries, and the running statistics after BatchNorm's update.
Fixed weights come from a formula (offset + scale * u, u in [-1, 1) from an integer hash of the
element index and a per-parameter salt, over our layout), recorded per parameter in the fixture, so
the fixture stays small and the test rebuilds them exactly. (A smooth formula such as sin(0.7 i)
makes every filter a phase shift of one sinusoid: rank-2 feature maps that BatchNorm turns into an
ill-conditioned network, where even float32 PyTorch strays 1e-2 from float64.)
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import RESNETS, build  # noqa: E402

torch.set_default_dtype(torch.float64)  # the reference in float64; we compare in float32


def count(model, shape):
    """Parameters, and multiply-adds of conv and linear layers for one example."""
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs.append(out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features)

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, shape[2], shape[0], shape[1]))
    for hk in hooks:
        hk.remove()
    return sum(p.numel() for p in model.parameters()), sum(macs)


M32 = 0xFFFFFFFF


def hash_unit(i, salt):
    """Element i of stream `salt` as a number in [-1, 1): a 32-bit integer hash, exact in any language."""
    h = (i + salt * 0x9E3779B9) & M32
    for _ in range(2):
        h ^= h >> 16
        h = (h * 0x45D9F3B) & M32
    h ^= h >> 16
    return h / 2**31 - 1


def det(n, salt, offset, scale):
    return torch.tensor([offset + scale * hash_unit(i, salt) for i in range(n)])


def ours(torch_name, t):
    """A torch tensor in our layout."""
    if t.dim() == 4:
        return t.permute(2, 3, 1, 0)  # [cout, cin, kh, kw] -> [kh, kw, cin, cout]
    if t.dim() == 2:
        return t.t()
    return t


def to_torch(t_ours, like):
    if like.dim() == 4:
        return t_ours.permute(3, 2, 0, 1)
    if like.dim() == 2:
        return t_ours.t()
    return t_ours


ROLE = {("conv", "weight"): "kernel", ("conv", "bias"): "bias", ("linear", "weight"): "kernel", ("linear", "bias"): "bias",
        ("bn", "weight"): "gamma", ("bn", "bias"): "beta", ("bn", "running_mean"): "movingMean", ("bn", "running_var"): "movingVar"}


def named_tensors(model):
    """(our name, torch tensor, is_param) for every parameter and BN running stat."""
    out = []
    for mname, m in model.named_modules():
        kind = "bn" if isinstance(m, nn.BatchNorm2d) else "conv" if isinstance(m, nn.Conv2d) else "linear" if isinstance(m, nn.Linear) else None
        if kind is None:
            continue
        for attr in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(m, attr, None)
            if t is not None:
                out.append((f"{mname}/{ROLE[(kind, attr)]}", t, attr in ("weight", "bias")))
    return out


def set_fixed_weights(model):
    """Formula weights; returns their recipes keyed by our names."""
    recipes = {}
    for salt_i, (name, t, _) in enumerate(sorted(named_tensors(model), key=lambda e: e[0])):
        role = name.split("/")[1]
        shape = list(ours(name, t).shape)
        fan_in = math.prod(shape[:-1]) if role == "kernel" else 1
        offset, scale = {"kernel": (0.0, math.sqrt(6.0 / fan_in)), "bias": (0.0, 0.1), "gamma": (1.0, 0.2), "beta": (0.0, 0.1),
                         "movingMean": (0.0, 0.1), "movingVar": (1.0, 0.3)}[role]
        salt = salt_i + 1
        v = det(math.prod(shape), salt, offset, scale).reshape(shape)
        with torch.no_grad():
            t.copy_(to_torch(v, t))
        recipes[name] = {"shape": shape, "offset": offset, "scale": scale, "salt": salt}
    return recipes


def grad_summary(g):
    """A gradient (our layout, flattened) in a few numbers: first values, L2 norm, a probe product."""
    g = g.flatten()
    probe = torch.tensor([math.sin(0.3 * i + 1.0) for i in range(g.numel())])
    return {"first": g[:6].tolist(), "norm": g.norm().item(), "probe": (g * probe).sum().item()}


def forward_case(cfg, shape, batch, classes):
    model = build(cfg, shape, classes)
    recipes = set_fixed_weights(model)
    x_ours = det(batch * math.prod(shape), 0, 0.2, 1.0).reshape([batch, *shape])
    x = x_ours.permute(0, 3, 1, 2)
    labels = torch.tensor([i * 3 % classes for i in range(batch)])
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = named_tensors(model)
    return {
        "config": cfg, "inputShape": shape, "classes": classes, "x": x_ours.flatten().tolist(), "labels": labels.tolist(),
        "weights": recipes,
        "eval": {"logits": eval_logits.flatten().tolist()},
        "train": {
            "logits": logits.detach().flatten().tolist(), "loss": loss.item(),
            "grads": {n: grad_summary(ours(n, t.grad)) for n, t, is_param in tensors if is_param},
            "buffers": {n: t.flatten().tolist() for n, t, is_param in tensors if not is_param},
        },
    }


def all_configs():
    yield {"name": "cnn3"}
    yield {"name": "cnn3", "batchNorm": True}
    yield {"name": "mlp"}
    for name in RESNETS:
        for variant in "abcd":
            yield {"name": name, "variant": variant}
    yield {"name": "rir18"}
    yield {"name": "rir18", "shortcut": "parameterFree"}


counts = []
for cfg in all_configs():
    for shape in ([32, 32, 3], [28, 28, 1]):
        params, macs = count(build(cfg, shape, 10), shape)
        counts.append({"config": cfg, "inputShape": shape, "classes": 10, "params": params, "flops": macs})
        print(f"{json.dumps(cfg):60s} {shape} params {params:>10d} mult-adds {macs:>12d}")

SMALL_RIR = {"name": "rir18", "channels": [4, 6, 8], "blocks": [1, 2, 1]}
forward = [
    forward_case({"name": "resnet20", "variant": "a"}, [9, 9, 3], 3, 10),
    forward_case({"name": "resnet20", "variant": "c"}, [9, 9, 3], 3, 10),
    forward_case({"name": "resnet20", "variant": "d"}, [9, 9, 3], 3, 10),
    forward_case(SMALL_RIR, [9, 9, 3], 3, 5),
    forward_case({**SMALL_RIR, "shortcut": "parameterFree"}, [9, 9, 3], 3, 5),
    forward_case({"name": "cnn3", "width": 4, "batchNorm": True}, [9, 9, 2], 3, 4),
]

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "models_reference.json")
with open(path, "w") as f:
    json.dump({"generator": "tests/reference/models_reference.py", "torch": torch.__version__, "counts": counts, "forward": forward}, f)
print(f"wrote {os.path.normpath(path)}")
