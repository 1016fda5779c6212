"""PKCE with S256 only, enforced at the authorization request (RFC 7636,
RFC 9700 §2.1.1 and §4.8).

Authlib accepts ``plain``, treats a challenge without a method as plain, and
enforces "required" only at the token endpoint; this subclass refuses all of
that where the request arrives.
"""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge

CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


class S256CodeChallenge(CodeChallenge):
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def __init__(self, require_for_all: bool = False) -> None:
        super().__init__(required=True)
        self.require_for_all = require_for_all

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if challenge is None and method is None:
            if grant.request.client.is_public or self.require_for_all:
                raise InvalidRequestError(
                    "PKCE is required: send 'code_challenge' with 'code_challenge_method=S256'."
                )
            return
        if method is None:
            raise InvalidRequestError("'code_challenge_method' is required and must be S256.")
        if method != "S256":
            raise InvalidRequestError("Only the S256 'code_challenge_method' is supported.")
        # Authlib's pattern ends in "$", which also matches before a final newline:
        # 128 characters and a "\n" would pass and then not fit the stored column
        if not isinstance(challenge, str) or not CHALLENGE.fullmatch(challenge):
            raise InvalidRequestError("Invalid 'code_challenge': 43 to 128 characters of "
                                      "A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.2).")
        super().validate_code_challenge(grant, redirect_uri)
