"""What outside clients asked a live app (the WordPress plugin, a CMS sample), path by path, and a
switch that makes the app fail for them as a broken backend would."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Calls:
    """Requests a live app received from the clients a test watches."""

    paths: list[str] = field(default_factory=list)
    down: bool = False  # answer every watched request with a 503, as a failing backend

    def count(self, path: str) -> int:
        return sum(1 for p in self.paths if p == path)

    def clear(self) -> None:
        self.paths.clear()


def record(app, agent_prefix: str = "") -> Calls:
    """Watch the requests whose User-Agent starts with `agent_prefix` (all, when empty)."""
    calls = Calls()
    inner = app.wsgi_app

    def watching(environ, start_response):
        if environ.get("HTTP_USER_AGENT", "").startswith(agent_prefix):
            calls.paths.append(environ["PATH_INFO"])
            if calls.down:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"down for maintenance"]
        return inner(environ, start_response)

    app.wsgi_app = watching
    return calls
