"""Our SigV4 step signs as botocore's S3 signer does, given the same headers and time."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from collectstupid.s3 import sigv4


@pytest.mark.parametrize(
    ("url", "headers", "token"),
    [
        ("http://127.0.0.1:8333/bucket/static/css/site.css", {"Content-Type": "text/css"}, None),
        (
            "https://bucket.s3.eu-west-1.amazonaws.com/static/img/space%20and%20%C3%BC.svg",
            {
                "Content-Type": "image/svg+xml",
                "Cache-Control": "max-age=60,  immutable",
                "x-amz-meta-kind": "  padded   value ",
                "x-amz-acl": "public-read",
            },
            "session-token",
        ),
    ],
)
def test_signature_matches_botocore(url, headers, token):
    body = b"body { color: red }\n"
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    request = AWSRequest(method="PUT", url=url, headers=dict(headers), data=body)
    S3SigV4Auth(credentials, "s3", "eu-west-1").add_auth(request)
    theirs = request.headers["Authorization"]

    scope = sigv4.read_authorization(theirs)
    assert scope is not None
    assert (scope.region, scope.service, scope.access_key) == ("eu-west-1", "s3", "AKIDEXAMPLE")
    values = {name.lower(): value for name, value in request.headers.items()}
    values["host"] = url.split("/")[2]
    assert values["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    path = "/" + url.split("/", 3)[3]
    ours = sigv4.authorization(scope, credentials.get_frozen_credentials(), "PUT", path, values)
    assert ours == theirs


def test_other_authorizations_are_not_read():
    assert sigv4.read_authorization("AWS AKID:c2lnbmF0dXJl") is None
    assert sigv4.read_authorization("") is None
