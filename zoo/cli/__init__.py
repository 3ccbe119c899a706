"""The ``medzoo`` command line: one subcommand per file (list, run, results, plugins, doctor)."""
