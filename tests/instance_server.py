"""A second instance of the app for tests/test_instances.py: `create_app()` on the given settings,
served by Werkzeug on 127.0.0.1:<port> in its own process.

    python tests/instance_server.py PORT '<JSON {"database_url", "environ", "settings"}>'
"""

from __future__ import annotations

import json
import sys

from werkzeug.serving import make_server

from membership import create_app
from membership.config import test_config


def main() -> None:
    port, raw = int(sys.argv[1]), sys.argv[2]
    spec = json.loads(raw)
    app = create_app(test_config(spec["database_url"], environ=spec["environ"], **spec["settings"]))
    server = make_server("127.0.0.1", port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
