r"""Weighted binary-classification data sets and the paper's synthetic generators.

A :class:`Dataset` holds features, labels, a forget mask and per-sample weights
(multiplicities). Weights let a block of :math:`\alpha|S_i|` samples be
represented exactly even when :math:`\alpha|S_i|` is not an integer, and let
``alpha`` be a traced value (so a generator can be ``vmap``-ped over it) while
every array shape stays a static Python int.

**Orthogonal filler.** In the paper's Sec. 5.1 settings the samples outside the studied block
only set the global counts :math:`|R|, |F|, |D|`. They are represented by two
samples with :math:`x = 0` (one retain, one forget): their margin is always 0,
their loss is constant and their gradient vanishes, so they change the
normalisations :math:`1/|R|, 1/|F|, 1/|D|` and nothing else. Their weights are
chosen so that :math:`\sum_R \text{weight} = |R|` and
:math:`\sum_F \text{weight} = |F|` exactly.

**Keys.** As everywhere in ascentjax, the PRNG key is the first argument of a
function into which randomness enters. The block generators are random only
through their optional feature noise, so their ``key`` may be ``None`` when
``noise == 0`` (the deterministic data set) and is required otherwise:
``one_coordinate_data(None, 5, 0.5, 100, 10)`` and
``one_coordinate_data(key, 5, 0.5, 100, 10, noise=0.1)``. The problem types' method
:meth:`ascentjax.OneCoordinate.data` (``problem.data()``, ``problem.data(key, noise=0.1)``)
is the shorter spelling.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from ._validation import check_nonnegative, check_range, is_concrete, static_count

__all__ = [
    "Dataset",
    "block_orthogonal_data",
    "cross_correlated_data",
    "one_coordinate_data",
    "sample_forget_mask",
]


class _DatasetFields(NamedTuple):
    x: jax.Array
    y: jax.Array
    forget: jax.Array
    weight: jax.Array


def _check_dataset(x: Any, y: Any, forget: Any, weight: Any) -> None:
    """Shape and type checks of a :class:`Dataset` built from arrays (trace-time only).

    JAX rebuilds pytrees with placeholders (``None``, ints of ``in_axes``, sentinel
    objects) as leaves; those carry no shape and are not checked.
    """
    fields = {"x": x, "y": y, "forget": forget, "weight": weight}
    for name, v in fields.items():
        if isinstance(v, (str, bytes)):
            raise TypeError(f"Dataset {name} must be an array, got {type(v).__name__}")
    if not all(hasattr(v, "shape") and hasattr(v, "dtype") for v in fields.values()):
        return
    if all(len(v.shape) == 0 for v in fields.values()):
        return  # a per-field summary (e.g. ``tree_map(jnp.mean, data)``), not a data set
    if len(x.shape) < 2:
        raise ValueError(f"Dataset x must have shape (n, d), got {tuple(x.shape)}")
    n = x.shape[-2]
    for name in ("y", "forget", "weight"):
        # leading (batch) axes may differ: a field shared by a batch is not stacked
        shape = tuple(fields[name].shape)
        if not shape or shape[-1] != n:
            raise ValueError(
                f"Dataset {name} must have shape ({n},), one entry per row of x (shape "
                f"{tuple(x.shape)}), got {shape}"
            )
    for name, v in fields.items():
        dt = np.dtype(v.dtype)
        if not (dt == np.bool_ or np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.integer)):
            raise TypeError(f"Dataset {name} must have a real (or boolean) dtype, got {dt}")


class Dataset(_DatasetFields):
    r"""A weighted binary-classification data set (a pytree).

    Fields:

    * ``x``: features, shape ``(n, d)``.
    * ``y``: labels in :math:`\{-1, +1\}`, shape ``(n,)``.
    * ``forget``: boolean forget mask, shape ``(n,)``; ``True`` marks :math:`F`,
      ``False`` the retain set :math:`R`.
    * ``weight``: nonnegative sample multiplicities, shape ``(n,)``. Counts are
      weight sums: :math:`|R| = \sum_{i\in R} \text{weight}_i`,
      :math:`|F| = \sum_{i\in F} \text{weight}_i`.

    Being a ``NamedTuple``, a ``Dataset`` is a pytree: it passes through
    ``jit``, and a batch of data sets (leading axis on every field) is swept
    with ``vmap`` or :func:`ascentjax.sweep`.

    Example:
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 2, 0.5, n_retain=10, n_forget=3)
        >>> data.forget.tolist(), data.weight.tolist()
        ([False, False, True, True, False, True], [1.0, 1.0, 0.5, 0.5, 8.0, 2.0])
        >>> float(data.n_retain), float(data.n_forget), float(data.n_total)
        (10.0, 3.0, 13.0)

    Raises:
        ValueError: if ``y``, ``forget`` or ``weight`` does not have one entry per row
            of ``x`` on its last axis (checked when the fields are arrays or tracers;
            leading batch axes may differ, so a field shared by a batch need not be
            stacked).
        TypeError: if a field is a string or has a complex dtype.
    """

    __slots__ = ()

    def __new__(cls, x: Any, y: Any, forget: Any, weight: Any) -> Dataset:
        _check_dataset(x, y, forget, weight)
        return super().__new__(cls, x, y, forget, weight)

    @property
    def n_retain(self) -> jax.Array:
        """:math:`|R|`: the total weight of the retain samples."""
        return jnp.sum(jnp.where(self.forget, 0, self.weight), axis=-1)

    @property
    def n_forget(self) -> jax.Array:
        """:math:`|F|`: the total weight of the forget samples."""
        return jnp.sum(jnp.where(self.forget, self.weight, 0), axis=-1)

    @property
    def n_total(self) -> jax.Array:
        """:math:`|D| = |R| + |F|`: the total weight."""
        return jnp.sum(self.weight, axis=-1)


def _float_dtype(dtype: DTypeLike | None, *values: ArrayLike) -> np.dtype:
    if dtype is not None:
        dt = jnp.dtype(dtype)
        if not jnp.issubdtype(dt, jnp.floating):
            raise TypeError(f"dtype must be a floating dtype, got {dt}")
        return dt
    arrays = [v for v in values if hasattr(v, "dtype") and jnp.issubdtype(v.dtype, jnp.floating)]
    if arrays:
        return jnp.result_type(*arrays)
    return jnp.result_type(float)


def _check_noise(noise: ArrayLike, key: jax.Array | None) -> None:
    check_nonnegative("noise", noise)
    if key is None and not (is_concrete(noise) and np.all(np.asarray(noise) == 0)):
        raise ValueError("key is required when noise > 0 (pass jax.random.key(seed) first)")


def block_orthogonal_data(
    key: jax.Array | None,
    retain_x: ArrayLike,
    forget_x: ArrayLike,
    *,
    n_retain: ArrayLike,
    n_forget: ArrayLike,
    retain_weight: ArrayLike = 1.0,
    forget_weight: ArrayLike = 1.0,
    noise: ArrayLike = 0.0,
    dtype: DTypeLike | None = None,
) -> Dataset:
    r"""A general block data set: given retain and forget samples plus orthogonal filler.

    All labels are :math:`+1` (a sample with label :math:`-1` at :math:`x` is the
    same as one with label :math:`+1` at :math:`-x`). The rows are, in order: the
    retain block (``retain_x``), the forget block (``forget_x``), one retain
    filler sample and one forget filler sample, both at :math:`x = 0`, with
    weights :math:`|R| - \sum \text{retain\_weight}` and
    :math:`|F| - \sum \text{forget\_weight}`.

    Noise: when ``noise > 0``, i.i.d. :math:`\mathcal N(0, \text{noise}^2)` is added
    to **every feature entry of the retain and forget block rows**; the two filler
    rows stay exactly 0 (so they remain orthogonal filler). Labels and weights are
    never noisy.

    Args:
        key: PRNG key of the feature noise, or ``None`` for the deterministic data set
            (allowed only when ``noise == 0``).
        retain_x: retain block features, shape ``(n_r, d)`` (static shape).
        forget_x: forget block features, shape ``(n_f, d)``.
        n_retain: the global retain count :math:`|R|` (may be traced).
        n_forget: the global forget count :math:`|F|` (may be traced).
        retain_weight: weight of each retain block sample (scalar or ``(n_r,)``).
        forget_weight: weight of each forget block sample (scalar or ``(n_f,)``).
        noise: standard deviation of the Gaussian feature noise (>= 0).
        dtype: floating dtype of ``x`` and ``weight``; ``None`` follows the inputs
            (JAX's default float for Python scalars).

    Returns:
        A :class:`Dataset` with ``n_r + n_f + 2`` rows.

    Raises:
        ValueError: for negative noise, missing key, or counts smaller than the
            block weights (concrete inputs only; traced counts are not checked
            and a filler weight may then be negative).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.block_orthogonal_data(
        ...     None, jnp.ones((2, 1)), jnp.ones((1, 1)), n_retain=10, n_forget=3)
        >>> float(data.n_retain), float(data.n_forget), data.x.shape
        (10.0, 3.0, (5, 1))
    """
    _check_noise(noise, key)
    check_nonnegative("retain_weight", retain_weight)
    check_nonnegative("forget_weight", forget_weight)
    dt = _float_dtype(dtype, retain_x, forget_x)
    rx = jnp.asarray(retain_x, dt)
    fx = jnp.asarray(forget_x, dt)
    if rx.ndim != 2 or fx.ndim != 2 or rx.shape[1] != fx.shape[1]:
        raise ValueError(
            f"retain_x and forget_x must be (n, d) with the same d, got {rx.shape}, {fx.shape}"
        )
    nr, nf, d = rx.shape[0], fx.shape[0], rx.shape[1]
    rw = jnp.broadcast_to(jnp.asarray(retain_weight, dt), (nr,))
    fw = jnp.broadcast_to(jnp.asarray(forget_weight, dt), (nf,))
    fill_r = jnp.asarray(n_retain, dt) - jnp.sum(rw)
    fill_f = jnp.asarray(n_forget, dt) - jnp.sum(fw)
    for name, fill in (("n_retain", fill_r), ("n_forget", fill_f)):
        if is_concrete(fill) and float(fill) < -1e-9 * max(1.0, abs(float(fill))):
            raise ValueError(
                f"{name} must be at least the block's total weight; the filler weight "
                f"would be {float(fill)!r}"
            )
    fill_r = jnp.maximum(fill_r, 0) if is_concrete(fill_r) else fill_r
    fill_f = jnp.maximum(fill_f, 0) if is_concrete(fill_f) else fill_f
    block = jnp.concatenate([rx, fx], axis=0)
    if key is not None:
        block = block + jnp.asarray(noise, dt) * jax.random.normal(key, block.shape, dt)
    x = jnp.concatenate([block, jnp.zeros((2, d), dt)], axis=0)
    y = jnp.ones((nr + nf + 2,), dt)
    forget = jnp.concatenate([jnp.zeros(nr, bool), jnp.ones(nf, bool), jnp.array([False, True])])
    weight = jnp.concatenate([rw, fw, fill_r[None], fill_f[None]])
    return Dataset(x=x, y=y, forget=forget, weight=weight)


def one_coordinate_data(
    key: jax.Array | None,
    block_size: int,
    alpha: ArrayLike,
    n_retain: ArrayLike,
    n_forget: ArrayLike,
    *,
    noise: ArrayLike = 0.0,
    dtype: DTypeLike | None = None,
) -> Dataset:
    r"""One correlated coordinate (paper Assumptions 1–2), in one dimension.

    Coordinate :math:`j` carries :math:`|R_j|` = ``block_size`` retain samples with
    :math:`y x = 1` and :math:`|F_j| = \alpha |R_j|` forget samples on the same
    coordinate, represented as ``block_size`` forget rows of weight :math:`\alpha`
    each (so :math:`\alpha` may be fractional or traced). Everything else is
    orthogonal filler (see the module docstring) with weights completing the
    counts to :math:`|R|` = ``n_retain`` and :math:`|F|` = ``n_forget``. Labels
    are :math:`+1`, features :math:`x = 1`, so :math:`d = 1` and every block
    margin equals :math:`w`.

    Without noise, gradient descent on :math:`L_R` converges to
    :math:`W_0(|R_j|/(\lambda |R|))` and on :math:`L_D` to
    :math:`W_0((1+\alpha)|R_j|/(\lambda|D|))` (exponential loss).

    Noise: i.i.d. :math:`\mathcal N(0, \text{noise}^2)` is added to the feature of
    each of the ``2 * block_size`` block rows (retain and forget); the two filler rows
    stay at 0.

    Args:
        key: PRNG key of the feature noise, or ``None`` for the deterministic data set
            (allowed only when ``noise == 0``).
        block_size: :math:`|R_j|`, a static Python int >= 1.
        alpha: forget-to-retain ratio on the coordinate, :math:`\alpha \ge 0` (may be traced).
        n_retain: :math:`|R| \ge |R_j|` (may be traced).
        n_forget: :math:`|F| \ge \alpha|R_j|` (may be traced).
        noise: Gaussian feature-noise standard deviation (>= 0).
        dtype: floating dtype; ``None`` follows JAX's default float (float32 unless
            x64 is enabled) or the dtype of array inputs.

    Returns:
        A :class:`Dataset` with ``2 * block_size + 2`` rows and ``d = 1``.

    Example:
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> data.x.shape, float(data.n_retain), float(data.n_forget)
        ((12, 1), 100.0, 10.0)
    """
    block_size = static_count("block_size", block_size)
    _check_block_counts(alpha, n_retain, n_forget)
    dt = _float_dtype(dtype, alpha)
    one = jnp.ones((1,), dt)
    return _two_point_block(key, one, one, block_size, alpha, n_retain, n_forget, noise, dt)


def _check_block_counts(alpha: ArrayLike, n_retain: ArrayLike, n_forget: ArrayLike) -> None:
    check_nonnegative("alpha", alpha)
    check_range("n_retain", n_retain, low=0.0, low_inclusive=False)
    check_nonnegative("n_forget", n_forget)


def _two_point_block(
    key: jax.Array | None,
    retain_row: jax.Array,
    forget_row: jax.Array,
    block_size: int,
    alpha: ArrayLike,
    n_retain: ArrayLike,
    n_forget: ArrayLike,
    noise: ArrayLike,
    dt: np.dtype,
) -> Dataset:
    """``block_size`` retain rows at ``retain_row`` (weight 1) and as many forget rows at
    ``forget_row`` (weight ``alpha`` each), plus the filler (validated by the callers)."""
    d = retain_row.shape[-1]
    return block_orthogonal_data(
        key,
        jnp.broadcast_to(retain_row, (block_size, d)),
        jnp.broadcast_to(forget_row, (block_size, d)),
        n_retain=n_retain,
        n_forget=n_forget,
        retain_weight=1.0,
        forget_weight=jnp.asarray(alpha, dt),
        noise=noise,
        dtype=dt,
    )


def cross_correlated_data(
    key: jax.Array | None,
    rho: ArrayLike,
    alpha: ArrayLike,
    *,
    block_size: int,
    n_retain: ArrayLike,
    n_forget: ArrayLike,
    noise: ArrayLike = 0.0,
    dtype: DTypeLike | None = None,
) -> Dataset:
    r"""Cross-dimensional correlation block (paper Sec. 5.1.2), in two dimensions.

    Retain samples :math:`S_i` at :math:`x = (1, \rho)` (``block_size`` rows of
    weight 1) and forget samples :math:`S_j` at :math:`x = (\rho, 1)`
    (``block_size`` rows of weight :math:`\alpha`, total weight
    :math:`\alpha|S_i|`), all labels :math:`+1`, plus orthogonal filler completing
    the counts to :math:`|R|` and :math:`|F|`. The retain margin is
    :math:`w_1 + \rho w_2`, the forget margin :math:`\rho w_1 + w_2`.

    Noise: i.i.d. :math:`\mathcal N(0, \text{noise}^2)` is added to both feature
    entries of each of the ``2 * block_size`` block rows; filler rows stay at 0.

    Args:
        key: PRNG key of the feature noise, or ``None`` for the deterministic data set
            (allowed only when ``noise == 0``).
        rho: correlation strength :math:`\varepsilon \in [0, 1)` (may be traced).
        alpha: :math:`|S_j| / |S_i| \ge 0` (may be traced).
        block_size: :math:`|S_i|`, a static Python int >= 1.
        n_retain: :math:`|R| \ge |S_i|` (may be traced).
        n_forget: :math:`|F| \ge \alpha|S_i|` (may be traced).
        noise: Gaussian feature-noise standard deviation (>= 0).
        dtype: floating dtype; ``None`` follows JAX's default float or array inputs.

    Returns:
        A :class:`Dataset` with ``2 * block_size + 2`` rows and ``d = 2``.

    Example:
        >>> import ascentjax as aj
        >>> data = aj.cross_correlated_data(
        ...     None, 0.8, 0.05, block_size=50, n_retain=900, n_forget=100)
        >>> data.x.shape, float(data.n_forget)
        ((102, 2), 100.0)
    """
    block_size = static_count("block_size", block_size)
    check_range("rho", rho, low=0.0, high=1.0, high_inclusive=False)
    _check_block_counts(alpha, n_retain, n_forget)
    dt = _float_dtype(dtype, rho, alpha)
    r, one = jnp.asarray(rho, dt), jnp.ones((), dt)
    u, v = jnp.stack([one, r]), jnp.stack([r, one])
    return _two_point_block(key, u, v, block_size, alpha, n_retain, n_forget, noise, dt)


# ----------------------------------------------------------------------------- forget sets
def sample_forget_mask(key: jax.Array, n: int, n_forget: int) -> jax.Array:
    r"""A uniformly random forget set :math:`F \subset D` as a boolean mask.

    Exactly ``n_forget`` of the ``n`` entries are ``True``, and every subset of
    that size is equally likely: ``mask[i] = perm[i] < n_forget`` for a uniform
    random permutation ``perm``. The shape is static, so the function ``vmap``\ s
    over keys (thousands of draws at once) and the mask plugs into
    :class:`ascentjax.Dataset` as its ``forget`` field.

    Args:
        key: a PRNG key.
        n: :math:`|D|`, a static Python int >= 2.
        n_forget: :math:`|F|`, an integer with :math:`1 \le |F| < |D|` (a forget
            set must be nonempty and leave a nonempty retain set). It only sets
            values, not shapes, so it may be traced (one compiled function for
            several forget sizes); traced values are not checked.

    Returns:
        A boolean array of shape ``(n,)`` with ``n_forget`` ``True`` entries.

    Raises:
        ValueError: if a concrete ``n_forget <= 0`` or ``n_forget >= n``.
        TypeError: if ``n`` is traced.

    Example:
        >>> import jax
        >>> import ascentjax as aj
        >>> masks = jax.vmap(lambda k: aj.sample_forget_mask(k, 10, 3))(
        ...     jax.random.split(jax.random.key(0), 1000))
        >>> masks.shape, masks.sum(axis=1).tolist()[:3]
        ((1000, 10), [3, 3, 3])
    """
    n = static_count("n", n, minimum=2)
    if is_concrete(n_forget):
        if isinstance(n_forget, bool) or int(n_forget) != n_forget:
            raise ValueError(f"n_forget must be an integer count, got {n_forget!r}")
        if not 1 <= n_forget < n:
            raise ValueError(
                f"n_forget must satisfy 1 <= n_forget < n (|F| in [1, |D|) so that the "
                f"retain set is nonempty), got n_forget={n_forget}, n={n}"
            )
    perm = jax.random.permutation(key, n)
    return perm < jnp.asarray(n_forget)
