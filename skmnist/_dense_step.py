"""A hand-derived training step for skmnist's plain MLP (torch only).

On small batches of a small network the time of an autograd step is the
framework's, not the arithmetic's: recording the graph, the backward
engine, a dozen small kernels each with its dispatch. For the one network
whose gradient is short to write down, a stack of ``Linear -> ReLU`` layers
under a linear head trained with cross-entropy, :func:`dense_relu_step`
computes the loss and every gradient directly (forward, softmax minus the
targets, one matrix product per weight), without autograd. It leaves the
gradients in ``.grad`` exactly where ``loss.backward()`` would, so the
optimizer's step, weight decay and the rest of the loop are unchanged.

Measured on a 2-core CPU (``benchmarks/README.md``): the MLP on
``load_digits`` fits in 0.73x the time it takes with autograd. The gradients
equal autograd's up to float rounding (``tests/test_dense_step.py``).

:func:`dense_relu_layers` decides whether a module is that network; anything
else (dropout, frozen or hooked layers, another architecture, a user's
module) trains through autograd as before.
"""

import torch
from torch import nn

# The module this step knows: skmnist.models.mlp.MLP, by its qualified name
# (this layer does not import the architectures; a subclass is not matched).
_MLP_TYPE = ("skmnist.models.mlp", "MLP")
_relu_backward = torch.ops.aten.threshold_backward


def _hooked(module):
    return bool(module._forward_hooks or module._forward_pre_hooks
                or module._backward_hooks or module._backward_pre_hooks)


def _global_hooks():
    m = torch.nn.modules.module
    return bool(m._global_forward_hooks or m._global_forward_pre_hooks
                or m._global_backward_hooks or m._global_backward_pre_hooks)


def dense_relu_layers(module):
    """The ``nn.Linear`` layers of ``module`` when :func:`dense_relu_step` can train it, else None.

    ``module`` must be skmnist's ``MLP`` exactly: ``Flatten`` then
    ``(Linear, ReLU)`` pairs, then a ``Linear`` head; every layer with a
    bias, every parameter trainable (nothing frozen), float32 or float64
    throughout, and no hook on any layer or parameter (a hook would expect
    autograd to run). Dropout layers rule it out.
    """
    if (type(module).__module__, type(module).__qualname__) != _MLP_TYPE:
        return None
    features = getattr(module, "features", None)
    head = getattr(module, "classifier", None)
    if type(features) is not nn.Sequential or type(head) is not nn.Linear:
        return None
    children = list(features)
    if not children or type(children[0]) is not nn.Flatten:
        return None
    if (children[0].start_dim, children[0].end_dim) != (1, -1):
        return None
    pairs = children[1:]
    if len(pairs) % 2:
        return None
    layers = []
    for linear, relu in zip(pairs[::2], pairs[1::2]):
        if type(linear) is not nn.Linear or type(relu) is not nn.ReLU:
            return None
        layers.append(linear)
    layers.append(head)
    if _global_hooks() or any(_hooked(m) for m in module.modules()):
        return None
    dtype = head.weight.dtype
    for layer in layers:
        for p in (layer.weight, layer.bias):
            if (p is None or not p.requires_grad or p.dtype != dtype
                    or p.dtype not in (torch.float32, torch.float64)
                    or p._backward_hooks or getattr(p, "_post_accumulate_grad_hooks", None)):
                return None
    return tuple(layers)


def dense_relu_step(layers, X, y, label_smoothing=0.0):
    """Loss, logits and gradients of a ``Linear -> ReLU`` stack under cross-entropy.

    Parameters
    ----------
    layers : tuple of nn.Linear
        From :func:`dense_relu_layers`: hidden layers (each followed by a
        ReLU), then the head.
    X : torch.Tensor
        A batch, ``(n, ...)``; flattened from the second dimension.
    y : torch.Tensor
        Class indices, ``(n,)``, int64.
    label_smoothing : float, default=0.0
        As ``nn.CrossEntropyLoss(label_smoothing=...)``.

    Returns
    -------
    loss : torch.Tensor
        The mean cross-entropy, a 0-d tensor (no graph).
    logits : torch.Tensor
        ``(n, n_classes)``.

    Each parameter's ``.grad`` is set to the gradient of ``loss`` (replacing
    what was there, as after ``zero_grad(set_to_none=True)`` and
    ``loss.backward()``).
    """
    with torch.no_grad():
        n = X.shape[0]
        h = X.reshape(n, -1)
        inputs = []
        for layer in layers[:-1]:
            inputs.append(h)
            h = torch.addmm(layer.bias, h, layer.weight.t()).clamp_min_(0)
        inputs.append(h)
        head = layers[-1]
        logits = torch.addmm(head.bias, h, head.weight.t())
        log_p = torch.log_softmax(logits, 1)
        index = y.unsqueeze(1)
        picked = log_p.gather(1, index)
        eps = float(label_smoothing)
        k = logits.shape[1]
        if eps:
            loss = (picked.sum() * (1.0 - eps) + log_p.sum() * (eps / k)).div_(-n)
        else:
            loss = picked.sum().div_(-n)
        # d loss / d logits = (softmax - target) / n, the target (1 - eps)
        # on the true class plus eps / k everywhere.
        grad = log_p.exp_()
        if eps:
            grad.sub_(eps / k)
        grad.scatter_add_(1, index, torch.full_like(picked, eps - 1.0))
        grad.div_(n)
        for i in range(len(layers) - 1, -1, -1):
            layer, a = layers[i], inputs[i]
            layer.weight.grad = grad.t().mm(a)
            layer.bias.grad = grad.sum(0)
            if i:
                # Through the ReLU: zero where its output (this layer's input) is 0;
                # the kernel autograd's ReLU backward runs (masked_fill_ is 20x
                # slower at these sizes on 2 threads).
                grad = _relu_backward(grad.mm(layer.weight), a, 0)
    return loss, logits
