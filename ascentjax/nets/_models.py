"""Small flax classifiers: a multilayer perceptron and a small CNN."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

__all__ = ["MLP", "SmallCNN"]


class MLP(nn.Module):
    """A multilayer perceptron classifier (inputs are flattened).

    Attributes:
        hidden: widths of the hidden ReLU layers.
        num_classes: number of output logits.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MLP(hidden=(32,), num_classes=10)
        >>> p = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> net.apply(p, jnp.zeros((5, 8, 8, 1))).shape
        (5, 10)
    """

    hidden: Sequence[int] = (64,)
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape((x.shape[0], -1))
        for h in self.hidden:
            x = nn.relu(nn.Dense(h)(x))
        return nn.Dense(self.num_classes)(x)


class SmallCNN(nn.Module):
    """A small convolutional classifier for ``(batch, H, W, C)`` images.

    Two blocks of 3×3 convolution, ReLU and 2×2 average pooling, then a dense layer.

    Attributes:
        channels: output channels of the two convolutions.
        num_classes: number of output logits.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = SmallCNN(channels=(8, 16), num_classes=10)
        >>> p = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> net.apply(p, jnp.zeros((3, 8, 8, 1))).shape
        (3, 10)
    """

    channels: Sequence[int] = (16, 32)
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for c in self.channels:
            x = nn.relu(nn.Conv(c, (3, 3))(x))
            x = nn.avg_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(self.num_classes)(x)
