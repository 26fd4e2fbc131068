from django.apps import AppConfig


class CollectStupidConfig(AppConfig):
    name = "collectstupid"
    verbose_name = "collectstupid"

    def ready(self) -> None:
        from collectstupid import checks  # noqa: F401  (registers the system checks)
