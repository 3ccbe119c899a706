"""The Accelerate runner: suites -> runs -> training loop, model selection, checkpoints.

Usage::

    from zoo.runner.suite_runner import run_suite
    records = run_suite(load_suite("quick"), output_dir=Path("medzoo-runs"))
"""
