"""Settings from the environment, and what production refuses: the development secret, a short secret, a
wildcard CORS origin, and starting while the development admin can still sign in."""

from __future__ import annotations

import pytest

from app.auth.service import AuthService
from app.core.config import Environment, Settings
from app.db.engine import create_sessionmaker
from app.main import ProductionSafetyError, create_app
from tests.api.live import serve
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for

DEV_SECRET = "jobcost-development-secret-key-do-not-use-in-production"
PROD_SECRET = "p" * 48


def test_development_runs_with_no_configuration(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()

    assert settings.env is Environment.development
    assert settings.secret_key.get_secret_value() == DEV_SECRET
    assert settings.cors_origins == []


def test_production_refuses_the_development_secret(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="JOBCOST_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValueError, match="JOBCOST_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET)

    clean_env.setenv("JOBCOST_ENV", "production")
    with pytest.raises(ValueError, match="JOBCOST_SECRET_KEY"):
        Settings()


@pytest.mark.parametrize("length", [20, 31])
def test_production_refuses_a_short_secret(clean_env: pytest.MonkeyPatch, length: int) -> None:
    with pytest.raises(ValueError, match="JOBCOST_SECRET_KEY"):
        Settings(env="production", secret_key="s" * length)


def test_production_accepts_a_32_character_secret_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JOBCOST_ENV", "production")
    clean_env.setenv("JOBCOST_SECRET_KEY", "s" * 32)

    settings = Settings()

    assert settings.is_production
    assert "s" * 32 not in repr(settings) and "s" * 32 not in str(settings.model_dump())


@pytest.mark.parametrize("raw", ["*", "https://dashboard.example.test,*", " * "])
def test_a_wildcard_cors_origin_is_refused(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("JOBCOST_CORS_ORIGINS", raw)

    with pytest.raises(ValueError, match="JOBCOST_CORS_ORIGINS"):
        Settings()


def test_cors_origins_are_read_comma_separated(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JOBCOST_CORS_ORIGINS", " https://dashboard.example.test, https://ops.example.test ,,")

    assert Settings().cors_origins == ["https://dashboard.example.test", "https://ops.example.test"]


def test_database_url_is_read_with_or_without_the_prefix(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/plain")
    assert Settings().database_url == "postgresql+asyncpg://u@h/plain"

    clean_env.setenv("JOBCOST_DATABASE_URL", "postgresql+asyncpg://u@h/prefixed")
    assert Settings().database_url == "postgresql+asyncpg://u@h/prefixed"


async def _with_service(settings: Settings, work) -> None:  # noqa: ANN001
    async with engine_for(settings) as engine, create_sessionmaker(engine)() as session:
        await work(AuthService(session, settings))
        await session.commit()


async def test_production_refuses_to_start_while_the_development_admin_can_sign_in(
    fresh_db: ScratchDatabase,
) -> None:
    settings = make_settings(fresh_db.url, env=Environment.production, secret_key=PROD_SECRET)
    await _with_service(settings, lambda auth: auth.ensure_admin("admin@example.com", "admin"))

    app = create_app(settings)
    with pytest.raises(ProductionSafetyError, match="admin@example.com"):
        async with app.router.lifespan_context(app):
            pytest.fail("the app started")

    await _with_service(settings, lambda auth: auth.set_active("admin@example.com", False))

    async with serve(settings) as (_, client):
        assert (await client.get("/health/ready")).status_code == 200


async def test_production_starts_once_the_development_admin_password_is_changed(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url, env=Environment.production, secret_key=PROD_SECRET)
    await _with_service(settings, lambda auth: auth.ensure_admin("admin@example.com", "a-real-password-now"))

    async with serve(settings) as (_, client):
        assert (await client.get("/health/ready")).status_code == 200


async def test_development_starts_with_the_development_admin(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url, env=Environment.development)
    await _with_service(settings, lambda auth: auth.ensure_admin("admin@example.com", "admin"))

    async with serve(settings) as (_, client):
        assert (await client.get("/health/ready")).status_code == 200


async def test_production_refuses_any_admin_with_the_development_password(fresh_db: ScratchDatabase) -> None:
    # JOBCOST_ADMIN_EMAIL is configurable, so the check cannot rest on admin@example.com alone.
    settings = make_settings(fresh_db.url, env=Environment.production, secret_key=PROD_SECRET)
    await _with_service(settings, lambda auth: auth.ensure_admin("ops@example.test", "admin"))
    await _with_service(settings, lambda auth: auth.ensure_admin("real@example.test", "a-real-password-now"))

    app = create_app(settings)
    with pytest.raises(ProductionSafetyError, match="ops@example.test") as refused:
        async with app.router.lifespan_context(app):
            pytest.fail("the app started")
    assert "real@example.test" not in str(refused.value)
