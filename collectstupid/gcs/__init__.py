"""The backend for django-storages' ``GoogleCloudStorage``: one upload request per file
where ``save()`` also fetches the object's metadata first. See docs/storages.md.
"""
