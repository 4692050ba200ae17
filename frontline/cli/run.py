"""``frontline run``: train the assistant if needed, start ``rasa run`` and the service together.

Rasa listens on a free port on 127.0.0.1 only and calls the service's ``/webhook`` with a token
generated for this run. Ctrl-C or SIGTERM stops both; if Rasa dies, that is reported and the
whole run stops with a non-zero exit code.
"""

from __future__ import annotations

import logging
import secrets
import signal
import sys
import threading

from pydantic import SecretStr

from frontline.rasa import RasaError, RasaServer, ensure_model, free_port, write_endpoints
from frontline.settings import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings, host: str, port: int) -> int:
    """Run both processes until Ctrl-C/SIGTERM (exit 0) or until Rasa dies (exit 1)."""
    import uvicorn

    from frontline.api.app import create_app

    model = ensure_model(settings)
    token = settings.action_token.get_secret_value() or secrets.token_urlsafe(24)
    rasa_port = free_port()
    action_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    endpoints = write_endpoints(settings, f"http://{action_host}:{port}/webhook", token)
    settings = settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{rasa_port}",
                                           "action_token": SecretStr(token)})
    rasa = RasaServer(settings, model, endpoints, rasa_port)
    # proxy_headers=False: the app itself trusts X-Forwarded-For from FRONTLINE_TRUSTED_PROXIES
    # only (uvicorn's default would trust it from 127.0.0.1).
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port,
                                           log_level="info", proxy_headers=False))
    failed = threading.Event()

    def watch() -> None:
        try:
            rasa.wait_ready()
            if not rasa.warm_up():
                logger.warning("the Rasa server did not answer its warm-up message; the first "
                               "chat turns may be slow (see its output above)")
            print(f"Frontline assistant is ready: http://{host}:{port}", file=sys.stderr)
        except RasaError as exc:
            logger.error("%s", exc)
            failed.set()
            server.should_exit = True
            return
        assert rasa.process is not None
        code = rasa.process.wait()
        if not server.should_exit:
            logger.error("the Rasa server exited unexpectedly with code %s; stopping", code)
            failed.set()
            server.should_exit = True

    def stop_signal(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal with the
        # handlers it found installed: these, so Rasa is stopped below instead of orphaned.
        raise SystemExit(0)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_signal)
    rasa.start()
    print(f"Frontline is starting on http://{host}:{port} (assistant loading…)", file=sys.stderr)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        server.should_exit = True
        rasa.stop()
        logger.info("stopped the service and the Rasa server")
    return 1 if failed.is_set() else 0
