"""The Cloudflare error bodies the fake Radar answers with.

Only the two authentication error bodies are real (copied verbatim from
`radar-samples/cloudflare-api/`); the other error bodies and the HTML 502 page follow the
documented Cloudflare v4 envelope and Cloudflare's usual edge pages but are synthetic too.
"""

from __future__ import annotations

from testkit.answers import encode

#: Real: radar-samples/cloudflare-api/error_authentication-error_code10000.json (HTTP 403).
AUTH_ERROR_BODY = b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}\n'
#: Real: radar-samples/cloudflare-api/error_400_invalid-authorization-header.json (HTTP 400).
BAD_AUTH_HEADER_BODY = (
    b'{"success":false,"errors":[{"code":6003,"message":"Invalid request headers",'
    b'"error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],'
    b'"messages":[],"result":null}\n'
)


def error_body(code: int, message: str) -> bytes:
    """A synthetic Cloudflare v4 failure envelope with one error."""
    return encode(
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        }
    )


RATE_LIMITED_BODY = error_body(1015, "You are being rate limited")
INTERNAL_ERROR_BODY = error_body(2000, "Internal Server Error")
INVALID_PREFIX_BODY = error_body(2001, "Invalid prefix")
#: Synthetic, in the style of Cloudflare's edge error pages.
BAD_GATEWAY_HTML = b"""<!DOCTYPE html>
<html lang="en-US">
<head>
<title>api.cloudflare.com | 502: Bad gateway</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
<div id="cf-error-details" class="p-0">
<h1><span class="inline-block">Bad gateway</span>
<span class="code-label">Error code 502</span></h1>
<p>The web server reported a bad gateway error.</p>
<p>Please try again in a few minutes.</p>
<p>Cloudflare Ray ID: <strong>8c1f2e3d4a5b6c7d</strong> &bull; Performance &amp; security by
<a rel="noopener noreferrer" href="https://www.cloudflare.com/5xx-error-landing">Cloudflare</a></p>
</div>
</div>
</body>
</html>
"""
