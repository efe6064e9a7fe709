"""Token interop with the reference, for the gateway integration tests.

    token_interop.py sign    < {"secret", "capability_id", "principal_id", "constraints"?, "ttl_seconds"?}
                             > the token's to_dict()
    token_interop.py verify  < {"secret", "token", "principal_id", "capability_id"?}
                             > {"ok": true} | {"ok": false, "error": <exception class>, "message": ...}

JSON on stdin and stdout, so the Swift test drives the reference's own HMACTokenProvider
(issue and verify) with the sidecar's secret. Exit 0 on both verify outcomes; exit 2 on
bad input.
"""

from __future__ import annotations

import json
import sys

from weaver_kernel.errors import AgentKernelError
from weaver_kernel.tokens import CapabilityToken, HMACTokenProvider


def sign(req: dict) -> dict:
    provider = HMACTokenProvider(secret=req["secret"])
    token = provider.issue(
        req["capability_id"],
        req["principal_id"],
        constraints=req.get("constraints") or {},
        ttl_seconds=req.get("ttl_seconds", 3600),
    )
    return token.to_dict()


def verify(req: dict) -> dict:
    provider = HMACTokenProvider(secret=req["secret"])
    token = CapabilityToken.from_dict(req["token"])
    try:
        provider.verify(
            token,
            expected_principal_id=req["principal_id"],
            expected_capability_id=req.get("capability_id", token.capability_id),
        )
    except AgentKernelError as exc:
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    return {"ok": True}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("sign", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    req = json.load(sys.stdin)
    out = sign(req) if argv[1] == "sign" else verify(req)
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
