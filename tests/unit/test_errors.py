"""The error registry invariants (aesthetics §10.2)."""

from __future__ import annotations

import re

from warden import errors


def _all(cls: type[errors.OAuthError]) -> list[type[errors.OAuthError]]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all(sub)]
    return out


def test_one_class_per_code_named_after_it() -> None:
    classes = _all(errors.OAuthError)
    codes = [c.error for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        if cls is errors.TooManyRequestsError:
            continue
        camel = "".join(p.capitalize() for p in cls.error.split("_"))
        expected = camel if camel.endswith("Error") else camel + "Error"
        assert cls.__name__ == expected


def test_description_is_restricted_to_the_rfc_charset() -> None:
    err = errors.InvalidRequestError('bad "quote" \\ and \u202e')
    assert re.fullmatch(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*", err.to_dict()["error_description"])


def test_server_error_hides_detail() -> None:
    err = errors.ServerError(detail="db password leaked")
    assert "leaked" not in str(err.to_dict())
