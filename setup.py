"""Package discovery only (metadata lives in pyproject.toml).

``templates/`` and ``migrations/`` stay top-level folders of the repository (see DESIGN.md) and are
installed as the packages ``skymist_templates`` and ``skymist_migrations``, which pyproject.toml's
static ``find`` cannot express together with the mapped folders.
"""

from setuptools import find_packages, setup

MAPPED = {"skymist_templates": "templates", "skymist_migrations": "migrations"}
MAPPED_SUBPACKAGES = {"skymist_migrations.versions": "migrations/versions"}

setup(
    packages=[
        *find_packages(include=["skybase*", "skymist*", "scanner_client*", "skyscan*"]),
        *MAPPED,
        *MAPPED_SUBPACKAGES,
    ],
    package_dir={**MAPPED, **MAPPED_SUBPACKAGES},
)
