"""PyTorch versions of every model in our registry (src/shared/models), written from the papers and
the spec (../shared/specs/tricks.md), not from our TypeScript, for tests/reference/models_reference.py.

ResNets: He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), with the model
tweaks of He et al., "Bag of Tricks for Image Classification with Convolutional Neural Networks"
(CVPR 2019). RiR: Targ et al., "Resnet in Resnet: Generalizing Residual Architectures" (2016).
C^3: Prakash et al., "RePr" (CVPR 2019).

Plain torch.nn modules: convs with padding=k//2, BatchNorm2d (momentum 0.1, eps 1e-5), AvgPool2d
with ceil_mode/count_include_pad=False for ResNet-D. Module attribute names follow our layer names
(`stage2.block0.conv1`), so `named_modules()` yields them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)


class Container(nn.Module):
    """A module whose children are named by the caller (block0, block1, ...)."""

    def __init__(self, **children):
        super().__init__()
        for name, m in children.items():
            setattr(self, name, m)


# ---------------------------------------------------------------------------- cnn3, mlp
class Cnn3(nn.Module):
    """C^3(width) of RePr: 3 x [conv3x3 + ReLU + maxpool2] + linear; optionally conv-BN-ReLU."""

    def __init__(self, cin, hw, classes, width, batch_norm):
        super().__init__()
        self.batch_norm = batch_norm
        for i in range(1, 4):
            setattr(self, f"conv{i}", conv(cin if i == 1 else width, width, 3, bias=not batch_norm))
            if batch_norm:
                setattr(self, f"bn{i}", nn.BatchNorm2d(width))
            hw = (hw[0] // 2, hw[1] // 2)
        self.head = nn.Linear(hw[0] * hw[1] * width, classes)

    def forward(self, x):
        for i in range(1, 4):
            x = getattr(self, f"conv{i}")(x)
            if self.batch_norm:
                x = getattr(self, f"bn{i}")(x)
            x = F.max_pool2d(F.relu(x), 2)
        return self.head(x.permute(0, 2, 3, 1).flatten(1))  # flatten in NHWC order, as ours


class Mlp(nn.Module):
    def __init__(self, cin, hw, classes, hidden):
        super().__init__()
        sizes = [hw[0] * hw[1] * cin] + hidden
        for i in range(len(hidden)):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
        self.n = len(hidden)
        self.head = nn.Linear(sizes[-1], classes)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1).flatten(1)
        for i in range(self.n):
            x = F.relu(getattr(self, f"fc{i + 1}")(x))
        return self.head(x)


# ---------------------------------------------------------------------------- ResNets
RESNETS = {
    "resnet20": (16, [16, 32, 64], [3, 3, 3]),
    "resnet32": (16, [16, 32, 64], [5, 5, 5]),
    "resnet56": (16, [16, 32, 64], [9, 9, 9]),
    "resnet18": (64, [64, 128, 256, 512], [2, 2, 2, 2]),
    "resnet34": (64, [64, 128, 256, 512], [3, 4, 6, 3]),
}


class Stem(nn.Module):
    def __init__(self, cin, width, deep):
        super().__init__()
        widths = [width // 2, width // 2, width] if deep else [width]  # ResNet-C: three 3x3 convs
        for i, w in enumerate(widths):
            setattr(self, f"conv{i + 1}", conv(cin, w, 3))
            setattr(self, f"bn{i + 1}", nn.BatchNorm2d(w))
            cin = w
        self.n = len(widths)

    def forward(self, x):
        for i in range(1, self.n + 1):
            x = F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
        return x


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride, avg_down):
        super().__init__()
        # ResNet-D: average pool first, then a stride-1 1x1 conv; otherwise a strided 1x1 conv.
        self.pool = nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False) if avg_down and stride > 1 else None
        self.conv = conv(cin, cout, 1, 1 if avg_down else stride)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(self.pool(x) if self.pool is not None else x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, avg_down):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 3, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3), nn.BatchNorm2d(cout)
        self.shortcut = Shortcut(cin, cout, stride, avg_down) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self, name, variant, cin, classes):
        super().__init__()
        stem, widths, blocks = RESNETS[name]
        self.stem = Stem(cin, stem, deep=variant in ("c", "d"))
        c = stem
        self.stages = len(widths)
        for s, (w, n) in enumerate(zip(widths, blocks)):
            stage = {}
            for b in range(n):
                stage[f"block{b}"] = BasicBlock(c, w, 2 if s > 0 and b == 0 else 1, avg_down=variant == "d")
                c = w
            setattr(self, f"stage{s + 1}", Container(**stage))
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        x = self.stem(x)
        for s in range(1, self.stages + 1):
            for block in getattr(self, f"stage{s}").children():
                x = block(x)
        return self.head(x.mean((2, 3)))


# ---------------------------------------------------------------------------- RiR
class ParamFree(nn.Module):
    """Parameter-free shortcut: every stride-th pixel, zero channels appended."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.extra, self.stride = cout - cin, stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return torch.cat([x, x.new_zeros(x.shape[0], self.extra, x.shape[2], x.shape[3])], 1)


def rir_shortcut(cin, cout, stride, kind):
    if stride == 1 and cin == cout:
        return None
    return ParamFree(cin, cout, stride) if kind == "parameterFree" else conv(cin, cout, 1, stride)


class GeneralizedResidual(nn.Module):
    def __init__(self, cin, cout, stride, kind):
        super().__init__()
        self.convRR, self.convTR = conv(cin, cout, 3, stride), conv(cin, cout, 3, stride)
        self.convRT, self.convTT = conv(cin, cout, 3, stride), conv(cin, cout, 3, stride)
        self.shortcut = rir_shortcut(cin, cout, stride, kind)
        self.bnR, self.bnT = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

    def forward(self, r, t):
        s = r if self.shortcut is None else self.shortcut(r)
        r2 = F.relu(self.bnR(self.convRR(r) + self.convTR(t) + s))
        t2 = F.relu(self.bnT(self.convRT(r) + self.convTT(t)))
        return r2, t2


class RiRBlock(nn.Module):
    def __init__(self, cin, cout, stride, kind):
        super().__init__()
        self.layer1 = GeneralizedResidual(cin, cout, stride, kind)
        self.layer2 = GeneralizedResidual(cout, cout, 1, kind)
        self.shortcut = rir_shortcut(cin, cout, stride, kind)

    def forward(self, r, t):
        r2, t2 = self.layer2(*self.layer1(r, t))
        return r2 + (r if self.shortcut is None else self.shortcut(r)), t2


class RiR(nn.Module):
    def __init__(self, channels, blocks, kind, cin, classes):
        super().__init__()
        c = channels[0]
        self.stem = Container(convR=conv(cin, c, 3), bnR=nn.BatchNorm2d(c), convT=conv(cin, c, 3), bnT=nn.BatchNorm2d(c))
        self.stages = len(channels)
        for s, (w, n) in enumerate(zip(channels, blocks)):
            stage = {}
            for b in range(n):
                stage[f"block{b}"] = RiRBlock(c, w, 2 if s > 0 and b == 0 else 1, kind)
                c = w
            setattr(self, f"stage{s + 1}", Container(**stage))
        self.head = conv(2 * c, classes, 1, bias=True)

    def forward(self, x):
        st = self.stem
        r, t = F.relu(st.bnR(st.convR(x))), F.relu(st.bnT(st.convT(x)))
        for s in range(1, self.stages + 1):
            for block in getattr(self, f"stage{s}").children():
                r, t = block(r, t)
        return self.head(torch.cat([r, t], 1)).mean((2, 3))


# ---------------------------------------------------------------------------- helpers
def build(cfg, shape, classes):
    h, w, c = shape
    name = cfg["name"]
    if name == "cnn3":
        return Cnn3(c, (h, w), classes, cfg.get("width", 32), cfg.get("batchNorm", False))
    if name == "mlp":
        return Mlp(c, (h, w), classes, cfg.get("hidden", [256, 128]))
    if name in RESNETS:
        return ResNet(name, cfg.get("variant", "a"), c, classes)
    return RiR(cfg.get("channels", [48, 96, 192]), cfg.get("blocks", [2, 3, 3]), cfg.get("shortcut", "conv"), c, classes)
