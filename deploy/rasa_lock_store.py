"""A Redis lock store for ``rasa run`` that degrades to an in-process one while Redis is away.

Rasa 3.6's own ``RedisLockStore`` fails every turn while Redis is unreachable (``LockError``;
its REST channel then answers 200 with no messages, so the customer sees nothing). This one
(``lock_store: type: deploy.rasa_lock_store.DegradingRedisLockStore`` in
deploy/rasa-endpoints.yml) keeps the conversation going: while Redis is away, each replica
serialises the turns of a conversation by itself, which holds because a conversation's turns
reach a Rasa replica from one Frontline replica, one at a time per widget. It logs the change
both ways and tries Redis again after ``RETRY_AFTER_S``.

Runs inside Rasa's Python (3.10, ``.venv-rasa``): imports only Rasa and redis-py. ``rasa run``
finds it because Rasa puts its working directory (the project root) on ``sys.path``.
"""

import logging
import time
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class DegradingRedisLockStore(RedisLockStore):
    """``RedisLockStore`` while Redis answers; an ``InMemoryLockStore`` while it does not."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        kwargs.setdefault("socket_timeout", 2.0)
        super().__init__(**kwargs)
        self.local = InMemoryLockStore()
        self.down_since: float | None = None

    def _redis_usable(self) -> bool:
        return self.down_since is None or time.monotonic() - self.down_since > RETRY_AFTER_S

    def _call(self, operation: str, *args: Any) -> Any:
        if self._redis_usable():
            try:
                result = getattr(super(), operation)(*args)
            except REDIS_DOWN as exc:
                if self.down_since is None:
                    logger.warning("Redis lock store unreachable (%s): locking conversations "
                                   "in this process until it is back", exc)
                self.down_since = time.monotonic()
            else:
                if self.down_since is not None:
                    logger.warning("Redis lock store is back: locking conversations in Redis")
                    self.down_since = None
                return result
        return getattr(self.local, operation)(*args)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._call("get_lock", conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._call("delete_lock", conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._call("save_lock", lock)
