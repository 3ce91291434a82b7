"""VGG-16 (Simonyan & Zisserman 2015), with and without BatchNorm, returning C2..C5.

``features`` is laid out exactly as torchvision's ``vgg16`` / ``vgg16_bn`` (same
indices, so ``features.0.weight`` ... load from an ImageNet state dict; the
``classifier.*`` keys are ignored). C2..C5 are the outputs of pool2..pool5
(strides 4, 8, 16, 32): pool3 and pool4 are the skips of the original FCN-8s and
pool5 feeds its fc6/fc7 (``FCN(fc=True)``).

Stages for ``frozen_stages``: 0 is conv block 1 with pool1 (stride 2), stage i (1..4)
is conv block i+1 with its pool, whose output is C(i+1), as with ResNet's layer i.
"""

from torch import nn

from .base import Backbone, init_weights

#: conv widths per block; every block ends with a 2x2 max pool
VGG16_BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class VGG(Backbone):
    def __init__(self, blocks=VGG16_BLOCKS, batch_norm=False):
        super().__init__()
        layers, self._block_ends, cin = [], [], 3
        for widths in blocks:
            for w in widths:
                layers.append(nn.Conv2d(cin, w, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(w))
                layers.append(nn.ReLU(inplace=True))
                cin = w
            layers.append(nn.MaxPool2d(2, stride=2))
            self._block_ends.append(len(layers))
        self.features = nn.Sequential(*layers)
        self.out_channels = [blocks[i][-1] for i in range(1, 5)]
        init_weights(self)

    def stages(self):
        starts = [0] + self._block_ends[:-1]
        return [list(self.features[a:b]) for a, b in zip(starts, self._block_ends)]

    def forward(self, x):
        outs, start = [], 0
        for end in self._block_ends:
            for layer in self.features[start:end]:
                x = layer(x)
            outs.append(x)
            start = end
        return outs[1:]


def vgg16():
    return VGG(VGG16_BLOCKS, batch_norm=False)


def vgg16_bn():
    return VGG(VGG16_BLOCKS, batch_norm=True)
