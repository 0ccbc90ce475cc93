"""The Jupyter server extension behind the JupyterLab panel: JSON routes under ``/amlpipe/api``.

Enabled by ``jupyter-config/jupyter_server_config.d/jupyter_amlpipe.json``
(installed into ``etc/jupyter/jupyter_server_config.d/``) or by
``--ServerApp.jpserver_extensions='{"jupyter_amlpipe": True}'``. Every route
takes the workspace folder as ``?ws=`` (absolute, or relative to the server's
root folder) and is answered by :class:`jupyter_amlpipe.publish.panel_service.PanelService`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["API_PREFIX", "_load_jupyter_server_extension"]

API_PREFIX = "amlpipe/api"


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the panel's handlers on the server's web application."""
    from jupyter_server.utils import url_path_join

    from jupyter_amlpipe.jupyter.serverext.background import Workers
    from jupyter_amlpipe.jupyter.serverext.handlers import ROUTES, SETTINGS_KEY, PanelContext

    web_app = serverapp.web_app
    root_dir = Path(getattr(serverapp, "root_dir", None) or ".").expanduser().resolve()
    web_app.settings[SETTINGS_KEY] = PanelContext(root_dir=root_dir, workers=Workers())
    base_url = web_app.settings.get("base_url", "/")
    handlers = [(url_path_join(base_url, API_PREFIX, pattern), handler) for pattern, handler in ROUTES]
    web_app.add_handlers(".*$", handlers)
    serverapp.log.info("jupyter_amlpipe: the Pipelines panel's API is at %s", url_path_join(base_url, API_PREFIX))
