"""Independent reference values for the loss-level and optimizer tricks, computed with PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/tricks_reference.py
It writes tests/fixtures/tricks_reference.json, which tests/unit/tricks.test.ts compares against
our TensorFlow.js code, so CI needs no PyTorch. Written from the papers and PyTorch's own
functions, not from our code:
- label smoothing: F.cross_entropy(label_smoothing=eps) (PyTorch's convention, eps / K on every
  class) and the Inception paper's eps / (K - 1) off-target form written out;
- mixup for a fixed lambda and permutation: the mixed inputs and targets, and the loss in the form
  lambda * CE(z, y) + (1 - lambda) * CE(z, y[perm]) (Zhang et al.), plain and with smoothing;
- R-Drop: CE of both passes + alpha/2 (KL(P||Q) + KL(Q||P)) with F.kl_div, summed over batch and
  classes (the official code) and per-sample summed, batch-averaged;
- one SGD (momentum, weight decay) run of 3 steps with parameter groups: weight decay on kernels
  only (no bias decay) vs on everything;
- knowledge distillation: T^2 * CE(softmax(r / T), softmax(z / T)) and its paper / weighted sums
  with the hard CE;
- RePr's inter-filter orthogonality scores of two conv layers (torch layout [out, in, kh, kw],
  rows normalised, |W W^T - I| summed per row / J) and the filters pruned at ratio 0.3, over both
  layers together (global) and per layer: the floor(0.3 * N) highest scores.
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


B, K = 6, 5
logits = det((B, K), 0.3, 2.0)
logits_q = det((B, K), 1.1, 2.0)
labels = torch.tensor([0, 3, 1, 4, 4, 2])
out = {"B": B, "K": K, "logits": logits.flatten().tolist(), "logitsQ": logits_q.flatten().tolist(), "labels": labels.tolist()}


def paper_targets(y, eps):
    t = torch.full((len(y), K), eps / (K - 1))
    t[torch.arange(len(y)), y] = 1 - eps
    return t


def soft_ce(z, t):
    return -(t * F.log_softmax(z, 1)).sum(1).mean()


out["labelSmoothing"] = []
for eps in (0.1, 0.25):
    out["labelSmoothing"].append({
        "epsilon": eps,
        "uniform": F.cross_entropy(logits, labels, label_smoothing=eps).item(),
        "paper": soft_ce(logits, paper_targets(labels, eps)).item(),
    })
out["plainCE"] = F.cross_entropy(logits, labels).item()

# mixup with lambda and perm fixed
lam = 0.37
perm = torch.tensor([2, 0, 5, 1, 3, 4])
x = det((B, 2, 2, 1), 0.9)
onehot = F.one_hot(labels, K).double()
out["mixup"] = {
    "lambda": lam,
    "perm": perm.tolist(),
    "x": x.flatten().tolist(),
    "mixedX": (lam * x + (1 - lam) * x[perm]).flatten().tolist(),
    "mixedTargets": (lam * onehot + (1 - lam) * onehot[perm]).flatten().tolist(),
    "loss": (lam * F.cross_entropy(logits, labels) + (1 - lam) * F.cross_entropy(logits, labels[perm])).item(),
    "lossSmoothed": (lam * F.cross_entropy(logits, labels, label_smoothing=0.1)
                     + (1 - lam) * F.cross_entropy(logits, labels[perm], label_smoothing=0.1)).item(),
}

# R-Drop
out["rdrop"] = []
for alpha in (0.3, 1.0):
    ce = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits_q, labels))
    lp, lq = F.log_softmax(logits, 1), F.log_softmax(logits_q, 1)
    # kl_div(input=log Q, target=P) = sum P (log P - log Q) = KL(P||Q)
    p_loss = F.kl_div(lq, lp, log_target=True, reduction="none")
    q_loss = F.kl_div(lp, lq, log_target=True, reduction="none")
    out["rdrop"].append({
        "alpha": alpha,
        "batchsum": (ce + alpha * (p_loss.sum() + q_loss.sum()) / 2).item(),
        "mean": (ce + alpha * (p_loss.sum(1).mean() + q_loss.sum(1).mean()) / 2).item(),
    })

# SGD with momentum and weight decay, no-bias-decay as parameter groups
shapes = {"dense/kernel": (4, 3), "dense/bias": (3,), "bn/gamma": (3,), "bn/beta": (3,)}
roles = {"dense/kernel": "kernel", "dense/bias": "bias", "bn/gamma": "gamma", "bn/beta": "beta"}
init = {n: det(s, 0.2 + i) for i, (n, s) in enumerate(shapes.items())}
grads = [{n: det(s, 3.0 + 0.5 * step + i, 0.8) for i, (n, s) in enumerate(shapes.items())} for step in range(3)]
lrs = [0.1, 0.08, 0.05]
out["sgd"] = {"roles": roles, "init": {n: v.flatten().tolist() for n, v in init.items()},
              "grads": [{n: g.flatten().tolist() for n, g in gs.items()} for gs in grads], "lrs": lrs, "runs": []}
for no_bias_decay in (False, True):
    for nesterov in (False, True):
        params = {n: torch.nn.Parameter(v.clone()) for n, v in init.items()}
        wd, mom = 5e-2, 0.9
        if no_bias_decay:
            groups = [{"params": [params["dense/kernel"]], "weight_decay": wd},
                      {"params": [params[n] for n in shapes if roles[n] != "kernel"], "weight_decay": 0.0}]
        else:
            groups = [{"params": list(params.values()), "weight_decay": wd}]
        opt = torch.optim.SGD(groups, lr=lrs[0], momentum=mom, nesterov=nesterov)
        for step in range(3):
            for g in opt.param_groups:
                g["lr"] = lrs[step]
            for n, p in params.items():
                p.grad = grads[step][n].clone()
            opt.step()
        out["sgd"]["runs"].append({
            "config": {"name": "sgd", "lr": lrs[0], "momentum": mom, "nesterov": nesterov, "weightDecay": wd, "noBiasDecay": no_bias_decay},
            "params": {n: p.detach().flatten().tolist() for n, p in params.items()},
        })

# Knowledge distillation: student logits z (= logits), teacher logits r (= logits_q)
out["distill"] = []
for T in (4.0, 20.0):
    soft = -(F.softmax(logits_q / T, 1) * F.log_softmax(logits / T, 1)).sum(1).mean() * T * T
    hard = F.cross_entropy(logits, labels)
    out["distill"].append({"temperature": T, "soft": soft.item(), "paper": (hard + soft).item(), "weighted03": (0.7 * hard + 0.3 * soft).item()})

# RePr: kernels in OUR layout [kh, kw, cin, cout]; some filters share a component (less orthogonal).
def repr_kernel(kh, kw, cin, cout, salt):
    k = det((kh, kw, cin, cout), salt)
    shared = det((kh, kw, cin), salt + 7.0)
    for f in range(0, cout, 3):
        k[..., f] += 0.8 * shared
    return k


repr_layers = {"convA": repr_kernel(3, 3, 4, 8, 0.1), "convB": repr_kernel(3, 3, 8, 12, 2.3)}
scores = {}
for name, k in repr_layers.items():
    w = k.permute(3, 2, 0, 1).reshape(k.shape[3], -1)  # torch's [out, in*kh*kw]
    w = w / w.norm(dim=1, keepdim=True)
    p = (w @ w.t() - torch.eye(w.shape[0])).abs()
    scores[name] = (p.sum(1) / w.shape[0])


def top(cands, n):
    cands = sorted(cands, key=lambda c: (-c[2], c[0], c[1]))[:n]
    out = {name: [] for name in repr_layers}
    for li, f, _ in cands:
        out[list(repr_layers)[li]].append(f)
    return {k: sorted(v) for k, v in out.items()}


all_c = [(li, f, scores[n][f].item()) for li, n in enumerate(repr_layers) for f in range(len(scores[n]))]
per_layer = {}
for li, n in enumerate(repr_layers):
    per_layer.update({n: top([c for c in all_c if c[0] == li], math.floor(0.3 * len(scores[n])))[n]})
out["repr"] = {
    "ratio": 0.3,
    "kernels": {n: {"shape": list(k.shape), "values": k.flatten().tolist()} for n, k in repr_layers.items()},
    "scores": {n: s.tolist() for n, s in scores.items()},
    "prunedGlobal": top(all_c, math.floor(0.3 * len(all_c))),
    "prunedLayer": per_layer,
}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tricks_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", os.path.normpath(path))
