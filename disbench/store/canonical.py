"""One canonical text for a configuration: the form that is hashed, compared and stored.

Run ids (:meth:`~disbench.store.run_spec.RunSpec.config_hash`), the leaderboard's
``metric_options`` and ``hyperparameters`` columns, results.json lookups and the
grouping of suite entries all compare configurations by this text, so they must build it
the same way: keys sorted, JSON's default separators, and values JSON cannot hold
written as their ``str``. Changing any of these changes every run id and leaderboard key.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, ``", "``/``": "`` separators, ``str`` for the rest."""
    return json.dumps(value, sort_keys=True, default=str)
