"""The layers of a model that is one chain (each layer reads the output of the one before), as every
shipped model is: explanations that rerun a network layer by layer walk this list."""
from __future__ import annotations

import keras


def chain(model: keras.Model) -> list[keras.layers.Layer]:
    """`model`'s layers after its input layer, in order; a ValueError names the first layer that
    does not read its predecessor."""
    layers = model.layers[1:]
    for prev, layer in zip(model.layers, layers):
        if layer.input is not prev.output:
            raise ValueError(f"{model.name}: layer {layer.name!r} does not read {prev.name!r}; "
                             "only models whose layers form a chain are supported")
    return layers
