"""The backend for django-storages' ``AzureStorage``: overwriting writes, a listing
without the location, and a manifest written with ETag conditions. See docs/storages.md.
"""
