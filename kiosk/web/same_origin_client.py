"""The app's test client, as the hall's own pages would send requests (hall.web.origin refuses others).

A module of its own, imported only when a test asks for a client: `flask.testing` pulls in
click.testing and pdb (~1 MB resident), which a running hall never needs.
"""

from __future__ import annotations

from flask.testing import FlaskClient


class SameOriginClient(FlaskClient):
    """The app's test client acts like the hall's own pages: it sends their `Origin`.

    A test that plays an attacker passes its own `Origin`/`Referer` header, or
    uses a plain `FlaskClient` to send none.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ORIGIN", "http://localhost")
