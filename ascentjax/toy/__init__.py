"""The nonconvex toy model of the paper's Sec. 5.2, Fig. 5 and App. B.

Four inputs :math:`x \\in \\{-1, 1, 3, 4\\}` with labels :math:`(-1, +1, -1, +1)` and
multiplicities :math:`(5, 4, 1, 4)` are embedded as :math:`\\phi(x) = (x, x^2)`; the model
is :math:`h_\\theta(x) = s(a x + b x^2)` with :math:`\\theta = (a, b)` and an output map
:math:`s` (``"tanh"`` by default), and every objective is a weighted squared loss

.. math::

    L_w(\\theta) = \\sum_i w_i \\, (h_\\theta(x_i) - y_i)^2 + \\lambda \\lVert\\theta\\rVert^2 .

The pretrained, retrain (oracle) and gradient descent-ascent (GDA) objectives differ
only in the weights :math:`w` (:func:`weights`). Negative weights are allowed: they
are the ascent part of GDA.

Training goes through the core engine: :func:`weighted_descent` is an
:class:`ascentjax.UnlearningRule` on :math:`L_w`, and :func:`descend` runs it from many
initialisations at once with :func:`ascentjax.run_rule` inside :func:`ascentjax.sweep`.
The numeric core (:func:`loss`, :func:`landscape`, :func:`descend`, :func:`polish`,
:func:`gda_then_finetune`) is jit/vmap-able; :func:`find_minima`, :func:`oracles`,
:func:`phase_diagram` and :func:`critical_gda_weight` finish on the host (their outputs
have data-dependent sizes or are host decisions).
"""

from ._basins import Basins as Basins
from ._basins import assign as assign
from ._basins import find_minima as find_minima
from ._basins import nearest_minimum as nearest_minimum
from ._data import Data as Data
from ._data import Weights as Weights
from ._data import data as data
from ._data import weights as weights
from ._landscape import grid as grid
from ._landscape import landscape as landscape
from ._model import correct as correct
from ._model import get_output_map as get_output_map
from ._model import loss as loss
from ._model import predict as predict
from ._phase import PhaseDiagram as PhaseDiagram
from ._phase import critical_gda_weight as critical_gda_weight
from ._phase import oracles as oracles
from ._phase import phase_diagram as phase_diagram
from ._training import descend as descend
from ._training import gda_then_finetune as gda_then_finetune
from ._training import polish as polish
from ._training import stable_learning_rate as stable_learning_rate
from ._training import weighted_descent as weighted_descent

__all__ = [
    "Basins",
    "Data",
    "PhaseDiagram",
    "Weights",
    "assign",
    "correct",
    "critical_gda_weight",
    "data",
    "descend",
    "find_minima",
    "gda_then_finetune",
    "get_output_map",
    "grid",
    "landscape",
    "loss",
    "nearest_minimum",
    "oracles",
    "phase_diagram",
    "polish",
    "predict",
    "stable_learning_rate",
    "weighted_descent",
    "weights",
]
