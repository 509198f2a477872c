"""PyTorch side of `npm run bench -- --suite trainer`: the same architectures, batch sizes and
optimizer as our trainer cases, timed the same way.

Models come from tests/reference/torch_models.py (written from the papers, not from our code; the
numeric tests check they compute what ours compute). A training step here is what ours is:
forward, cross-entropy, backward, SGD with momentum 0.9 (lr 0.01), and reading the loss value.

It serves requests so that the bench can interleave its repetitions with ours (the machine's speed
drifts; paired repetitions compare like with like). One JSON object per line on stdin:
  {"case": {"name", "model": {...}, "shape": [h, w, c], "batch"}, "threads": n, "steps": s, "warmup": w}
and one JSON line back per request: {"imgPerSec": r} or {"error": "..."}. The first line written is
{"torch": "<version>", "device": "cpu" | "cuda", "gpu": name or null, "cuda": version or null}.
A case's model and data are built on its first request (per device) and kept.

`--device cuda` (default cpu) runs the cases on the first CUDA device, in FP32. A request may then
carry "precision": "fp32" (TF32 off for matrix products and cuDNN convolutions: true FP32, what our
WebGPU kernels compute) or "default" (PyTorch's defaults as found at start: TF32 allowed in cuDNN
convolutions, not in matmuls; cudnn.benchmark off); the reply says which TF32 settings were in force.
Timing on CUDA synchronises the device before the clock starts and before it stops (the loss read
each step syncs too, as ours does). "device" in a request overrides --device for that request.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from torch_models import build  # noqa: E402


def _new_tf32_api():
    """PyTorch >= 2.9 has fp32_precision flags; mixing them with the legacy allow_tf32 ones is an error."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    return conv is not None and hasattr(conv, "fp32_precision") and hasattr(torch.backends.cuda.matmul, "fp32_precision")


class Precision:
    """Switches CUDA between true FP32 and PyTorch's defaults (saved at start)."""

    def __init__(self):
        self.new_api = _new_tf32_api()
        if self.new_api:
            self.defaults = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
        else:
            self.defaults = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)

    def set(self, precision):
        if precision == "fp32":
            values = ("ieee", "ieee") if self.new_api else (False, False)
        elif precision == "default":
            values = self.defaults
        else:
            raise ValueError(f'precision must be "fp32" or "default", not {precision!r}')
        if self.new_api:
            torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = values
        else:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = values
        return self.describe()

    def describe(self):
        if self.new_api:
            return {"matmul": torch.backends.cuda.matmul.fp32_precision, "conv": torch.backends.cudnn.conv.fp32_precision}
        return {"matmulTf32": torch.backends.cuda.matmul.allow_tf32, "convTf32": torch.backends.cudnn.allow_tf32}


class Case:
    def __init__(self, c, device):
        h, w, ch = c["shape"]
        self.batch = c["batch"]
        self.device = device
        self.model = build(c["model"], (h, w, ch), 10).to(device)
        self.model.train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(c["batch"], ch, h, w, generator=g).to(device)
        self.y = torch.randint(0, 10, (c["batch"],), generator=g).to(device)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        loss.item()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def rate(self, steps, warmup):
        for _ in range(warmup):
            self.step()
        self.sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        self.sync()
        return steps * self.batch / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = ap.parse_args()
    gpu = None
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print(json.dumps({"torch": torch.__version__, "device": "cuda", "error": "torch.cuda.is_available() is False"}), flush=True)
            sys.exit(1)
        gpu = torch.cuda.get_device_name(0)
    precision = Precision() if args.device == "cuda" else None
    cases = {}
    print(json.dumps({"torch": torch.__version__, "device": args.device, "gpu": gpu, "cuda": torch.version.cuda}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if "threads" in req:
                torch.set_num_threads(int(req["threads"]))
            device = torch.device(req.get("device", args.device))
            out = {}
            if device.type == "cuda":
                if precision is None:
                    precision = Precision()
                out["tf32"] = precision.set(req.get("precision", "fp32"))
            key = (req["case"]["name"], device.type)
            if key not in cases:
                cases[key] = Case(req["case"], device)
            out["imgPerSec"] = cases[key].rate(int(req["steps"]), int(req.get("warmup", 0)))
        except Exception as e:  # a case that fails is reported, the others still run
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
