"""TOML parity fixtures: what Python 3.11 tomllib (the reference's loader) returns.

Run: /tmp/refvenv/bin/python Tests/Fixtures/policy/gen_toml_fixtures.py
Valid documents record tomllib's result (as JSON, order kept); invalid ones record only
that tomllib rejects them.
"""
import json, os, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = '''
# capgate policy
default = "deny"

[[rules]]
name = "reads-ok"
action = "allow"
[rules.match]
safety_class = ["READ"]
sensitivity = ["NONE"]

[[rules]]
name = "eu-support"
action = "allow"
constraints = { max_rows = 20, allowed_fields = ["id", "status"] }
  [rules.match]
  roles = ["support"]
  intent = ["customer_lookup"]
  scope = { region = "eu", team = "*" }
  attributes.tier = "gold"
  attributes.tenant = "*"
  min_justification = 10

[[rules]]
name = "no-secrets"
action = "deny"
reason = "secrets are off-limits"
match.sensitivity = ["SECRETS"]
'''
valid = [
    POLICY,
    'a = 1\nb = -0\nc = +17\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1101\nh = 9223372036854775807\n',
    'f1 = 1.0\nf2 = -3.5e-2\nf3 = 6.626e-34\nf4 = 1e06\nf5 = 224_617.445_991\nf8 = 5E+22\nf9 = -0.0\n',
    's1 = "tab\\tnl\\nq\\"bs\\\\u\\u00e9U\\U0001F600"\ns2 = \'C:\\Users\\x\'\ns3 = """\nline1\n  line2 \\\n     cont"""\ns4 = \'\'\'\nraw \\n\n\'\'\'\ns5 = """a""b"""""\ns6 = ""\n"quoted key" = 1\n\'lit key\' = 2\n"" = 3\n',
    'arr = [ 1, 2, 3, ]\nnested = [[1, 2], ["a", \'b\'], [], [{x = 1}]]\nmulti = [\n  "x", # comment\n  "y"\n]\nmixed = [1, "a", 1.5, true, {}]\n',
    '[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b]\nz = 3\n',
    '[[fruit]]\nname = "apple"\n[fruit.physical]\ncolor = "red"\n[[fruit.variety]]\nname = "red delicious"\n[[fruit]]\nname = "banana"\n',
    'z = 1\ny.x.w = 2\ny.v = 3\nb = true\na = false\n[t]\n"k.with.dots" = 1\nk.sub = { q = 1, p.r = 2 }\n',
    '# only a comment\n\n   \n',
    'key = "value" # trailing\r\nother = 1\r\n',
]
invalid = [
    'a = 1\na = 2\n', '[t]\n[t]\n', 'a = 1\n[a]\n', 'a = {x = 1}\na.y = 2\n', '[[a]]\n[a]\n', 'a = [1]\n[[a]]\n',
    'a = 01\n', 'a = 1__0\n', 'a = _1\n', 'a = 1.\n', 'a = .5\n', 'a = +0x10\n',
    'a = "unterminated\n', 'a = "bad \\q escape"\n', "a = 'multi\nline'\n", 'a = {x = 1,}\n', 'a = {x = 1\n}\n',
    'a = 1 b = 2\n', '= 1\n', 'a.b = 1\n[a.b]\n', 'a = tru\n',
    '[a\nb = 1\n', 'a = [1 2]\n', 'a = "\\uD800"\n', '[a]\nb = 1\n[a.b]\n',
]
out = {"valid": [], "invalid": []}
for doc in valid:
    out["valid"].append({"toml": doc, "json": tomllib.loads(doc)})
for doc in invalid:
    try:
        tomllib.loads(doc)
        raise SystemExit(f"tomllib accepted {doc!r}")
    except tomllib.TOMLDecodeError as e:
        out["invalid"].append({"toml": doc, "tomllib_error": str(e)})
    except ValueError as e:  # int too large etc.
        out["invalid"].append({"toml": doc, "tomllib_error": str(e)})
with open(os.path.join(HERE, "toml_cases.json"), "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
print(len(out["valid"]), len(out["invalid"]))
