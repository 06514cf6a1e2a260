"""ascentjax: the theory of "Ascent Fails to Forget" (arXiv 2509.26427), executable in JAX.

The public API is flat: every public name lives in ``ascentjax`` itself and is
listed in ``__all__``. Each concept has its own private module (``_lambertw``,
``_theory1d``, ``_theory2d``, ``_losses``, ``_data``, ``_objectives``, ``_rules``,
``_trajectory``, ``_sweep``, ``_dynamics``, ``_toy``, ``_forget``, ``_nets``,
``_klom``); each module declares its public names in its own ``__all__``.
"""

from . import (
    _data,
    _forget,
    _klom,
    _lambertw,
    _losses,
    _nets,
    _objectives,
    _problems,
    _rules,
    _sweep,
    _toy,
    _trajectory,
)
from . import theory as theory
from ._data import *  # noqa: F403
from ._forget import *  # noqa: F403
from ._klom import *  # noqa: F403
from ._lambertw import *  # noqa: F403
from ._losses import *  # noqa: F403
from ._nets import *  # noqa: F403
from ._objectives import *  # noqa: F403
from ._problems import *  # noqa: F403
from ._rules import *  # noqa: F403
from ._sweep import *  # noqa: F403
from ._toy import *  # noqa: F403
from ._trajectory import *  # noqa: F403

__version__ = "0.1.0"

__all__ = sorted(
    {
        *_data.__all__,
        *_forget.__all__,
        *_klom.__all__,
        *_lambertw.__all__,
        *_losses.__all__,
        *_nets.__all__,
        *_objectives.__all__,
        *_problems.__all__,
        *_rules.__all__,
        *_sweep.__all__,
        *_toy.__all__,
        *_trajectory.__all__,
    }
)
