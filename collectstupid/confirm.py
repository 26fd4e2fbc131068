"""The question asked before anything is written, in collectstatic's words."""

from __future__ import annotations

from collectstupid import clear
from collectstupid.deploy import Deployment


def question(deployment: Deployment) -> str:
    """What will be overwritten or deleted where; the run goes on only on 'yes'."""
    if deployment.clearing is None:
        warning = "Existing files with the same names will be overwritten.\n"
    elif clear.owns_everything(deployment.profile):
        warning = "This will DELETE ALL FILES in this location!\n"
    else:
        warning = (
            f"This will DELETE the files profile '{deployment.profile.name}' "
            "selects in this location (the files it leaves out stay)!\n"
        )
    return (
        f"\nYou have requested to upload static files to '{deployment.destination}'.\n"
        f"{warning}"
        "Are you sure you want to do this?\n\nType 'yes' to continue, or 'no' to cancel: "
    )
