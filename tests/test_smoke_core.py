from plugwire.core.plugins import auth_types


def test_builtin_auth_types_register_through_entry_points():
    assert {"none", "basic"} <= set(auth_types.names())


def test_create_and_read_connection(connections):
    conn = connections.create({"name": "c1", "auth_type": "basic", "settings": {"username": "u", "password": "s3cr3t-value"}})
    assert conn.settings.password.get_secret_value() == "s3cr3t-value"
    again = connections.get("c1")
    assert again.settings.username == "u"
    raw = connections.home.store.path.read_text()
    assert "s3cr3t-value" not in raw
