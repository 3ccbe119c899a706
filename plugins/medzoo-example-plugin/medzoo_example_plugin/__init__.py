"""medzoo-example-plugin: one algorithm, one backbone, one dataset and one suite, added to medzoo by entry points.

- ``bnm``: batch nuclear-norm maximisation (Cui et al., CVPR 2020), ``medzoo_example_plugin.bnm``
- ``tiny_cnn``: a small conv-BN-ReLU network for any input size, ``medzoo_example_plugin.tiny_cnn``
- ``toy_lesions``: generated skin-lesion-like PNGs read as an image folder, ``medzoo_example_plugin.lesions``
- the suite ``example-plugin`` (``suites/example-plugin.yaml``) using all three

This module stays light (no torch): medzoo imports it to find ``SUITES`` when it lists suites.

Usage::

    medzoo list                       # bnm, tiny_cnn, toy_lesions, example-plugin from medzoo-example-plugin
    medzoo run example-plugin
"""

from pathlib import Path

__version__ = "0.1.0"

SUITES = Path(__file__).parent / "suites"
