"""LeNet-5 (LeCun et al., 1998), in its common modern form (torch only)."""

from torch import nn

from ._blocks import check_dropout, check_shape_args, init_weights
from ._registry import register_model


class LeNet5(nn.Module):
    """LeNet-5: two 5x5 convolutions with pooling, then 120-84 dense layers.

    Uses ReLU and max pooling instead of the original scaled tanh and
    trainable subsampling. The first convolution is padded so 28x28 MNIST
    images map to the original 32x32 geometry; pooling is skipped once the
    feature map is smaller than 2x2, so small images (8x8) work too.

    Parameters
    ----------
    in_channels, height, width : int
        The per-sample input shape.
    n_classes : int
        Number of outputs (logits).
    dropout : float, default=0.0
        Dropout before each dense layer.
    """

    def __init__(self, in_channels, height, width, n_classes, dropout=0.0):
        super().__init__()
        h, w = height, width
        layers = [nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(inplace=True)]
        if h >= 2 and w >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        # Second convolution: valid (unpadded) when the map is large enough.
        pad = 0 if min(h, w) >= 5 else 2
        layers += [nn.Conv2d(6, 16, 5, padding=pad), nn.ReLU(inplace=True)]
        h, w = h + 2 * pad - 4, w + 2 * pad - 4
        if h >= 2 and w >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        drop = [nn.Dropout(dropout)] if dropout > 0 else []
        self.head = nn.Sequential(
            nn.Flatten(), *drop, nn.Linear(16 * h * w, 120), nn.ReLU(inplace=True),
            *drop, nn.Linear(120, 84), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(84, n_classes)
        init_weights(self)

    def forward(self, x):
        return self.classifier(self.head(self.features(x)))


@register_model("lenet5")
def lenet5(*, in_channels=1, height=28, width=28, n_classes=10, dropout=0.0):
    """Build a :class:`LeNet5`.

    Parameters
    ----------
    in_channels, height, width : int
        The per-sample input shape.
    n_classes : int
        Number of classes.
    dropout : float, default=0.0
        Dropout before each dense layer.

    Returns
    -------
    module : LeNet5
    """
    check_shape_args("lenet5", in_channels=in_channels, height=height, width=width,
                     n_classes=n_classes)
    return LeNet5(in_channels, height, width, n_classes, check_dropout(dropout, "lenet5"))
