"""The engine: plugin manager, storage, connections, HTTP. No auth type, trigger or
endpoint knowledge of its own: those come from plugins."""
