from models import Role


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/member_unit/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_clerk_sees_chinese_admin(client, auth):
    auth.as_role(Role.CLERK)
    response = client.get("/admin/member_unit/")
    assert response.status_code == 200
    assert "成员单位" in response.get_data(as_text=True)


def test_every_surface_sends_the_security_headers(client, auth):
    auth.as_role(Role.CLERK)
    for url in ("/", "/login", "/admin/", "/api/v1/events", "/calendar.ics", "/no-such-page"):
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN", url
        assert response.headers["Referrer-Policy"] == "same-origin", url
