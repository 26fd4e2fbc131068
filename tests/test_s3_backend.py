"""The S3 backend's listing and batched deletes, against the real server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from collectstupid.backends import backend_for
from collectstupid.storage import target_storage


def test_listing_stays_under_the_location_and_deletes_go_in_batches(
    s3_storage_settings, s3_client, s3_bucket, botocore_calls
):
    inside = [f"css/f{i}.css" for i in range(2100)]
    outside = ["staticx/a.css", "other/b.css", "root.txt"]  # "staticx" shares the prefix "static"
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda name: s3_client.put_object(
                    Bucket=s3_bucket, Key=s3_storage_settings.key(name), Body=b"x"
                ),
                inside,
            )
        )
    for key in outside:
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"y")
    backend = backend_for(target_storage())
    botocore_calls.reset()

    assert sorted(backend.list_names()) == sorted(inside)
    assert botocore_calls.operations == {"ListObjectsV2": 3}  # 1000 keys a page

    botocore_calls.reset()
    assert backend.delete_many([*inside[:2050], "css/missing.css"], threads=4) == {}
    # 2051 keys: three DeleteObjects requests, none per file.
    assert botocore_calls.operations == {"DeleteObjects": 3}
    assert s3_storage_settings.names() == set(inside[2050:])
    everything = s3_storage_settings.keys()
    assert {k for k in everything if not k.startswith("static/")} == set(outside)


def test_a_refused_batch_names_every_file_it_held(
    s3_storage_settings_factory, s3_client, botocore_calls
):
    s3_storage_settings_factory(bucket="no-such-bucket-here", secret_key="wrong")
    backend = backend_for(target_storage())
    failed = backend.delete_many(["a.css", "b.css"], threads=2)
    assert set(failed) == {"a.css", "b.css"}
    assert all(reason.startswith("SignatureDoesNotMatch") for reason in failed.values()), failed
