"""FCN-8s / 16s / 32s trunk (Long, Shelhamer & Darrell 2015).

1x1 "score" convolutions project C5 (or the fc6/fc7 block on it), C4 and C3 to
``channels``; the coarsest map is upsampled 2x by a learned transposed convolution
initialised to bilinear interpolation and SUMMED with the next skip, from C5 down
to C3 (16s: C4 only, 32s: no skip). Further learned 2x steps (bilinear init) bring
the map to stride 4, where a 3x3 conv+BN+ReLU gives the output. Every
upsampled map is cropped to the skip's size, so odd input sides work.

Differences from the paper, which predicted class scores directly: here the score
layers produce ``channels`` features for a method head; FCN-32s/16s upsample in 2x
steps rather than one 32x/16x deconvolution; the output is at stride 4, not 1.
"""

from torch import nn

from .layers import bilinear_upsampler, conv1x1, conv_bn_relu, match_size

#: variant -> number of skips fused (C4, then C3)
VARIANTS = {"32s": 0, "16s": 1, "8s": 2}


class FCN(nn.Module):
    """``FCN(in_channels, channels, variant='8s', fc=False, fc_channels=1024, dropout=0.5)``.

    ``fc=True`` adds the classic fc6/fc7 block on C5 (7x7 conv, ReLU, dropout, 1x1 conv,
    ReLU, dropout) of width ``fc_channels``, as FCN does on VGG-16 (the paper: 4096).
    """

    def __init__(self, in_channels, channels, variant="8s", fc=False, fc_channels=1024,
                 dropout=0.5):
        super().__init__()
        variant = variant or "8s"
        if variant not in VARIANTS:
            raise ValueError(f"FCN variant {variant!r}: choose from {', '.join(VARIANTS)}")
        if len(in_channels) != 4:
            raise ValueError(f"FCN needs the channels of C2..C5, got {in_channels}")
        self.variant, self.skips = variant, VARIANTS[variant]
        c2, c3, c4, c5 = in_channels
        self.fc = None
        if fc:
            self.fc = nn.Sequential(
                nn.Conv2d(c5, fc_channels, 7, padding=3), nn.ReLU(inplace=True), nn.Dropout(dropout),
                nn.Conv2d(fc_channels, fc_channels, 1), nn.ReLU(inplace=True), nn.Dropout(dropout))
            for m in self.fc:
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
            c5 = fc_channels
        self.score5 = conv1x1(c5, channels)
        self.score4 = conv1x1(c4, channels) if self.skips >= 1 else None
        self.score3 = conv1x1(c3, channels) if self.skips >= 2 else None
        # three 2x steps from stride 32 to stride 4: up to C4, C3, C2 sizes
        self.ups = nn.ModuleList(bilinear_upsampler(channels) for _ in range(3))
        self.out = conv_bn_relu(channels, channels, 3)
        self.out_channels = channels

    def forward(self, feats):
        c2, c3, c4, c5 = feats
        x = self.score5(c5 if self.fc is None else self.fc(c5))
        skips = [self.score4, self.score3][: self.skips]
        for i, (up, ref) in enumerate(zip(self.ups, (c4, c3, c2))):
            x = match_size(up(x), ref)
            if i < len(skips):
                x = x + skips[i](ref)
        return self.out(x)
