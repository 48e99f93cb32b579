"""The MLP's forward pass for one digit as a computational graph, x -> z1 -> a1 -> z2 -> p -> L, differentiated
both ways automatic differentiation can go.

Reverse mode (backpropagation) starts at the loss and walks back once, giving dL/d(node) for every
node, so the gradient with respect to all 784 pixels costs one backward pass; its numbers come from
the hand-computed `explain.gradients.mlp_backprop`. Forward mode pushes a tangent, d(node)/dx_i for
one pixel i, along with the values: one pass per input pixel, done here by TensorFlow's own
`tf.autodiff.ForwardAccumulator`. Tests check both against `tf.GradientTape` on the Keras model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explain.gradients import check_label, mlp_backprop


@dataclass(frozen=True)
class Node:
    """One node of the graph: `name` ("x", "z1", "a1", ..., "zL", "aL" = p, "L"), `layer` the Dense
    layer computing it (None for the input x and the loss), `value` its forward value ((784,) for x,
    (units,) for a layer's z and a, () for the loss) and `gradient` dL/d(node), the same shape."""

    name: str
    layer: str | None
    value: np.ndarray
    gradient: np.ndarray


def graph(model: keras.Model, x28: np.ndarray, label: int) -> list[Node]:
    """The nodes of the MLP's graph for the digit `x28` (28, 28) and target `label`, in forward order,
    with their reverse-mode gradients (from `mlp_backprop`): dL/dz is each layer's delta, dL/da the next
    kernel times the next delta, dL/dx the first kernel times the first delta, dL/dp = -y / p."""
    backprop = mlp_backprop(model, x28, label)
    first = backprop[0]
    nodes = [Node("x", None, first.inputs, first.kernel @ first.delta)]
    for k, layer in enumerate(backprop, start=1):
        nodes.append(Node(f"z{k}", layer.layer_name, layer.z, layer.delta))
        if k < len(backprop):
            above = backprop[k]
            gradient = above.kernel @ above.delta
        else:
            gradient = np.zeros_like(layer.a)
            gradient[label] = -1.0 / layer.a[label]
        nodes.append(Node(f"a{k}", layer.layer_name, layer.a, gradient))
    probabilities = backprop[-1].a
    nodes.append(Node("L", None, np.asarray(-math.log(probabilities[label])), np.asarray(1.0)))
    return nodes


def forward_mode(model: keras.Model, x28: np.ndarray, label: int, pixel: int) -> dict[str, np.ndarray]:
    """Node name -> its tangent d(node)/dx_pixel (the node's shape), from one forward pass of
    `tf.autodiff.ForwardAccumulator` seeded with the unit vector of input `pixel` (0..783, row-major).
    The loss's tangent is dL/dx_pixel: one entry of the gradient reverse mode gives all of at once."""
    label = check_label(label)
    x = tf.constant(np.asarray(x28, np.float64).reshape(-1))
    if not (isinstance(pixel, (int, np.integer)) and 0 <= pixel < x.shape[0]):
        raise ValueError(f"pixel must be an integer 0..{x.shape[0] - 1}; received {pixel!r}")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.autodiff.ForwardAccumulator(x, tf.one_hot(pixel, x.shape[0], dtype=tf.float64)) as acc:
        tensors, a = {"x": x}, x
        for k, layer in enumerate(dense, start=1):
            z = tf.linalg.matvec(tf.cast(layer.kernel, tf.float64), a, transpose_a=True) + tf.cast(layer.bias,
                                                                                                   tf.float64)
            a = tf.nn.softmax(z) if k == len(dense) else layer.activation(z)
            tensors[f"z{k}"], tensors[f"a{k}"] = z, a
        tensors["L"] = -tf.math.log(a[label])
    return {name: acc.jvp(t).numpy() for name, t in tensors.items()}


def pass_counts(model: keras.Model, outputs: int = 1) -> tuple[int, int]:
    """(forward-mode passes, reverse-mode passes) for every derivative of `outputs` numbers (1 for the
    loss, 10 for all the probabilities) with respect to `model`'s inputs (784 pixels of a 28x28 digit):
    forward mode needs one pass per input, reverse mode one per output."""
    return math.prod(model.inputs[0].shape[1:]), outputs


def path_derivatives(model: keras.Model, nodes: list[Node], pixel: int, unit: int, label: int) -> list[float]:
    """The local derivative on each edge of the path x[pixel] -> z1[unit] -> a1[unit] -> z2[label] ->
    p[label] -> L: W1[pixel, unit], ReLU'(z1[unit]), W2[unit, label], p(1 - p), -1 / p. The chain rule
    multiplies them along this path; the full gradient adds every path (all units, all classes)."""
    first, second = (model.get_layer(n.layer) for n in (nodes[1], nodes[3]))
    z1, p = nodes[1].value[unit], nodes[4].value[label]
    return [float(first.kernel[pixel, unit]), float(z1 > 0), float(second.kernel[unit, label]),
            float(p * (1 - p)), float(-1 / p)]
