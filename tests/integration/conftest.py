"""Fixtures for integration tests that need real engines (here: a local Slurm cluster)."""

from __future__ import annotations

import pytest

from tests.engines.slurm_cluster import SlurmCluster, cluster_or_skip


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: needs the local Slurm cluster")


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """A running single-node Slurm cluster, started once per test session.

    Skips (with the reason) when Slurm cannot run here, e.g. not root or no apt-get.
    Client commands must get ``env=slurm_cluster.env`` (it carries SLURM_CONF).
    """
    cluster = cluster_or_skip()
    try:
        yield cluster
    finally:
        cluster.stop()
