from plugwire.core.plugincore.manager import auth_types


def test_builtin_auth_types_register_through_entry_points():
    assert {"none", "basic"} <= set(auth_types.names())


def test_create_and_read_connection(connections):
    conn = connections.create({"name": "c1", "auth_type": "basic", "settings": {"username": "u", "password": "s3cr3t-value"}})
    assert conn.settings.password.get_secret_value() == "s3cr3t-value"
    again = connections.get("c1")
    assert again.settings.username == "u"
    raw = connections.home.store.path.read_text()
    assert "s3cr3t-value" not in raw


def test_one_name_rule_for_connections_actions_and_recipes(connections):
    import pytest

    from plugwire.core.base.errors import UserInputError
    from plugwire.core.base.names import check_name

    assert check_name("  Jira prod ") == "Jira prod"
    for bad in ("", "-lead", "a/b", "x" * 81):
        with pytest.raises(ValueError, match="1-80 characters"):
            check_name(bad)
    with pytest.raises(UserInputError) as info:
        connections.create({"name": "a/b", "auth_type": "none"})
    assert "name" in str(info.value) and "1-80 characters" in str(info.value)
