"""A real WordPress for the plugin's tests: Debian's `wordpress` package served by PHP's built-in
server, on a MariaDB database of its own, with integrations/wordpress copied in as a newsroom
would install it.

The site is a directory of links to /usr/share/wordpress beside the test's own wp-config.php
(Debian's reads /etc/wordpress, which a test must not write) and a wp-content of its own:
the plugin, Debian's theme, and a debug log that the tests read.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "integrations" / "wordpress"
HERE = Path(__file__).resolve().parent
WORDPRESS = Path("/usr/share/wordpress")
MARIADB = ("127.0.0.1", 3306)
ADMIN = ("editor", "a quiet newsroom at night")


def missing() -> str | None:
    """Why a WordPress site cannot be built here, or None."""
    php = shutil.which("php")
    if php is None:
        return "no php on PATH: apt-get install php-cli php-mysql wordpress"
    if not (WORDPRESS / "wp-settings.php").exists():
        return f"no WordPress at {WORDPRESS}: apt-get install wordpress"
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=True).stdout.split()
    for module in ("mysqli", "sodium"):
        if module not in modules:
            return f"PHP lacks {module}: apt-get install php-mysql (sodium is in php-common)"
    try:
        socket.create_connection(MARIADB, timeout=2).close()
    except OSError:
        return f"MariaDB does not answer on {MARIADB[0]}:{MARIADB[1]} (for WordPress)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sql(statement: str) -> None:
    """One statement as MariaDB's root (no password), through PHP's mysqli like WordPress."""
    code = (
        "$db = new mysqli($argv[1], 'root', '', '', (int) $argv[2]);"
        "if (!$db->query($argv[3])) { fwrite(STDERR, $db->error); exit(1); }"
    )
    subprocess.run(
        ["php", "-r", code, MARIADB[0], str(MARIADB[1]), statement],
        check=True,
        capture_output=True,
        timeout=30,
    )


class WordPressSite:
    """One WordPress site: built, installed, served; dropped again by `close()`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.docroot = workdir / "site"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"wp_test_{secrets.token_hex(4)}"
        self.debug_log = workdir / "debug.log"
        self.server: subprocess.Popen | None = None
        self.posts: dict[str, dict] = {}
        self.api_key = ""

    # --- building ------------------------------------------------------------------------------

    def build(self) -> None:
        """The site's files: links to WordPress, our wp-config, the plugin copied in."""
        self.docroot.mkdir(parents=True)
        for entry in WORDPRESS.iterdir():
            if entry.name not in ("wp-config.php", "wp-content"):
                (self.docroot / entry.name).symlink_to(entry)
        content = self.docroot / "wp-content"
        for folder in ("plugins", "themes", "uploads", "mu-plugins"):
            (content / folder).mkdir(parents=True)
        (content / "languages").symlink_to(WORDPRESS / "wp-content" / "languages")
        for theme in (WORDPRESS / "wp-content" / "themes").iterdir():
            if theme.is_dir():
                (content / "themes" / theme.name).symlink_to(theme)
        # The plugin is copied, as a newsroom installs it.
        shutil.copytree(PLUGIN, content / "plugins" / "membership-access")
        shutil.copy(HERE / "mu-plugin.php", content / "mu-plugins" / "test-site.php")
        salts = "\n".join(
            f"define('{name}', '{secrets.token_hex(24)}');"
            for name in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT",
                         "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")
        )  # fmt: skip
        (self.docroot / "wp-config.php").write_text(
            f"""<?php
define('DB_NAME', '{self.database}');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '{MARIADB[0]}:{MARIADB[1]}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
define('WP_HOME', '{self.url}');
define('WP_SITEURL', '{self.url}');
define('WP_CONTENT_DIR', ABSPATH . 'wp-content');
define('WP_CONTENT_URL', '{self.url}/wp-content');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);  // WordPress may call nobody but itself and our backend
define('WP_DEBUG', true);
define('WP_DEBUG_LOG', '{self.debug_log}');
define('WP_DEBUG_DISPLAY', false);
{salts}
require_once ABSPATH . 'wp-settings.php';
"""
        )
        # ABSPATH must be this directory, not the links' target, before WordPress defines it.
        (self.workdir / "prepend.php").write_text(
            f"<?php\nif (!defined('ABSPATH')) {{ define('ABSPATH', '{self.docroot}/'); }}\n"
        )
        (self.workdir / "router.php").write_text(
            f"""<?php
require_once '{self.workdir}/prepend.php';
$path = (string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$file = $_SERVER['DOCUMENT_ROOT'] . $path;
if (is_file($file) || (is_dir($file) && is_file(rtrim($file, '/') . '/index.php'))) {{
    return false;  // a real file: the server serves or runs it
}}
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/index.php';  // pretty permalinks, as mod_rewrite
unset($_SERVER['PATH_INFO']);
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
"""
        )

    def install(self) -> None:
        """A database of its own, WordPress installed, the plugin active, the test's posts."""
        _sql(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4")
        self.posts = self.php("install", "Newsroom", *ADMIN)

    def php(self, *args: str) -> dict | list | bool:
        """Run tests/wordpress/wp.php inside the site; its JSON answer."""
        environment = {**os.environ, "WP_SITE_DIR": str(self.docroot), "WP_SITE_URL": self.url}
        done = subprocess.run(
            ["php", "-d", f"auto_prepend_file={self.workdir / 'prepend.php'}", str(HERE / "wp.php"),
             *args],
            capture_output=True, text=True, env=environment, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"wp.php {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    # --- serving -------------------------------------------------------------------------------

    def start(self) -> None:
        """PHP's built-in server on the site, four workers, until it answers."""
        with (self.workdir / "server.log").open("wb") as log:  # the server keeps its own copy
            self.server = subprocess.Popen(
                ["php", "-d", f"auto_prepend_file={self.workdir / 'prepend.php'}",
                 "-S", f"127.0.0.1:{self.port}",
                 "-t", str(self.docroot), str(self.workdir / "router.php")],
                env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                login = f"{self.url}/wp-login.php"
                with urllib.request.urlopen(login, timeout=5) as answer:  # noqa: S310 - local
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                log = (self.workdir / "server.log").read_text()
                raise RuntimeError(f"php -S did not start: {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and its workers (its own process group)."""
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=10)
        self.server = None

    def close(self) -> None:
        """Stop serving and drop the database."""
        self.stop()
        _sql(f"DROP DATABASE IF EXISTS `{self.database}`")

    # --- what the tests read -------------------------------------------------------------------

    def configure(self, **settings) -> dict:
        """Set the plugin's settings, forgetting what it cached."""
        return self.php("configure", json.dumps(settings))

    def plugin_errors(self) -> list[str]:
        """PHP errors, warnings and notices the debug log names our plugin in."""
        if not self.debug_log.exists():
            return []
        lines = self.debug_log.read_text(errors="replace").splitlines()
        return [line for line in lines if "plugins/membership-access/" in line and " PHP " in line]
