"""The static leaderboard: result records -> HTML pages, inline SVG plots, JSON and CSV (docs/architecture.md,
principle 8).

The site is a function of the records and their predictions files: the same give a byte-identical site (no build time,
no paths, every list sorted). Modules, one job each: :mod:`~zoo.leaderboard.load` (read records, report
bad lines), :mod:`~zoo.leaderboard.summary` (statistics per suite, task and algorithm, reusing
:mod:`zoo.results`), :mod:`~zoo.leaderboard.gains` (transfer gain over source-only / from-scratch),
:mod:`~zoo.leaderboard.presets` (which preset of a shipped suite the runs used, from their settings),
:mod:`~zoo.leaderboard.svg` (plots), :mod:`~zoo.leaderboard.figures` (a page's plots: colours, legends),
:mod:`~zoo.leaderboard.html` (escaping, page shell, tables),
:mod:`~zoo.leaderboard.pages` and :mod:`~zoo.leaderboard.run_page` (the pages), :mod:`~zoo.leaderboard.build`
(writes the site) and :mod:`~zoo.leaderboard.publish` (a folder or a static Hugging Face Space).

Usage::

    from zoo.leaderboard import build_site, read_records
    records, problems = read_records(["medzoo-runs"])
    build_site(records, "leaderboard/site")
"""

from __future__ import annotations

from zoo.leaderboard.build import build_site
from zoo.leaderboard.load import read_records
from zoo.results.jsonl import Problem

__all__ = ["Problem", "build_site", "read_records"]
