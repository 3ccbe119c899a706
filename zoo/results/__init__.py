"""Results: the record schema, the append-only store, statistics over seeds and results tables.

Statistics: mean ± std and 95% intervals per cell (:mod:`~zoo.results.stats`, two-level bootstrap in
:mod:`~zoo.results.bootstrap`), paired gains over a baseline (:mod:`~zoo.results.compare`), average ranks
across tasks (:mod:`~zoo.results.ranks`). Importing this package is light (no torch, numpy or scipy: they
are imported when an interval or a test is computed).

Usage::

    from zoo.results import ResultStore, make_record, print_results_table, summarize
    store = ResultStore("results/quick")
    store.check_writable()
    store.append(make_record(run_id=run_id, ...))
    print_results_table(store.records())
"""

from __future__ import annotations

from zoo.results.bootstrap import hierarchical_bootstrap
from zoo.results.compare import compare
from zoo.results.paired_tests import paired_t_test, sign_flip_test
from zoo.results.ranks import format_ranks
from zoo.results.reader import load_records, read_results
from zoo.results.record import SCHEMA_VERSION, check_record, make_record, validate_record
from zoo.results.stats import average_ranks, bootstrap_interval, mean_std, rank, summarize, t_interval
from zoo.results.store import ResultStore
from zoo.results.table import format_results, print_results_table, results_table, to_csv, to_markdown

__all__ = [
    "SCHEMA_VERSION", "ResultStore", "average_ranks", "bootstrap_interval", "check_record", "compare",
    "format_ranks", "format_results", "hierarchical_bootstrap", "load_records", "make_record", "mean_std",
    "paired_t_test", "print_results_table", "rank", "read_results", "results_table", "sign_flip_test", "summarize",
    "t_interval", "to_csv", "to_markdown", "validate_record",
]
