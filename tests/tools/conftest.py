"""Fixtures of the operator tools' tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def configs_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctor and deploy refuse a config the pipeline could not read (not tracked by git): tests that write their
    configs to a temporary folder lift that check, which test_validate.py tests on its own."""
    monkeypatch.setattr("tools.validate.deployable", lambda config_path: None)
