"""The execution environment's state, built once during Lambda's init phase."""

from __future__ import annotations

from handler import snapstart
from handler.settings import Settings
from handler.store import ModelStore

SETTINGS = Settings.from_env()
STORE = ModelStore.load(SETTINGS)
snapstart.register(STORE)
