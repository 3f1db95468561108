"""A small convolutional network for digit-sized images (torch only)."""

from torch import nn

from .._validation import check_bool, check_int_tuple
from ._blocks import check_dropout, check_shape_args, dense_stack, init_weights
from ._registry import register_model


class ConvBlock(nn.Sequential):
    """3x3 convolution -> (batch norm) -> ReLU -> (2x2 max pool)."""

    def __init__(self, in_channels, out_channels, batch_norm=True, pool=True):
        layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        if pool:
            layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


class SmallCNN(nn.Module):
    """Convolutional blocks followed by a fully connected head.

    Each block halves the spatial size with max pooling while the image is
    at least 2 pixels high and wide, so any image size works (8x8 digits,
    28x28 MNIST, 32x32 colour images).

    Parameters
    ----------
    in_channels, height, width : int
        The per-sample input shape.
    n_classes : int
        Number of outputs (logits).
    channels : tuple of int, default=(32, 64)
        Output channels of each convolutional block.
    hidden_units : tuple of int, default=(128,)
        Hidden layers of the head.
    dropout : float, default=0.25
        Dropout before and inside the head.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    """

    def __init__(self, in_channels, height, width, n_classes, channels=(32, 64),
                 hidden_units=(128,), dropout=0.25, batch_norm=True):
        super().__init__()
        blocks = []
        h, w, c = height, width, in_channels
        for out in channels:
            pool = h >= 2 and w >= 2
            blocks.append(ConvBlock(c, out, batch_norm=batch_norm, pool=pool))
            if pool:
                h, w = h // 2, w // 2
            c = out
        self.features = nn.Sequential(*blocks)
        head = [nn.Flatten()]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        layers, last = dense_stack(c * h * w, hidden_units, dropout)
        self.head = nn.Sequential(*head, *layers)
        self.classifier = nn.Linear(last, n_classes)
        init_weights(self)

    def forward(self, x):
        return self.classifier(self.head(self.features(x)))


@register_model("cnn")
def cnn(*, in_channels=1, height=28, width=28, n_classes=10, channels=(32, 64),
        hidden_units=(128,), dropout=0.25, batch_norm=True):
    """Build a :class:`SmallCNN`.

    Parameters
    ----------
    in_channels, height, width : int
        The per-sample input shape.
    n_classes : int
        Number of classes.
    channels : tuple of int, default=(32, 64)
        Output channels of each convolutional block (its width and depth).
    hidden_units : tuple of int, default=(128,)
        Hidden layers of the fully connected head.
    dropout : float, default=0.25
        Dropout probability in the head.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.

    Returns
    -------
    module : SmallCNN
    """
    name = "cnn"
    check_shape_args(name, in_channels=in_channels, height=height, width=width,
                     n_classes=n_classes)
    channels = check_int_tuple(channels, f"{name}: channels", allow_empty=False)
    hidden_units = check_int_tuple(hidden_units, f"{name}: hidden_units")
    batch_norm = check_bool(batch_norm, f"{name}: batch_norm")
    return SmallCNN(in_channels, height, width, n_classes, channels, hidden_units,
                    check_dropout(dropout, name), batch_norm)
