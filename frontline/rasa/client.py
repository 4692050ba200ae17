"""The Rasa server's REST channel and root endpoint, over one pooled HTTP client."""

from __future__ import annotations

from typing import Any

import httpx

from frontline.errors import AssistantUnavailable


class RasaClient:
    """Implements ``frontline.support.chat.Assistant`` for a ``rasa run`` server."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """One pooled client, (re)opened on demand: an app restarted after shutdown works."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Rasa's replies (REST output items); raises ``AssistantUnavailable``."""
        try:
            response = await self.client.post(
                f"{self.base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            response.raise_for_status()
            return list(response.json() or [])
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            raise AssistantUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        try:
            response = await self.client.get(f"{self.base_url}/", timeout=2.0)
            return response.status_code == 200
        except (httpx.HTTPError, RuntimeError):
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
