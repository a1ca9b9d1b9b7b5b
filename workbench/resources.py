"""Files that ship inside the package: the migrations and the labelling interface.

In the checkout, ``workbench/migrations`` and ``workbench/label_config.xml`` are links to the
top-level ``migrations/`` and ``label_config.xml``; a wheel carries the files themselves. Either
way they sit next to the code, so they are found with ``importlib.resources`` wherever the
package is installed, never relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Return the real path of a file or folder shipped inside the ``workbench`` package.

    Alembic and Label Studio's bootstrap read these as files, so the package must be installed
    as files (pip always installs a wheel that way); a zipped install is refused in one line.
    """
    resource = files("workbench").joinpath(*parts)
    if not isinstance(resource, Path):
        raise RuntimeError(f"workbench is installed as an archive; {'/'.join(parts)} needs a plain install")
    return resource


def migrations_directory() -> str:
    """Return the Alembic migrations folder shipped with the package."""
    return str(resource_path("migrations"))
