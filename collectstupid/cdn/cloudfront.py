"""Amazon CloudFront through boto3's public client: CreateInvalidation and GetInvalidation.

Credentials, region and endpoint come from boto3's usual chain (environment,
shared config, instance role; ``AWS_ENDPOINT_URL_CLOUDFRONT`` for another
endpoint). See docs/cdn.md.
"""

from __future__ import annotations

from typing import Any

from collectstupid.cdn.base import InvalidationError
from collectstupid.interruptible import call
from collectstupid.output import redact

# What to do about the errors a retry cannot fix, by botocore's error code or exception name.
ADVICE = {
    "AccessDenied": "Allow these credentials cloudfront:CreateInvalidation on the distribution.",
    "NoSuchDistribution": "Check COLLECTSTUPID['CDN']['CLOUDFRONT_DISTRIBUTION_ID'].",
    "NoCredentialsError": "Give the deploy AWS credentials (as for the aws CLI).",
    "InvalidClientTokenId": "Check the AWS credentials the deploy runs with.",
    "SignatureDoesNotMatch": "Check the AWS credentials the deploy runs with.",
    "TooManyInvalidationsInProgress": (
        "CloudFront allows 3,000 paths or 15 wildcards in progress at once; wait for some "
        "to complete."
    ),
}


class CloudFront:
    def __init__(self, distribution_id: str, client: Any = None) -> None:
        self.distribution_id = distribution_id
        self.name = f"CloudFront distribution {distribution_id}"
        self.key = f"cloudfront:{distribution_id}"
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only a deploy that invalidates needs it

            self._client = boto3.session.Session().client("cloudfront")
        return self._client

    def invalidate(self, paths: list[str], reference: str) -> str:
        batch = {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference}
        try:
            answer = call(
                self.client.create_invalidation,
                DistributionId=self.distribution_id,
                InvalidationBatch=batch,
            )
        except Exception as exc:
            raise InvalidationError(described(exc)) from exc
        return str(answer["Invalidation"]["Id"])

    def completed(self, invalidation: str) -> bool:
        try:
            answer = call(
                self.client.get_invalidation, DistributionId=self.distribution_id, Id=invalidation
            )
        except Exception as exc:
            raise InvalidationError(described(exc)) from exc
        return str(answer["Invalidation"]["Status"]).lower() == "completed"


def described(exc: Exception) -> str:
    """botocore's error as ``Code: message``, with what to do when a retry cannot help."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = error.get("Code") or type(exc).__name__
    message = error.get("Message") or str(exc)
    # botocore quotes the endpoint URL, which may carry credentials (user:password@).
    text = redact(" ".join(f"{code}: {message}".split()))
    advice = ADVICE.get(code)
    # CloudFront's messages are sentences already ("... does not exist."): one period.
    return f"{text.rstrip('.')}. {advice}" if advice else text
