"""Model surgery for fine-tuning (skmnist/models/_surgery.py): blocks, head, freezing."""

import pytest
import torch
from torch import nn

from skmnist.models import get_model
from skmnist.models._surgery import (
    backbone_blocks,
    block_names,
    head_name,
    reinitialize,
    replace_head,
    set_trainable,
)


def test_blocks_of_the_cnn_and_the_mlp():
    cnn = get_model("cnn", channels=(4, 8), hidden_units=(16,))
    assert block_names(cnn) == ["features.0", "features.1", "head.2", "classifier"]
    assert head_name(cnn) == "classifier"
    assert backbone_blocks(cnn) == ["features.0", "features.1"]  # dense layers train
    mlp = get_model("mlp", hidden_units=(8, 4))
    assert backbone_blocks(mlp) == [b for b in block_names(mlp) if b != head_name(mlp)]


def test_other_modules_use_their_last_linear_layer():
    module = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert head_name(module) == "3"
    assert backbone_blocks(module) == ["1"]
    with pytest.raises(ValueError, match="no nn.Linear output layer"):
        head_name(nn.Sequential(nn.Conv2d(1, 1, 3)))


def test_replace_head_set_trainable_reinitialize():
    torch.manual_seed(0)
    cnn = get_model("cnn", channels=(4,), hidden_units=(8,), n_classes=10)
    replace_head(cnn, 3)
    assert cnn.classifier.out_features == 3 and cnn.classifier.in_features == 8
    set_trainable(cnn, ["features.0"], False)
    assert not any(p.requires_grad for p in cnn.features.parameters())
    assert all(p.requires_grad for p in cnn.head.parameters())
    set_trainable(cnn, ["features.0"], True)
    assert all(p.requires_grad for p in cnn.parameters())
    before = cnn.head[2].weight.detach().clone()
    conv = cnn.features[0][0].weight.detach().clone()
    reinitialize(cnn, ["head.2"])
    assert not torch.equal(before, cnn.head[2].weight)
    assert torch.equal(conv, cnn.features[0][0].weight)  # only the named block changed
