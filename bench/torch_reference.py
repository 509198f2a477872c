"""PyTorch side of `npm run bench -- --suite trainer`: the same architectures, batch sizes and
optimizer as our trainer cases, timed the same way.

Models come from tests/reference/torch_models.py (written from the papers, not from our code; the
numeric tests check they compute what ours compute). A training step here is what ours is:
forward, cross-entropy, backward, SGD with momentum 0.9 (lr 0.01), and reading the loss value.

It serves requests so that the bench can interleave its repetitions with ours (the machine's speed
drifts; paired repetitions compare like with like). One JSON object per line on stdin:
  {"case": {"name", "model": {...}, "shape": [h, w, c], "batch"}, "threads": n, "steps": s, "warmup": w}
and one JSON line back per request: {"imgPerSec": r} or {"error": "..."}. The first line written is
{"torch": "<version>"}. A case's model and data are built on its first request and kept.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from torch_models import build  # noqa: E402


class Case:
    def __init__(self, c):
        h, w, ch = c["shape"]
        self.batch = c["batch"]
        self.model = build(c["model"], (h, w, ch), 10)
        self.model.train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(c["batch"], ch, h, w, generator=g)
        self.y = torch.randint(0, 10, (c["batch"],), generator=g)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        loss.item()

    def rate(self, steps, warmup):
        for _ in range(warmup):
            self.step()
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps * self.batch / (time.perf_counter() - t0)


def main():
    cases = {}
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            torch.set_num_threads(int(req["threads"]))
            name = req["case"]["name"]
            if name not in cases:
                cases[name] = Case(req["case"])
            out = {"imgPerSec": cases[name].rate(int(req["steps"]), int(req.get("warmup", 0)))}
        except Exception as e:  # a case that fails is reported, the others still run
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
