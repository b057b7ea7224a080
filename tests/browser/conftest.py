"""A live Edgewatch on PostgreSQL, seeded from the simulator, and Debian's Chromium to drive it.

One server per module (seeding takes seconds); one browser context per test, so each test signs
in on its own. Every page a test opens fails the test on a browser console error or an uncaught
exception — a Content-Security-Policy violation shows up there too.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/test-services.sh``), never a
browser downloaded by Playwright.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from browser_world import World, seed_world
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import free_port
from edgewatch.db.session import make_session_factory

POSTGRES_ADMIN_URL = os.environ.get("EDGEWATCH_TEST_POSTGRES_URL")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    world: World


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    if POSTGRES_ADMIN_URL is None:
        pytest.skip(
            "browser tests run on PostgreSQL: export EDGEWATCH_TEST_POSTGRES_URL "
            '(eval "$(scripts/test-services.sh start)")'
        )
    name = f"edgewatch_browser_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("browser-data"),
        database_url=database_url,
        secret_key="browser-test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        sim_events=16,
        ingest_backfill_minutes=60,
        # The demo's setting: anyone may read, signing in unlocks what each role may do.
        public_read=True,
        cookie_secure=False,
        # One browser from one address makes every request of the suite; the limiter is tested
        # elsewhere and would only slow these tests down.
        rate_limit_enabled=False,
        log_level="warning",
    )
    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    world = seed_world(settings, engine)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="edgewatch-live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    # The first readiness check imports scikit-learn (the model registry); pay for it here, not
    # inside a page load a test is timing.
    httpx.get(f"{url}/health/ready", timeout=120)
    yield LiveServer(url, settings, engine, factory, world)
    server.should_exit = True
    thread.join(timeout=30)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: scripts/test-services.sh start installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of the pages of one test."""

    errors: list[str] = field(default_factory=list)
    #: Substrings of errors a test expects (a 401 after it revoked the session, say).
    expected: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(part in e for part in self.expected)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def context(
    browser: Browser, live_server: LiveServer, console: ConsoleWatch
) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    context.on("page", lambda page: _watch(page, console))
    yield context
    context.close()
    assert console.unexpected() == [], "the browser reported errors"


def _watch(page: Page, console: ConsoleWatch) -> None:
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


SignIn = Callable[[Page, str], None]


@pytest.fixture
def sign_in(live_server: LiveServer) -> SignIn:
    """Sign in through the sign-in page as the seeded user of ``role``."""

    def sign_in(page: Page, role: str) -> None:
        user = live_server.world.users[role]
        page.goto("/auth/login?next=/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        assert page.get_by_text("Signed in").is_visible()

    return sign_in


def screenshot(page: Page, name: str) -> None:
    """Save the visible page as ``docs/screenshots/<name>.png`` (used by the dashboard guide)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
