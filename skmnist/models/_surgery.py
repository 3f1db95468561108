"""Model surgery for fine-tuning: blocks, backbone and head, freezing (torch only).

A module's *blocks* are its children in forward order, with ``nn.Sequential``
children split into their parts; only parts with parameters count. For
skmnist's :class:`~skmnist.models.SmallCNN` they are each convolutional block
(``features.0``, ``features.1``), each layer of the dense head (``head.2``,
...) and the output layer (``classifier``).
"""

from torch import nn

from ._blocks import init_weights


def blocks(module):
    """The module's trainable blocks in forward order: ``[(name, submodule), ...]``.

    Examples
    --------
    >>> from skmnist.models import get_model
    >>> from skmnist.models._surgery import blocks
    >>> [name for name, _ in blocks(get_model("cnn", channels=(8, 16)))]
    ['features.0', 'features.1', 'head.2', 'classifier']
    """
    out = []
    for name, child in module.named_children():
        parts = child.named_children() if isinstance(child, nn.Sequential) else [(None, child)]
        for sub, part in parts:
            if any(True for _ in part.parameters()):
                out.append((name if sub is None else f"{name}.{sub}", part))
    return out


def block_names(module):
    """The names of :func:`blocks`, in forward order."""
    return [name for name, _ in blocks(module)]


def head_name(module):
    """The name of the output layer: ``classifier`` in skmnist models, else the last ``nn.Linear``.

    Raises
    ------
    ValueError
        If the module has no ``nn.Linear`` layer.
    """
    if isinstance(getattr(module, "classifier", None), nn.Linear):
        return "classifier"
    linear = [name for name, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError(
            f"The pretrained module ({type(module).__name__}) has no nn.Linear output layer "
            "to use as the classification head."
        )
    return linear[-1]


def backbone_blocks(module, head=None):
    """The feature extractor: the ``features`` blocks when the module has them.

    skmnist's architectures split into ``features`` (convolutions), a dense
    ``head`` and the output ``classifier``; the dense layers transfer poorly
    between tasks, so they are not part of the backbone. Other modules:
    every block but the output layer ``head`` (found with :func:`head_name`
    when None).
    """
    names = block_names(module)
    if isinstance(getattr(module, "features", None), nn.Module):
        features = [b for b in names if b == "features" or b.startswith("features.")]
        if features:
            return features
    head = head_name(module) if head is None else head
    return [b for b in names if b != head]


def replace_submodule(module, name, new):
    """Put ``new`` in place of the submodule called ``name`` (dotted path)."""
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, new)


def replace_head(module, n_outputs, head=None):
    """Replace the output layer by a fresh ``nn.Linear`` with ``n_outputs`` outputs."""
    head = head_name(module) if head is None else head
    old = module.get_submodule(head)
    replace_submodule(module, head, nn.Linear(old.in_features, n_outputs))
    return module


def set_trainable(module, names, trainable):
    """Freeze (``trainable=False``) or unfreeze the parameters of the named submodules."""
    for name in names:
        for p in module.get_submodule(name).parameters():
            p.requires_grad_(bool(trainable))
    return module


def reinitialize(module, names):
    """Re-draw the weights of the named submodules with the architectures' initialisation."""
    for name in names:
        init_weights(module.get_submodule(name))
    return module
