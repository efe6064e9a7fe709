"""Differential corpus for the PCRE2 port: random strings over an alphabet of the
characters the eight patterns care about, with CPython 3.11 `_redact_string` outputs.
Run: /tmp/refvenv/bin/python tools/reference/redaction_fuzz.py > <fixture JSON>"""
import json, random
from weaver_kernel.firewall.redaction import _redact_string
alpha = list("0123456789      -.-./:@+()_=~eyJaApPiIkKbBrRsStTcCoOnNxz") + [
    "\u0661", "\u0665", "\uff11", "\u00a0", "\u3000", "\x1c", "\x1f", "\u180e", "\u0085", "\u2028",
    "\u0130", "\u0131", "\u017f", "\u212a", "\u00e9", "\u0301", "\t", "\n", "\r", "\U0001F600"]
words = ["Bearer ", "bearer\t", "api_key=", "apikey ", "api-token: ", "access_key ", "eyJ", "://", "@", "555-",
         "123-45-", "4111 ", "postgres://", "+1 ", "(555) "]
rnd = random.Random(20240)
cases = []
for _ in range(600):
    parts = []
    for _ in range(rnd.randint(0, 14)):
        parts.append(rnd.choice(words) if rnd.random() < 0.3 else "".join(rnd.choice(alpha) for _ in range(rnd.randint(1, 6))))
    s = "".join(parts)
    out, warns = _redact_string(s)
    cases.append([s, out, bool(warns)])
print(json.dumps(cases, ensure_ascii=True))
