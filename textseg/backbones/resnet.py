"""ResNet-18/34/50/101 (He et al. 2016) returning C2..C5, with torchvision's parameter names.

The layout is torchvision's ``resnet*`` (v1.5: the stride of a bottleneck sits on its
3x3 conv) without ``avgpool``/``fc``, so an ImageNet state dict saved by torchvision
loads key for key (the classifier keys are ignored).
"""

from torch import nn

from .base import Backbone, init_weights


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


#: stems of :class:`ResNet`: ``standard`` is torchvision's (7x7/2 conv, 3x3/2 max pool);
#: ``fast`` is two 3x3/2 convolutions (half the stem's channels, then all of them) and no
#: pool, a third of the standard stem's multiply-adds at the same stride 4 (the standard
#: stem is a quarter of a half-width ResNet-18's work on a page)
STEMS = ("standard", "fast")


class ResNet(Backbone):
    """Stem (``standard``: 7x7/2 conv, 3x3/2 max pool; ``fast``: two 3x3/2 convs) then four
    stages; returns [C2, C3, C4, C5]."""

    def __init__(self, block, layers, width=1.0, stem="standard"):
        super().__init__()
        # ``width`` scales every stage's channels (1.0 = torchvision's ResNet; 0.5 = the
        # compact document backbone, 4x fewer FLOPs). ImageNet weights need width 1.0.
        planes = [max(8, int(round(p * width))) for p in (64, 128, 256, 512)]
        self.width = float(width)
        if stem not in STEMS:
            raise ValueError(f"unknown ResNet stem {stem!r}; choose from {', '.join(STEMS)}")
        self.stem = stem
        if stem == "fast":
            half = max(8, planes[0] // 2)
            self.conv1 = nn.Sequential(nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
                                       nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                                       nn.Conv2d(half, planes[0], 3, stride=2, padding=1,
                                                 bias=False))
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, planes[0], 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self._cin = planes[0]
        self.layer1 = self._stage(block, planes[0], layers[0], 1)
        self.layer2 = self._stage(block, planes[1], layers[1], 2)
        self.layer3 = self._stage(block, planes[2], layers[2], 2)
        self.layer4 = self._stage(block, planes[3], layers[3], 2)
        self.out_channels = [p * block.expansion for p in planes]
        del self._cin
        init_weights(self)

    def _stage(self, block, planes, n, stride):
        downsample = None
        if stride != 1 or self._cin != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self._cin, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        blocks = [block(self._cin, planes, stride, downsample)]
        self._cin = planes * block.expansion
        blocks += [block(self._cin, planes) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def stages(self):
        return [[self.conv1, self.bn1], [self.layer1], [self.layer2], [self.layer3], [self.layer4]]

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


def resnet18(width=1.0, stem="standard"):
    return ResNet(BasicBlock, [2, 2, 2, 2], width, stem)


def resnet34(width=1.0, stem="standard"):
    return ResNet(BasicBlock, [3, 4, 6, 3], width, stem)


def resnet50(width=1.0, stem="standard"):
    return ResNet(Bottleneck, [3, 4, 6, 3], width, stem)


def resnet101(width=1.0, stem="standard"):
    return ResNet(Bottleneck, [3, 4, 23, 3], width, stem)
