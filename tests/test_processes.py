"""The memory DuckDB may take by default: half of what this process may use, read from the machine."""

from __future__ import annotations

import os
from pathlib import Path

import adoption.processes as processes
from adoption.log.sql import DEFAULT_MEMORY_LIMIT, memory_limit_setting


def test_the_default_memory_limit_is_half_the_machine_or_its_control_group(monkeypatch):
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    gigabytes = int(processes.default_memory_limit().removesuffix("GB"))
    assert 1 <= gigabytes <= max(1, machine // 2 // 2**30)
    assert memory_limit_setting(None) == DEFAULT_MEMORY_LIMIT == processes.default_memory_limit()

    def cgroup(limit: str):  # a container limited to 3 GiB: its half, rounded down to whole gigabytes
        def read_text(self: Path) -> str:
            if str(self) == "/sys/fs/cgroup/memory.max":
                return limit
            raise OSError("not here")
        return read_text

    monkeypatch.setattr(Path, "read_text", cgroup(str(3 * 2**30)))
    assert processes.default_memory_limit() == "1GB"
    monkeypatch.setattr(Path, "read_text", cgroup("max"))  # no limit: the machine's
    assert processes.default_memory_limit() == f"{max(1, machine // 2 // 2**30)}GB"
    monkeypatch.setattr(Path, "read_text", cgroup(str(2**20)))  # a tiny container: still 1GB
    assert processes.default_memory_limit() == "1GB"
