"""Results: the record schema, the append-only store, statistics over seeds and results tables.

Importing this package is light (no torch, no scipy: scipy is imported only when a t-interval is computed).

Usage::

    from zoo.results import ResultStore, make_record, print_results_table, summarize
    store = ResultStore("results/quick")
    store.check_writable()
    store.append(make_record(run_id=run_id, ...))
    print_results_table(store.records())
"""

from __future__ import annotations

from zoo.results.record import SCHEMA_VERSION, check_record, make_record, validate_record
from zoo.results.stats import average_ranks, bootstrap_interval, mean_std, rank, summarize, t_interval
from zoo.results.store import ResultStore, load_records
from zoo.results.table import format_results, print_results_table, results_table, to_csv, to_markdown

__all__ = [
    "SCHEMA_VERSION", "ResultStore", "average_ranks", "bootstrap_interval", "check_record", "format_results",
    "load_records", "make_record", "mean_std", "print_results_table", "rank", "results_table", "summarize",
    "t_interval", "to_csv", "to_markdown", "validate_record",
]
