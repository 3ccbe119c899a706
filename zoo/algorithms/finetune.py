"""The old home of ``source_then_target`` (``Finetune``, the algorithm's name before issue 18).

Kept so that ``zoo.algorithms.finetune:Finetune`` (an entry point installed before the rename, a user's
import) still works; the algorithm lives in ``zoo/algorithms/source_then_target.py``.

Usage::

    from zoo.algorithms.source_then_target import SourceThenTarget   # the new spelling
"""

from zoo.algorithms.source_then_target import SourceThenTarget

Finetune = SourceThenTarget

__all__ = ["Finetune", "SourceThenTarget"]
