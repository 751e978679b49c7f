"""The version in pyproject.toml equals the top released entry of CHANGELOG.md (Keep a Changelog)."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from daemon import readiness
from daemon.readiness import Release, VersioningError, changelog_releases, check_versioning

UNRELEASED = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- a thing\n"


def project_version() -> str:
    version = tomllib.loads(readiness.PYPROJECT.read_text())["project"]["version"]
    assert isinstance(version, str)
    return version


def test_the_repository_version_and_changelog_agree() -> None:
    text = readiness.CHANGELOG.read_text()
    releases = changelog_releases(text)
    top = check_versioning(project_version(), text, releasing=False)
    # Before the first release there is nothing to compare; after it the top entry is the version.
    assert top == (releases[0] if releases else None)
    if top is not None:
        assert top.version == project_version()


def test_the_top_released_entry_must_be_the_version() -> None:
    text = UNRELEASED + "\n## [0.2.0] - 2026-12-01\n\n- b\n\n## [0.1.0] - 2026-11-21\n\n- a\n"
    assert check_versioning("0.2.0", text, releasing=True) == Release("0.2.0", date(2026, 12, 1))
    with pytest.raises(VersioningError, match=r"pyproject\.toml says 0\.1\.0"):
        check_versioning("0.1.0", text, releasing=False)
    with pytest.raises(VersioningError):
        check_versioning("0.3.0", text, releasing=False)


def test_a_release_needs_its_entry() -> None:
    assert check_versioning("0.1.0", UNRELEASED, releasing=False) is None
    with pytest.raises(VersioningError, match=r"add '## \[0.1.0\] - YYYY-MM-DD'"):
        check_versioning("0.1.0", UNRELEASED, releasing=True)


@pytest.mark.parametrize(
    "text",
    [
        "# Changelog\n\n## Unreleased\n\n- a\n",  # the old form
        "# Changelog\n\n## [0.1.0] - 2026-11-21\n\n- a\n",  # [Unreleased] must come first
        UNRELEASED + "\n## 0.1.0 - 2026-11-21\n",
        UNRELEASED + "\n## [0.1.0] (2026-11-21)\n",
        UNRELEASED + "\n## [0.1.0] - 2026-13-01\n",  # not a date
        UNRELEASED + "\n## [0.1.0] - 2026-11-21\n\n## [0.2.0] - 2026-12-01\n",  # oldest first
        UNRELEASED + "\n## [0.2.0] - 2026-11-01\n\n## [0.1.0] - 2026-12-01\n",  # dates backwards
        "# Changelog\n",
    ],
)
def test_a_changelog_not_in_keep_a_changelog_form_is_refused(text: str) -> None:
    with pytest.raises(VersioningError) as exc:
        check_versioning("0.1.0", text, releasing=False)
    assert exc.value.code == "VT927"


def test_section_headings_inside_an_entry_are_not_releases() -> None:
    text = UNRELEASED + "\n### Changed\n\n- c\n\n## [0.1.0] - 2026-11-21\n\n### Added\n\n- a\n"
    assert changelog_releases(text) == [Release("0.1.0", date(2026, 11, 21))]
