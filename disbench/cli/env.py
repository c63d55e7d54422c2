"""`disbench env`: versions and devices, what a bug report needs."""

from __future__ import annotations

from disbench.cli.output import handle_errors, stdout


@handle_errors
def env() -> None:
    """Print versions, devices and data locations."""
    from disbench.provenance import environment_report

    for key, value in environment_report().items():
        stdout.print(f"{key + ':':<16} {value}", highlight=False)
