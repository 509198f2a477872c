"""Independent reference values for the training skeleton, computed with PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/skeleton_reference.py
It writes tests/fixtures/skeleton_reference.json, which tests/unit/reference.test.ts compares
against our TensorFlow.js code, so CI needs no PyTorch.

What it pins down: cnn3's forward pass (conv3x3 'same' + bias + ReLU + maxpool 2, x3, then dense),
mean softmax cross-entropy and its gradients; torch.optim.SGD (momentum, Nesterov, weight decay)
and torch.optim.Adam (weight decay) steps; and the per-batch LR schedules (linear warmup + cosine,
step decay) via torch.optim.lr_scheduler.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)  # the reference in float64; we compare in float32


def det(shape, salt):
    """Deterministic values in about [-0.5, 0.5] that need no shared RNG between languages."""
    n = math.prod(shape)
    v = torch.tensor([math.sin(0.7 * i + salt) * 0.5 for i in range(n)])
    return v.reshape(shape)


WIDTH, H, W, C, K, B = 4, 8, 8, 3, 10, 2

# Our layouts: conv kernel [kh, kw, cin, cout], dense kernel [in, out], inputs NHWC.
params = {}
cin = C
for i in range(1, 4):
    params[f"conv{i}/kernel"] = det([3, 3, cin, WIDTH], i) * (1.0 / math.sqrt(9 * cin))
    params[f"conv{i}/bias"] = det([WIDTH], 10 + i) * 0.1
    cin = WIDTH
flat = (H // 8) * (W // 8) * WIDTH
params["head/kernel"] = det([flat, K], 20) * (1.0 / math.sqrt(flat))
params["head/bias"] = det([K], 21) * 0.1
x_nhwc = det([B, H, W, C], 30) + 0.5
labels = torch.tensor([3, 7])


def forward(p, x_nhwc):
    h = x_nhwc.permute(0, 3, 1, 2)  # NCHW for torch
    for i in range(1, 4):
        w = p[f"conv{i}/kernel"].permute(3, 2, 0, 1)  # -> [cout, cin, kh, kw]
        h = torch.nn.functional.conv2d(h, w, p[f"conv{i}/bias"], padding=1)
        h = torch.relu(h)
        h = torch.nn.functional.max_pool2d(h, 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flatten in NHWC order, as ours
    return h @ p["head/kernel"] + p["head/bias"]


def tensors():
    return {k: v.clone().requires_grad_(True) for k, v in params.items()}


out = {"inputs": {"x": x_nhwc.flatten().tolist(), "xShape": [B, H, W, C], "labels": labels.tolist(), "width": WIDTH, "classes": K},
       "params": {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in params.items()}}

p = tensors()
logits = forward(p, x_nhwc)
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
out["forward"] = {"logits": logits.detach().flatten().tolist(), "loss": loss.item(),
                  "grads": {k: v.grad.flatten().tolist() for k, v in p.items()}}


def run_steps(make_opt, lrs):
    p = tensors()
    opt = make_opt(list(p.values()))
    for lr in lrs:
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        torch.nn.functional.cross_entropy(forward(p, x_nhwc), labels).backward()
        opt.step()
    return {k: v.detach().flatten().tolist() for k, v in p.items()}


LRS = [0.1, 0.05, 0.02]
out["optimizers"] = [
    {"config": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": False, "weightDecay": 0.0}, "lrs": LRS,
     "params": run_steps(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), LRS)},
    {"config": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01}, "lrs": LRS,
     "params": run_steps(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), LRS)},
    {"config": {"name": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": False, "weightDecay": 0.001}, "lrs": LRS,
     "params": run_steps(lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.001), LRS)},
    {"config": {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.99, "epsilon": 1e-6, "weightDecay": 0.01}, "lrs": [0.01, 0.005, 0.002],
     "params": run_steps(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.01), [0.01, 0.005, 0.002])},
]


def schedule_values(sched_factory, steps, lr0):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = sched_factory(opt)
    vals = []
    for _ in range(steps):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return vals


EPOCHS, SPE, LR0 = 6, 5, 0.4
WARM = 2 * SPE
TOTAL = EPOCHS * SPE
LinearLR, CosineLR, SeqLR, MultiStep = (torch.optim.lr_scheduler.LinearLR, torch.optim.lr_scheduler.CosineAnnealingLR,
                                        torch.optim.lr_scheduler.SequentialLR, torch.optim.lr_scheduler.MultiStepLR)
out["schedules"] = [
    {"config": {"epochs": EPOCHS, "schedule": {"name": "cosine", "warmupEpochs": 2}}, "lr0": LR0, "stepsPerEpoch": SPE,
     # warmup: lr0 * (s+1)/W for s < W (LinearLR from 1/W to 1 over W-1 steps), then cosine over the rest
     "values": schedule_values(lambda o: SeqLR(o, [LinearLR(o, 1 / WARM, 1.0, WARM - 1), CosineLR(o, TOTAL - WARM)], [WARM]), TOTAL, LR0)},
    {"config": {"epochs": EPOCHS, "schedule": {"name": "cosine", "warmupEpochs": 0}}, "lr0": LR0, "stepsPerEpoch": SPE,
     "values": schedule_values(lambda o: CosineLR(o, TOTAL), TOTAL, LR0)},
    {"config": {"epochs": EPOCHS, "schedule": {"name": "step", "milestones": [2, 4], "gamma": 0.1}}, "lr0": LR0, "stepsPerEpoch": SPE,
     "values": schedule_values(lambda o: MultiStep(o, [2 * SPE, 4 * SPE], 0.1), TOTAL, LR0)},
]

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "skeleton_reference.json")
with open(path, "w") as f:
    json.dump({"generator": "tests/reference/skeleton_reference.py", "torch": torch.__version__, **out}, f)
print(f"wrote {os.path.normpath(path)}")
