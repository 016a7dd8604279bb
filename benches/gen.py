#!/usr/bin/env python3
"""Generates benchmark input for benches/throughput.sh (never committed: written to a temp dir).

    gen.py clean|dense SIZE_MB OUT

clean: source-like text (Rust, Python, Java, YAML, JSON, shell, Markdown, logs, base64 blobs),
       with the words a Dynatrace setup uses (dynatrace, api_token, ...) but no token.
dense: the same text with a synthetic token (random, all kinds, some base64) on every 10th line.
Deterministic (seeded), so runs are comparable.
"""
import base64
import random
import sys

UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
rnd = random.Random(42)


def word():
    return rnd.choice(["config", "request", "handler", "buffer", "value", "index", "client",
                       "result", "options", "metric", "span", "tenant", "entity", "event",
                       "timeout", "retry", "payload", "header", "session", "logger"])


def ident():
    return word() + rnd.choice(["", "_", ""]) + word().capitalize()


def hexs(n):
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def line():
    k = rnd.randrange(20)
    a, b = ident(), ident()
    if k == 0:
        return f"    let {a} = {b}.get(\"{word()}\").unwrap_or_default();"
    if k == 1:
        return f"def {a}(self, {b}: int = {rnd.randrange(1000)}) -> Optional[str]:"
    if k == 2:
        return f"    private final Map<String, {word().capitalize()}> {a} = new HashMap<>();"
    if k == 3:
        return f"  {a}: \"{word()}-{word()}-{rnd.randrange(100)}\""
    if k == 4:
        return f"  \"{a}\": {{\"{b}\": {rnd.randrange(10**6)}, \"enabled\": true}},"
    if k == 5:
        return f"export {a.upper()}=\"${{{b.upper()}:-/opt/{word()}}}\""
    if k == 6:
        return f"2024-05-{rnd.randrange(1,29):02d}T10:{rnd.randrange(60):02d}:00Z INFO [{word()}] {a} took {rnd.randrange(900)} ms"
    if k == 7:
        return f"// {word().capitalize()} the {word()} before the {word()} is sent to the {word()}."
    if k == 8:
        return f"    sha256 = \"{hexs(64)}\""
    if k == 9:
        return f"  id: {hexs(8)}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(12)}"
    if k == 10:
        return "  data: " + base64.b64encode(rnd.randbytes(60)).decode()
    if k == 11:
        return f"  dynatrace_api_token = var.{a}  # read from the {word()} vault"
    if k == 12:
        return f"| `{a}` | {word()} | {rnd.randrange(100)} |"
    if k == 13:
        return f"    if {a} > {rnd.randrange(64)} && {b}.is_empty() {{ return Err(Error::{word().capitalize()}); }}"
    if k == 14:
        return f"  DT_API_TOKEN: ${{{{ secrets.DT_API_TOKEN }}}}"
    if k == 15:
        return f"<{a} name=\"{b}\" value=\"{word()}\"/>"
    if k == 16:
        return f"import {{ {a}, {b} }} from './{word()}/{word()}';"
    if k == 17:
        return f"curl -s -H \"Authorization: Api-Token $DT_API_TOKEN\" https://{hexs(8)}.live.dynatrace.com/api/v2/{word()}s"
    if k == 18:
        return ""
    return f"        {a}.{b}({rnd.randrange(10)}, \"{word()} {word()}\");"


def token():
    kind = rnd.randrange(4)
    if kind == 0:
        p, n = "dt0c01", 24
    elif kind == 1:
        p, n = "dt0s01", 24
    elif kind == 2:
        p, n = "dt0g02", 8
    else:
        p, n = "dt0s16", 8
    return f"{p}.{''.join(rnd.choice(UP) for _ in range(n))}.{''.join(rnd.choice(UP) for _ in range(64))}"


def dense_line(i):
    if i % 10:
        return line()
    t = token()
    k = rnd.randrange(5)
    if k == 0:
        return f"DT_API_TOKEN={t}"
    if k == 1:
        return f"  apiToken: {base64.b64encode(t.encode()).decode()}"
    if k == 2:
        return f"curl -H \"Authorization: Api-Token {t}\" https://x.live.dynatrace.com/api"
    if k == 3:
        return f"  \"token\": \"{t}\","
    return f"export DT_TOKEN='{t}'"


def main():
    kind, mb, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # A unique block of ~8 MB, written repeatedly: generation stays quick, the scanner and
    # grep still read every byte.
    lines, size, i = [], 0, 0
    while size < 8 << 20:
        s = dense_line(i) if kind == "dense" else line()
        lines.append(s)
        size += len(s) + 1
        i += 1
    block = ("\n".join(lines) + "\n").encode()
    with open(out, "wb") as f:
        written = 0
        while written < mb << 20:
            f.write(block)
            written += len(block)


main()
