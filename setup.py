"""Only what pyproject.toml cannot say: benchmarks/suites ships inside the wheel as ``zoo.suites``."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["zoo", "zoo.*"]) + ["zoo.suites"],
    package_dir={"zoo.suites": "benchmarks/suites"},
)
