"""PyTorch side of `npm run bench -- --suite trainer`: the same architectures, batch sizes and
optimizer as our trainer cases, timed the same way, with 1 thread and with every core.

Models come from tests/reference/torch_models.py (written from the papers, not from our code; the
numeric tests check they compute what ours compute). A training step here is what ours is:
forward, cross-entropy, backward, SGD with momentum 0.9 (lr 0.01), and reading the loss value.

Input (argv[1]): JSON {"cases": [{"name", "model": {...}, "shape": [h, w, c], "batch",
"steps", "reps", "warmup"}], "threads": [1, 2]}. Output: one JSON line on stdout,
{"torch": "<version>", "results": {"<case name>": {"<threads>": {"median", "min", "max"}}}}
with images/s, or {"error": "..."} for a case that failed.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from torch_models import build  # noqa: E402


def bench_case(c):
    h, w, ch = c["shape"]
    model = build(c["model"], (h, w, ch), 10)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(c["batch"], ch, h, w, generator=g)
    y = torch.randint(0, 10, (c["batch"],), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    for _ in range(c["warmup"]):
        step()
    rates = []
    for _ in range(c["reps"]):
        t0 = time.perf_counter()
        for _ in range(c["steps"]):
            step()
        rates.append(c["steps"] * c["batch"] / (time.perf_counter() - t0))
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}


def main():
    spec = json.loads(sys.argv[1])
    results = {}
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        for c in spec["cases"]:
            r = results.setdefault(c["name"], {})
            try:
                r[str(threads)] = bench_case(c)
            except Exception as e:  # a case that fails is reported, the others still run
                r[str(threads)] = {"error": f"{type(e).__name__}: {e}"}
            print(f"torch {threads} thread(s) {c['name']}: {r[str(threads)]}", file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
