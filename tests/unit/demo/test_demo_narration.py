"""What `warden demo` prints: values from the wire stay literal, secrets stay short."""

from __future__ import annotations

import base64
import io
import json
import re

from rich.console import Console

from warden.demo.narration import Narrator, decode_jwt, shorten


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None), out


def _segment(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_scopes_and_brackets_are_printed_literally() -> None:
    console, out = _console()
    narrator = Narrator(console)

    narrator.step("Tool call: [bold]email_send")
    narrator.fields([("scope", "write:email:send read:calendar:next-7-days")])
    narrator.challenge('Bearer scope="write:email:send"', step_up=True)

    text = out.getvalue()
    assert "1. Tool call: [bold]email_send" in text
    assert "write:email:send read:calendar:next-7-days" in text  # no emoji for :email:
    assert 'WWW-Authenticate: Bearer scope="write:email:send"' in text


def test_steps_are_numbered_in_order() -> None:
    console, out = _console()
    narrator = Narrator(console)

    for title in ("first", "second", "third"):
        narrator.step(title)

    text = out.getvalue()
    assert text.index("1. first") < text.index("2. second") < text.index("3. third")


def test_a_token_is_shown_as_its_claims_never_whole() -> None:
    console, out = _console()
    claims = {"sub": "usr_1", "act": {"sub": "agent"}, "aud": "http://127.0.0.1:8001/mcp"}
    token = f"{_segment({'typ': 'at+jwt', 'alg': 'ES256'})}.{_segment(claims)}.c2ln"

    Narrator(console).token({"access_token": token, "refresh_token": "r" * 43})

    text = out.getvalue()
    assert token not in text and "r" * 43 not in text
    assert re.search(r"^act +sub=agent", text, re.MULTILINE)
    assert re.search(r"^header +typ=at\+jwt, alg=ES256", text, re.MULTILINE)
    assert "token_type" not in text  # absent members are not made up


def test_decode_jwt_and_shorten() -> None:
    token = f"{_segment({'alg': 'ES256'})}.{_segment({'scope': 'a b'})}.sig"

    assert decode_jwt(token) == ({"alg": "ES256"}, {"scope": "a b"})
    assert shorten("0123456789abcdef") == "01234567…"
    assert shorten("short") == "short"
