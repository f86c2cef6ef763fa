"""The web tests without a browser run against the app with no database (`bare_client` of the api tests): the
pages and assets must not need one."""

from tests.api.conftest import bare_app, bare_client  # noqa: F401  (fixtures re-used as they are)
