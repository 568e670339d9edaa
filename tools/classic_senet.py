"""The "classic" PyTorch SENet class (SE-ResNet, ResNet v1.5), our own code.

Module names follow the widely circulated single-file SENet implementation so
that its state_dict keys load unchanged:

    conv1, bn1                                  stem (7x7/2 pad 3, no bias)
    layerN.I.basicblock.{0,1,3,4}               basic block branch
    layerN.I.bottleneck.{0,1,3,4,6,7}           bottleneck branch
    layerN.I.seblock.{2,4}                      SE: Linear(C, round(C/16)), Linear(round(C/16), C)
    layerN.I.downsample.{0,1}                   1x1 conv (stride) + BN shortcut
    fc                                          classifier

Two deliberate differences from that original: the SE squeeze is an adaptive
global average pool (the original hard-coded AvgPool2d sizes that only work
at 224x224), and the bottleneck SE works on the block's output width
planes*4 (the original sized it with `planes`, which cannot run).

`forward` returns softmax probabilities like the original; `forward_logits`
returns the logits (what the fixtures store).

`classic_senet(depth, fixed_pools=True)` is the original's squeeze and head as
written: AvgPool2d(56/28/14/7) in the SE blocks, AvgPool2d(7) and
`x.view(x.size(0), -1)` at the head, so it runs at 224x224 only. Exported with
a dynamic batch, its views become Shape -> Gather -> Unsqueeze -> Concat ->
Reshape subgraphs: the ONNX shape-folding fixtures. `expand_gate=True` scales
with `y.view(b, c, 1, 1).expand_as(x)` instead, the other common spelling of
the SE layer (an Expand node before the Mul).
"""

from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

REDUCTION = 16

CONFIGS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


def se_block(channels: int, pool: int | None = None) -> nn.Sequential:
    hidden = int(round(channels / REDUCTION))
    return nn.Sequential(
        nn.AvgPool2d(pool) if pool else nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(channels, hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, channels),
        nn.Sigmoid(),
    )


def shortcut(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1
    expand_gate = False

    def __init__(self, inplanes: int, planes: int, stride: int = 1, pool: int | None = None):
        super().__init__()
        self.basicblock = nn.Sequential(
            conv3x3(inplanes, planes, stride),
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            conv3x3(planes, planes),
            nn.BatchNorm2d(planes),
        )
        self.seblock = se_block(planes, pool)
        self.downsample = shortcut(inplanes, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.basicblock(x)
        return _se_add_relu(out, self.seblock, x, self.downsample, self.expand_gate)


class BottleneckBlock(nn.Module):
    expansion = 4
    expand_gate = False

    def __init__(self, inplanes: int, planes: int, stride: int = 1, pool: int | None = None):
        super().__init__()
        width = planes * self.expansion
        self.bottleneck = nn.Sequential(
            conv1x1(inplanes, planes),
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            conv3x3(planes, planes, stride),  # v1.5: stride on the 3x3
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            conv1x1(planes, width),
            nn.BatchNorm2d(width),
        )
        self.seblock = se_block(width, pool)
        self.downsample = shortcut(inplanes, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bottleneck(x)
        return _se_add_relu(out, self.seblock, x, self.downsample, self.expand_gate)


def _se_add_relu(out: torch.Tensor, se: nn.Module, x: torch.Tensor, down: nn.Module | None,
                 expand: bool = False) -> torch.Tensor:
    gate = se(out)
    if expand:  # the other common spelling: b, c = x.size()[:2]; x * y.view(b, c, 1, 1).expand_as(x)
        b, c, _, _ = out.size()
        out = out * gate.view(b, c, 1, 1).expand_as(out)
    else:
        out = out * gate.view(gate.shape[0], gate.shape[1], 1, 1)
    out = out + (x if down is None else down(x))
    return F.relu(out)


class SENet(nn.Module):
    def __init__(self, block: type, layers: Sequence[int], num_classes: int = 1000, fixed_pools: bool = False,
                 expand_gate: bool = False):
        super().__init__()
        self.fixed_pools = fixed_pools
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        pools = (56, 28, 14, 7) if fixed_pools else (None,) * 4  # the maps at 224x224
        self.layer1 = self._make_layer(block, 64, layers[0], 1, pools[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2, pools[1])
        self.layer3 = self._make_layer(block, 256, layers[2], 2, pools[2])
        self.layer4 = self._make_layer(block, 512, layers[3], 2, pools[3])
        self.avgpool = nn.AvgPool2d(7) if fixed_pools else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, (BasicBlock, BottleneckBlock)):
                m.expand_gate = expand_gate

    def _make_layer(self, block: type, planes: int, count: int, stride: int, pool: int | None) -> nn.Sequential:
        blocks: List[nn.Module] = []
        for i in range(count):
            blocks.append(block(self.inplanes, planes, stride if i == 0 else 1, pool))
            self.inplanes = planes * block.expansion
        return nn.Sequential(*blocks)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1) if self.fixed_pools else torch.flatten(x, 1)
        return self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.forward_logits(x), dim=1)


def classic_senet(depth: int, num_classes: int = 1000, fixed_pools: bool = False, expand_gate: bool = False) -> SENet:
    if depth not in CONFIGS:
        raise ValueError(f"classic SENet depth must be one of {sorted(CONFIGS)}, got {depth}")
    kind, layers = CONFIGS[depth]
    block = BasicBlock if kind == "basic" else BottleneckBlock
    return SENet(block, layers, num_classes, fixed_pools, expand_gate)
