r"""Random forget sets (paper Sec. 4): data sources, accuracies and the exact oracle.

Two data sources (a Gaussian mixture with controllable separation, and i.i.d.
resampling from a finite pool, i.e. from its empirical distribution, with a real pool:
the Wisconsin breast-cancer table bundled with scikit-learn), accuracies, and
an exact oracle solver (damped Newton on the strongly convex ridge objective,
differentiable by the implicit function theorem). The forget-set sampler is
:func:`ascentjax.sample_forget_mask`; Lemma 1 itself lives in :mod:`ascentjax.theory`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from ._data import Dataset
from ._losses import get_loss
from ._objectives import retain_objective, set_weights
from ._validation import check_nonnegative, check_positive, is_concrete, static_count

__all__ = [
    "accuracy",
    "breast_cancer_data",
    "gaussian_mixture_data",
    "resample_split",
    "train_oracle",
]

LossLike = str | Callable[[jax.Array], jax.Array]


def gaussian_mixture_data(
    key: jax.Array,
    n: int,
    dim: int,
    separation: ArrayLike,
    *,
    dtype: DTypeLike | None = None,
) -> Dataset:
    r"""I.i.d. samples of a symmetric two-component Gaussian mixture.

    Labels are :math:`y = \pm 1` with probability :math:`\tfrac12` each and
    :math:`x = y\,\tfrac{s}{2} e_1 + \xi`, :math:`\xi \sim \mathcal N(0, I_d)`,
    so the class means are :math:`s` = ``separation`` apart. The Bayes
    classifier is :math:`\operatorname{sign}(x_1)`, a linear model through the
    origin, with accuracy :math:`\Phi(s/2)`; ``dim`` adds uninformative
    dimensions (harder estimation, lower oracle accuracy for small :math:`|R|`).

    Args:
        key: a PRNG key.
        n: number of samples, a static Python int >= 1.
        dim: dimension :math:`d`, a static Python int >= 1.
        separation: distance :math:`s \ge 0` between the class means (may be traced).
        dtype: floating dtype (``None``: JAX's default float).

    Returns:
        A :class:`ascentjax.Dataset` with ``forget`` all ``False`` and unit weights.

    Example:
        >>> import jax
        >>> import ascentjax as aj
        >>> data = aj.gaussian_mixture_data(jax.random.key(0), 100, 5, 2.0)
        >>> data.x.shape, bool(data.forget.any())
        ((100, 5), False)
    """
    n = static_count("n", n)
    dim = static_count("dim", dim)
    check_nonnegative("separation", separation)
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    ky, kx = jax.random.split(key)
    y = jnp.where(jax.random.bernoulli(ky, 0.5, (n,)), 1, -1).astype(dt)
    mean = jnp.zeros((dim,), dt).at[0].set(0.5 * jnp.asarray(separation, dt))
    x = y[:, None] * mean + jax.random.normal(kx, (n, dim), dt)
    return Dataset(x=x, y=y, forget=jnp.zeros((n,), bool), weight=jnp.ones((n,), dt))


def resample_split(
    key: jax.Array, x: ArrayLike, y: ArrayLike, n_train: int, n_test: int
) -> tuple[Dataset, Dataset]:
    r"""Draw a training set :math:`D` and a test set :math:`T` i.i.d. from a finite pool.

    Both are sampled **with replacement** (independently) from the rows of
    ``(x, y)``, i.e. i.i.d. from the pool's empirical distribution
    :math:`\hat P`. This is what makes Lemma 1 hold *exactly* on a real, finite
    data set: the lemma needs the forget and test points to be fresh draws of
    one distribution, and here that distribution is :math:`\hat P`. (With one
    fixed split and a random :math:`F` inside a fixed :math:`D`, the forget
    points are not fresh given :math:`R`: :math:`F = D\setminus R`.)

    Args:
        key: a PRNG key.
        x: pool features, shape ``(N, d)``.
        y: pool labels in :math:`\{-1, +1\}`, shape ``(N,)``.
        n_train: :math:`|D|`, a static Python int >= 2.
        n_test: :math:`|T|`, a static Python int >= 1.

    Returns:
        ``(train, test)``: two :class:`ascentjax.Dataset`\ s with ``forget`` all
        ``False`` and unit weights (a row drawn twice appears twice).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> pool_x, pool_y = jnp.arange(10.0)[:, None], jnp.ones(10)
        >>> train, test = aj.resample_split(jax.random.key(0), pool_x, pool_y, 8, 4)
        >>> train.x.shape, test.x.shape
        ((8, 1), (4, 1))
    """
    n_train = static_count("n_train", n_train, minimum=2)
    n_test = static_count("n_test", n_test)
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (N, d) and y (N,), got {x.shape} and {y.shape}")
    k1, k2 = jax.random.split(key)
    n_pool = x.shape[0]

    def draw(k: jax.Array, m: int) -> Dataset:
        idx = jax.random.randint(k, (m,), 0, n_pool)
        wdt = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
        return Dataset(x=x[idx], y=y[idx], forget=jnp.zeros((m,), bool), weight=jnp.ones(m, wdt))

    return draw(k1, n_train), draw(k2, n_test)


def breast_cancer_data(*, dtype: DTypeLike | None = None) -> Dataset:
    r"""The Wisconsin breast-cancer table as a pool for :func:`resample_split`.

    The 569 x 30 table bundled with scikit-learn (read from the installed package,
    nothing is downloaded), each feature standardised to mean 0 and variance 1 over
    the table, with a constant bias column appended (so ``d = 31``), and labels
    :math:`y = +1` for benign, :math:`-1` for malignant. A ridge-regularised linear
    model through the origin on these features reaches about 98 % training accuracy,
    a real, nearly separable tabular problem.

    Args:
        dtype: floating dtype of ``x``, ``y`` and ``weight`` (``None``: JAX's
            default float).

    Returns:
        A :class:`ascentjax.Dataset` of 569 points with ``forget`` all ``False`` and
        unit weights.

    Raises:
        ImportError: scikit-learn is not installed (it is in the ``dev`` extra).

    Example:
        >>> import jax
        >>> import ascentjax as aj
        >>> pool = aj.breast_cancer_data()
        >>> pool.x.shape, float(pool.x[:, -1].min())
        ((569, 31), 1.0)
        >>> train, test = aj.resample_split(jax.random.key(0), pool.x, pool.y, 200, 100)
    """
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError as err:  # pragma: no cover - sklearn is in the dev extra
        raise ImportError(
            "breast_cancer_data needs scikit-learn: pip install 'ascentjax[dev]'"
        ) from err
    import numpy as np

    x, t = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    x = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    n = x.shape[0]
    return Dataset(
        x=jnp.asarray(x, dt),
        y=jnp.asarray(np.where(t == 1, 1.0, -1.0), dt),
        forget=jnp.zeros((n,), bool),
        weight=jnp.ones((n,), dt),
    )


# ----------------------------------------------------------------------------- accuracy
def accuracy(
    w: ArrayLike, x: ArrayLike, y: ArrayLike, weight: ArrayLike | None = None
) -> jax.Array:
    r"""Weighted accuracy of the linear classifier :math:`\operatorname{sign}(w^\top x)`.

    .. math:: \mathrm{Acc} = \frac{\sum_i v_i\,[y_i w^\top x_i > 0]}{\sum_i v_i}.

    A zero margin counts as an error. Pass the forget mask as ``weight`` for
    :math:`\mathrm{Acc}_F`, the retain mask for :math:`\mathrm{Acc}_R`. The
    accuracy is piecewise constant in ``w`` (its gradient is zero almost
    everywhere); it is meant for ``jit``/``vmap``, not for ``grad``.

    Args:
        w: weights, shape ``(d,)``.
        x: features, shape ``(n, d)``.
        y: labels in :math:`\{-1, +1\}`, shape ``(n,)``.
        weight: nonnegative weights or a boolean mask, shape ``(n,)`` (default
            all ones).

    Returns:
        A scalar in :math:`[0, 1]` (0 when the weights sum to 0).

    Raises:
        ValueError: if the shapes of ``w``, ``x`` and ``y`` do not match (trace time).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> x = jnp.array([[1.0], [2.0], [-1.0]]); y = jnp.array([1.0, -1.0, -1.0])
        >>> round(float(aj.accuracy(jnp.ones(1), x, y)), 4)
        0.6667
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    w = jnp.asarray(w)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}")
    if w.shape != x.shape[-1:]:
        raise ValueError(f"w must have shape ({x.shape[-1]},) to match x {x.shape}, got {w.shape}")
    if y.shape != x.shape[:-1]:
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x {x.shape}, got {y.shape}")
    correct = y * (x @ w) > 0
    dt = jnp.result_type(x, float)
    v = jnp.ones(correct.shape, dt) if weight is None else jnp.asarray(weight).astype(dt)
    total = jnp.sum(v)
    return jnp.where(total > 0, jnp.sum(v * correct) / jnp.where(total > 0, total, 1), 0)


# ----------------------------------------------------------------------------- the oracle
_N_BACKTRACK = 24  # step sizes 1, 1/2, ..., 2^-23, tried in parallel


def _newton(
    objective: Callable[[jax.Array], jax.Array],
    hess: Callable[[jax.Array], jax.Array],
    w0: jax.Array,
    max_iter: int,
    tol,
):
    grad = jax.grad(objective)
    steps = 0.5 ** jnp.arange(_N_BACKTRACK, dtype=w0.dtype)

    def body(carry):
        w, it, _ = carry
        g = grad(w)
        h = hess(w)
        p = -jnp.linalg.solve(h, g)
        dec = -jnp.vdot(g, p)  # Newton decrement squared
        f0 = objective(w)
        fs = jax.vmap(lambda s: objective(w + s * p))(steps)
        # Armijo, with slack for rounding: near w_R, in float32, the decrease of a
        # full Newton step is below the resolution of f and must still be accepted.
        slack = 8 * jnp.finfo(w0.dtype).eps * jnp.abs(f0)
        ok = fs <= f0 - 1e-4 * steps * dec + slack
        k = jnp.argmax(ok)  # first (largest) step satisfying Armijo
        w_new = jnp.where(jnp.any(ok), w + steps[k] * p, w)
        done = (0.5 * dec <= tol) | ~jnp.any(ok) | ~jnp.isfinite(dec)
        return w_new, it + 1, done

    def cond(carry):
        _, it, done = carry
        return (it < max_iter) & ~done

    w, _, _ = jax.lax.while_loop(cond, body, (w0, jnp.array(0, jnp.int32), jnp.array(False)))
    return w


def train_oracle(
    data: Dataset,
    lam: ArrayLike,
    *,
    loss: LossLike = "exp",
    w0: ArrayLike | None = None,
    max_iter: int = 50,
    tol: float | None = None,
) -> jax.Array:
    r"""The oracle :math:`w_R = \arg\min_w L_R(w)`, by damped Newton's method.

    .. math:: L_R(w) = \frac{1}{|R|}\sum_{i\in R} v_i\,\ell(y_i w^\top x_i)
        + \frac{\lambda}{2}\|w\|^2

    (:func:`ascentjax.retain_objective`). For :math:`\lambda > 0` and a convex
    loss it is strongly convex with a unique minimiser. Each iteration solves
    the Newton system :math:`\nabla^2 L_R\, p = -\nabla L_R` and takes the
    largest step :math:`2^{-k}` (:math:`k < 24`, all tried at once) satisfying
    Armijo's condition; iteration stops when half the squared Newton decrement
    (an estimate of :math:`L_R(w) - L_R(w_R)`) is below ``tol`` or after
    ``max_iter`` iterations. Convergence is quadratic near :math:`w_R`.

    With an empty forget mask the retain set is all of :math:`D`, so the same
    call returns the pretrained model :math:`w_D = \arg\min L_D`.

    The result is differentiable (``jax.grad`` with respect to the data or
    :math:`\lambda`) by the implicit function theorem (``jax.lax.custom_root``),
    not by unrolling the iterations.

    Args:
        data: the :class:`ascentjax.Dataset`; forget rows are ignored.
        lam: ridge strength :math:`\lambda > 0` (may be traced).
        loss: ``"exp"`` (default, as everywhere in the library), ``"logistic"`` (the true
            loss, bounded gradients) or a convex twice-differentiable callable margin loss.
        w0: starting point (default zeros).
        max_iter: maximum number of Newton iterations (static).
        tol: stopping tolerance on :math:`\tfrac12` decrement² (default
            :math:`4\epsilon` of the dtype).

    Returns:
        :math:`w_R`, shape ``(d,)``, in the dtype of ``data.x``.

    Raises:
        ValueError: for a concrete ``lam <= 0`` or ``max_iter < 1``.

    Example:
        >>> import jax
        >>> import ascentjax as aj
        >>> data = aj.gaussian_mixture_data(jax.random.key(0), 200, 3, 2.0)
        >>> w = aj.train_oracle(data, 0.01, loss="logistic")
        >>> g = jax.grad(aj.retain_objective)(w, data, 0.01, "logistic")
        >>> bool(abs(g).max() < 1e-4)
        True
    """
    check_positive("lam", lam)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a Python int >= 1, got {max_iter!r}")
    x = jnp.asarray(data.x)
    dt = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    if tol is None:
        tol = 4 * float(jnp.finfo(dt).eps)
    elif is_concrete(tol):
        check_positive("tol", tol)
    w_init = jnp.zeros((x.shape[-1],), dt) if w0 is None else jnp.asarray(w0, dt)

    def objective(w: jax.Array) -> jax.Array:
        return retain_objective(w, data, lam, loss)

    gradient = jax.grad(objective)
    d2loss = jax.vmap(jax.grad(jax.grad(get_loss(loss))))

    def hess(w: jax.Array) -> jax.Array:
        # margin losses: H = X^T diag(v_R y^2 l''(m) / |R|) X + lam I, one GEMM
        # (cheaper than jax.hessian's d Hessian-vector products)
        x, y = data.x, data.y
        c = set_weights(data).retain * jnp.square(y) * d2loss(y * (x @ w))
        return (x.T * c) @ x + lam * jnp.eye(x.shape[-1], dtype=x.dtype)

    def solve(f, guess):
        del f  # f is the gradient of ``objective``; Newton needs its Hessian too
        return _newton(objective, hess, guess, max_iter, tol)

    def tangent_solve(g, y):
        return jnp.linalg.solve(jax.jacobian(g)(y), y)

    return jax.lax.custom_root(gradient, w_init, solve, tangent_solve)
