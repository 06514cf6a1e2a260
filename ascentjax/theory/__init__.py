"""The paper's theory, executable: closed forms, lemmas, windows, the DA maps and Lemma 1.

Every function of a setting takes its problem (:class:`ascentjax.OneCoordinate` or
:class:`ascentjax.Block`) instead of restating the parameters.
"""

from ._block import BlockPoint as BlockPoint
from ._block import BlockSolution as BlockSolution
from ._block import DABounds as DABounds
from ._block import DASolution as DASolution
from ._block import PretrainedBounds as PretrainedBounds
from ._block import WindowScan as WindowScan
from ._block import block_coefficients as block_coefficients
from ._block import da_existence_threshold as da_existence_threshold
from ._block import da_point as da_point
from ._block import da_reduced_residual as da_reduced_residual
from ._block import lemma7_bounds as lemma7_bounds
from ._block import lemma8_bounds as lemma8_bounds
from ._block import lemma8_nonexistence_alpha as lemma8_nonexistence_alpha
from ._block import lemma9_threshold as lemma9_threshold
from ._block import lemma10_sufficient_threshold as lemma10_sufficient_threshold
from ._block import lemma10_thresholds as lemma10_thresholds
from ._block import oracle_point as oracle_point
from ._block import pretrained_point as pretrained_point
from ._block import window_edges as window_edges
from ._block import window_scan as window_scan
from ._dynamics import REGIMES as REGIMES
from ._dynamics import SCHEMES as SCHEMES
from ._dynamics import OrbitClass as OrbitClass
from ._dynamics import classify_da as classify_da
from ._dynamics import classify_orbit as classify_orbit
from ._dynamics import da_orbit as da_orbit
from ._dynamics import da_step as da_step
from ._lemma1 import Lemma1Verdict as Lemma1Verdict
from ._lemma1 import dkw_band as dkw_band
from ._lemma1 import lemma1_bound as lemma1_bound
from ._lemma1 import lemma1_threshold as lemma1_threshold
from ._lemma1 import lemma1_verdict as lemma1_verdict
from ._lemma1 import tail_frequency as tail_frequency
from ._lemma_window import lemma_window as lemma_window
from ._one_coordinate import Corollary1Path as Corollary1Path
from ._one_coordinate import OneCoordinateSolution as OneCoordinateSolution
from ._one_coordinate import case_boundaries as case_boundaries
from ._one_coordinate import corollary1_path as corollary1_path
from ._one_coordinate import descent_stability_limit as descent_stability_limit
from ._one_coordinate import lemma3_window as lemma3_window
from ._one_coordinate import lemma4_bound as lemma4_bound
from ._one_coordinate import lemma5_bound as lemma5_bound
from ._one_coordinate import one_coordinate_z as one_coordinate_z
from ._one_coordinate import stationary_margin as stationary_margin
from ._solve import solve as solve
from ._stationarity import oracle_unconverged as oracle_unconverged

__all__ = [
    "BlockPoint",
    "BlockSolution",
    "Corollary1Path",
    "DABounds",
    "DASolution",
    "Lemma1Verdict",
    "OneCoordinateSolution",
    "OrbitClass",
    "PretrainedBounds",
    "REGIMES",
    "SCHEMES",
    "WindowScan",
    "block_coefficients",
    "case_boundaries",
    "classify_da",
    "classify_orbit",
    "corollary1_path",
    "da_existence_threshold",
    "da_orbit",
    "da_point",
    "da_reduced_residual",
    "da_step",
    "descent_stability_limit",
    "dkw_band",
    "lemma10_sufficient_threshold",
    "lemma10_thresholds",
    "lemma1_bound",
    "lemma1_threshold",
    "lemma1_verdict",
    "lemma3_window",
    "lemma4_bound",
    "lemma5_bound",
    "lemma7_bounds",
    "lemma8_bounds",
    "lemma8_nonexistence_alpha",
    "lemma9_threshold",
    "lemma_window",
    "one_coordinate_z",
    "oracle_point",
    "oracle_unconverged",
    "pretrained_point",
    "solve",
    "stationary_margin",
    "tail_frequency",
    "window_edges",
    "window_scan",
]
