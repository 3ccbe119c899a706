"""Only what pyproject.toml cannot say: benchmarks/suites ships inside the wheel as ``zoo.suites``, and the
leaderboard site's assets (leaderboard/assets) as ``zoo.leaderboard_assets``."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["zoo", "zoo.*"]) + ["zoo.suites", "zoo.leaderboard_assets"],
    package_dir={"zoo.suites": "benchmarks/suites", "zoo.leaderboard_assets": "leaderboard/assets"},
)
