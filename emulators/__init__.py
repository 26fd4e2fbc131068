"""Real Azure Blob Storage and Google Cloud Storage emulators on loopback, for tests.

``AzuriteServer`` runs Azurite's blob service (npm package ``azurite``, with the
machine's Node.js), ``GcsServer`` runs ``gcp-storage-emulator`` (PyPI). Put
``s3local.S3Proxy`` in front of either, with ``classify=`` one of the functions
in ``operations``, to count each request by the storage's own operation names.
"""

from emulators.azurite import AzuriteNotFound, AzuriteServer
from emulators.gcs import GcsServer
from emulators.operations import azure_operation, gcs_operation

__all__ = ["AzuriteNotFound", "AzuriteServer", "GcsServer", "azure_operation", "gcs_operation"]
