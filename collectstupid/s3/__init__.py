"""The backend for django-storages' S3 storage: direct, pooled S3 requests.
See docs/speed.md.
"""
