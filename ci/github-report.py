"""Turns tokenguard's JSON report into what GitHub shows: an annotation per finding (in the
log and on the pull request's diff), a job summary (counts and a table of masked findings),
and the step outputs `findings` and `allowed`. Used by ci/github-action.sh.

    github-report.py REPORT.json SCOPE SUMMARY_FILE OUTPUT_FILE

Every value comes from the scanned repository (file names, authors, commit messages) and is
escaped for where it goes: workflow-command syntax in the log, HTML and Markdown in the
summary. The report holds masked tokens only.
"""

import json
import sys

MAX_ROWS = 200


def command_data(text):
    """A workflow command's message: %, CR and LF written as GitHub reads them back."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text):
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def md(text):
    """Text for a Markdown table cell: no markup, no link, no cell break, one line."""
    out = []
    for c in str(text):
        if c in "&<>\"'":
            out.append("&#%d;" % ord(c))
        elif c in "|\\`*_[]()#!~":
            out.append("\\" + c)
        elif c in "\r\n\t" or ord(c) < 32 or 0x7F <= ord(c) < 0xA0:
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def code(text):
    """Monospace text (Markdown still applies inside <code>: escaped as any cell)."""
    return "<code>%s</code>" % md(text)


def main(report, scope, summary_path, output_path):
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    findings, allowed = data["findings"], data["allowed"]

    for f in findings:
        where = "file=%s,line=%d" % (command_property(f["file"]), max(f["line"], 1))
        if f.get("offset") is None:
            where += ",col=%d" % f["column"]
        message = "%s: %s" % (f["description"], f["masked"])
        if f.get("commit"):
            message += " (added in commit %s by %s)" % (f["commit"][:12], f.get("author", ""))
        print("::error %s,title=%s::%s" % (
            where, command_property("tokenguard: " + f["rule"]), command_data(message)))

    lines = ["## tokenguard", ""]
    scanned = " (%s)" % md(scope) if scope else ""
    extra = " (%d allowed)" % len(allowed) if allowed else ""
    if findings:
        lines.append(":x: **%d token(s) found** in the commits scanned%s%s. Rotate each token "
                     "listed, then remove it from the history." % (len(findings), scanned, extra))
        lines.append("")
        by_rule = {}
        for f in findings:
            by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
        lines += ["| Rule | Findings |", "| --- | ---: |"]
        lines += ["| %s | %d |" % (md(r), n) for r, n in sorted(by_rule.items())]
        lines.append("")
        has_commits = any(f.get("commit") for f in findings)
        head = ["File", "Line", "Token", "Rule"]
        if has_commits:
            head += ["Commit", "Author", "Date", "Message"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + " --- |" * len(head))
        for f in findings[:MAX_ROWS]:
            place = "byte %d" % f["offset"] if f.get("offset") is not None else "%d:%d" % (
                f["line"], f["column"])
            row = [md(f["file"]), place, code(f["masked"]), md(f["rule"])]
            if has_commits:
                row += [code(f.get("commit", "")[:12]), md(f.get("author", "")),
                        md(f.get("date", "")[:10]), md(f.get("subject", ""))]
            lines.append("| " + " | ".join(row) + " |")
        if len(findings) > MAX_ROWS:
            lines.append("")
            lines.append("The first %d are listed; the SARIF file and the log have all %d." % (
                MAX_ROWS, len(findings)))
    else:
        lines.append(":white_check_mark: No tokens in the commits scanned%s%s." % (scanned, extra))
    lines.append("")
    with open(summary_path, "a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    with open(output_path, "a", encoding="utf-8") as out:
        out.write("findings=%d\nallowed=%d\n" % (len(findings), len(allowed)))


if __name__ == "__main__":
    main(*sys.argv[1:5])
