"""One entry point for the exact stationary points of either setting."""

from __future__ import annotations

from typing import overload

from .._problems import Block, OneCoordinate
from ._block import BlockSolution, _solve_block
from ._one_coordinate import OneCoordinateSolution, _solve_one_coordinate

__all__ = ["solve"]


@overload
def solve(problem: OneCoordinate) -> OneCoordinateSolution: ...
@overload
def solve(problem: Block, *, gd_steps: int = 300, grid_size: int = 1024) -> BlockSolution: ...
def solve(
    problem: OneCoordinate | Block, *, gd_steps: int = 300, grid_size: int = 1024
) -> OneCoordinateSolution | BlockSolution:
    r"""Pretrained, oracle and descent-ascent stationary points of a problem.

    * :class:`ascentjax.OneCoordinate`: the closed forms of the one-coordinate setting
      (Lambert W for the exponential proxy, a safeguarded root solve for the logistic
      loss) with the branch case of :math:`w_{DA}`, as a :class:`OneCoordinateSolution`.
    * :class:`ascentjax.Block`: the pretrained, oracle and DA points of the
      cross-correlated block with the ordering flag and the distances to the oracle, as a
      :class:`BlockSolution`. ``gd_steps`` gradient steps on :math:`L_{DA}` from the
      pretrained model precede the Newton polish, and the reduced DA equation is scanned
      on ``grid_size`` points (both static; ignored for a one-coordinate problem).

    Every numeric field of the problem may be an array or a tracer: ``jax.vmap`` over a
    batch of problems.

    Args:
        problem: the setting.
        gd_steps: gradient steps on :math:`L_{DA}` (block only).
        grid_size: grid of the DA existence scan (block only).

    Returns:
        A :class:`OneCoordinateSolution` or a :class:`BlockSolution`.

    Raises:
        TypeError: if ``problem`` is neither problem type.

    Example:
        >>> import ascentjax as aj
        >>> sol = aj.theory.solve(aj.Block(rho=0.8, alpha=0.05, lam=0.01))
        >>> bool(sol.ordered), round(float(sol.dist_da_oracle), 3) > 0
        (True, True)
        >>> sol = aj.theory.solve(aj.OneCoordinate(0.05, 0.01, 5, 100, 10))
        >>> round(float(sol.da), 4), int(sol.case)
        (0.9586, 1)
    """
    if isinstance(problem, OneCoordinate):
        return _solve_one_coordinate(problem)
    if isinstance(problem, Block):
        return _solve_block(problem, gd_steps=gd_steps, grid_size=grid_size)
    raise TypeError(
        f"problem must be an ascentjax.OneCoordinate or ascentjax.Block, got "
        f"{type(problem).__name__}"
    )
