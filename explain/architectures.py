"""The course's networks, each defined once. Every model takes a batch of (28, 28) float32 digits
in [0, 1] (white on black) and returns ten probabilities; layers are named for what they are, so the
pages can find them (`conv1`, `relu1`, `pool1`, `lstm1`, `mha`, ...)."""
from __future__ import annotations

import keras
import numpy as np

INPUT_SHAPE = (28, 28)


@keras.saving.register_keras_serializable(package="netlens")
class PositionalEncoding(keras.layers.Layer):
    """Adds the Transformer's sinusoidal position table to a (batch, tokens, d) sequence.

    Attention by itself treats its tokens as a set; this tells each image row where it sits.
    """

    def build(self, input_shape):
        tokens, depth = input_shape[1], input_shape[2]
        self.table = keras.ops.convert_to_tensor(sinusoidal_table(tokens, depth))

    def call(self, x):
        return x + self.table


def sinusoidal_table(tokens: int, depth: int) -> np.ndarray:
    """(tokens, depth) float32: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(same)."""
    pos = np.arange(tokens)[:, None]
    rate = 1.0 / np.power(10000.0, (2 * (np.arange(depth) // 2)) / depth)
    angles = pos * rate[None, :]
    return np.where(np.arange(depth) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)


def _inputs() -> keras.KerasTensor:
    return keras.Input(INPUT_SHAPE, name="digit")


def mlp() -> keras.Model:
    x = inp = _inputs()
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    out = keras.layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name="mlp")


def cnn() -> keras.Model:
    """LeNet-5 as the course builds it. The ReLUs are layers of their own so that the feature maps
    before and after them are both real layer outputs; conv1 pads by 2 so 28x28 digits give LeNet's
    classic 28 -> 14 -> 10 -> 5 sizes."""
    layers = keras.layers
    x = inp = _inputs()
    x = layers.Reshape((28, 28, 1), name="image")(x)
    x = layers.Conv2D(6, 5, padding="same", name="conv1")(x)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, padding="valid", name="conv2")(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation="relu", name="fc1")(x)
    x = layers.Dense(84, activation="relu", name="fc2")(x)
    out = layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name="cnn")


def _recurrent(cell: type, name: str) -> keras.Model:
    """The course homework: 28 rows as 28 timesteps of 28 features, two 32-unit layers."""
    x = inp = _inputs()
    x = cell(32, return_sequences=True, name=f"{name}1")(x)
    x = keras.layers.Dropout(0.2, name="dropout1")(x)
    x = cell(32, name=f"{name}2")(x)
    x = keras.layers.Dropout(0.3, name="dropout2")(x)
    out = keras.layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name=name)


def lstm() -> keras.Model:
    return _recurrent(keras.layers.LSTM, "lstm")


def gru() -> keras.Model:
    return _recurrent(keras.layers.GRU, "gru")


def rnn() -> keras.Model:
    """The homework shape with plain recurrent cells: the baseline whose gradients vanish."""
    return _recurrent(keras.layers.SimpleRNN, "rnn")


def cnn_bn() -> keras.Model:
    """LeNet as `cnn`, with batch normalisation after each conv and hidden dense layer, before its
    ReLU (so those layers have no activation of their own). Their biases stay, so every conv has the
    (kernel, bias) the CNN page reads; BN subtracts the batch mean, so they get no gradient and stay 0."""
    layers = keras.layers
    x = inp = _inputs()
    x = layers.Reshape((28, 28, 1), name="image")(x)
    x = layers.Conv2D(6, 5, padding="same", name="conv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, padding="valid", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, name="fc1")(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.Activation("relu", name="relu3")(x)
    x = layers.Dense(84, name="fc2")(x)
    x = layers.BatchNormalization(name="bn4")(x)
    x = layers.Activation("relu", name="relu4")(x)
    out = layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name="cnn_bn")


def attention(depth: int = 64, heads: int = 4) -> keras.Model:
    """Rows as tokens: a Dense projection of each row plus positional encoding, one self-attention
    layer (its scores can be read out), a feed-forward block, average pooling over rows."""
    layers = keras.layers
    x = inp = _inputs()
    x = layers.Dense(depth, name="embed")(x)
    x = PositionalEncoding(name="posenc")(x)
    a = layers.MultiHeadAttention(heads, depth // heads, name="mha")(x, x)
    x = layers.LayerNormalization(name="norm1")(layers.Add(name="residual1")([x, a]))
    f = layers.Dense(2 * depth, activation="relu", name="ffn1")(x)
    f = layers.Dense(depth, name="ffn2")(f)
    x = layers.LayerNormalization(name="norm2")(layers.Add(name="residual2")([x, f]))
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(0.1, name="dropout")(x)
    out = layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name="attention")


BUILDERS = {"mlp": mlp, "cnn": cnn, "lstm": lstm, "gru": gru, "attention": attention, "rnn": rnn, "cnn_bn": cnn_bn}
