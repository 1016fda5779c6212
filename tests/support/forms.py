"""The provider's login and consent forms as a browser meets them: the hidden
fields they carry, and ``Browser``, which fills them in with the Flask test client
to walk /authorize through sign-in and consent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from flask.testing import FlaskClient

from tests.support.settings import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INTERACTION = re.compile(r'name="interaction" value="([^"]+)"')


@dataclass
class Browser:
    """Drives the login and consent forms with the Flask test client."""

    http: FlaskClient

    def form_fields(self, html: str) -> dict[str, str]:
        fields = {"csrf_token": CSRF.search(html).group(1)}
        match = INTERACTION.search(html)
        if match:
            fields["interaction"] = match.group(1)
        return fields

    def login(self, location: str, username: str = "alice", password: str = PASSWORD):
        page = self.http.get(location)
        assert page.status_code == 200, page.data
        fields = self.form_fields(page.get_data(as_text=True))
        return self.http.post("/login", data={**fields, "username": username,
                                              "password": password, "action": "login"})

    def decide(self, location: str, decision: str = "allow"):
        page = self.http.get(location)
        assert page.status_code == 200, page.data
        fields = self.form_fields(page.get_data(as_text=True))
        return self.http.post("/consent", data={**fields, "decision": decision})

    def authorize(self, params: dict, username: str = "alice", consent: str = "allow"):
        """Follow /authorize through login and consent; return the final response."""
        response = self.http.get("/authorize?" + urlencode(params))
        for _ in range(4):
            location = response.headers.get("Location", "")
            if response.status_code not in (302, 303) or not location.startswith("/"):
                return response
            if location.startswith("/login"):
                response = self.login(location, username=username)
            elif location.startswith("/consent"):
                response = self.decide(location, consent)
            else:
                response = self.http.get(location)
        return response
