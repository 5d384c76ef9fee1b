"""The demo's closing summary (demo/run.sh): per host, what playbooks/site.yml applied, the second run's
changes, the image pulls before and after hardening, the legacy container's findings before and after, and
where both fleet reports are. Exits 1, naming what is wrong, when the demo did not show what it claims.

    python3 demo/summary.py OUTPUT_DIR SECONDS
"""

import json
import os
import re
import sys

LEGACY = "demo-web"
UNSIGNED = "localhost:5000/trusted/unsigned:latest"
SIGNED = (("GPG-signed", "gpg-run", "localhost:5000/trusted/gpg:latest"),
          ("sigstore-signed", "sigstore-run", "localhost:5000/trusted/sigstore:latest"))


def read(path):
    with open(path) as handle:
        return handle.read()


def debug_messages(log, task):
    """{host: msg} of a debug task in a default-callback log (results are printed as JSON)."""
    messages = {}
    lines = log.splitlines()
    inside = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("TASK ["):
            inside = line.startswith("TASK [%s]" % task)
        match = re.match(r"^ok: \[(.+?)\] => \{$", line) if inside else None
        if match:
            body = ["{"]
            while lines[index] != "}":
                index += 1
                body.append(lines[index])
            messages[match.group(1)] = json.loads("\n".join(body)).get("msg")
        index += 1
    return messages


def recap(log):
    """{host: {ok: n, changed: n, ...}} from the PLAY RECAP of a log."""
    counts = {}
    for line in log.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match:
            counts[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return counts


def check(out, host, name):
    base = os.path.join(out, "checks", host, name)
    return int(read(base + ".rc").strip()), read(base + ".out").strip()


def posture(out, which, host):
    return json.loads(read(os.path.join(out, "report-" + which, "hosts", host + ".json")))["posture"]


def legacy_findings(state):
    return [f for f in state["findings"] if f["target"] == LEGACY and f["severity"] != "info"]


def first_sentence(text):
    text = " ".join(text.split())
    return text.split(". ", 1)[0].rstrip(".") + "."


def summarise(out, host, short, first, second, problems):
    lines = [host]
    applied = first.get(host) or []
    lines.append("  applied (first run of playbooks/site.yml):")
    # The controls' lines; the posture lines of site.yml's summary are shown below, before and after.
    lines.extend("    " + item for item in applied if item.startswith(("trust policy:", "audit watches:", "hardened containers:")))
    if any("audit watches: skipped" in item for item in applied):
        lines.append("    (kernel audit needs a real kernel: molecule/audit shows the audit role on this machine's)")
    if not applied:
        problems.append("%s: no summary in the first run's log" % host)
    changed = second.get(host, {}).get("changed")
    lines.append("  second run: changed=%s" % changed)
    if changed != 0:
        problems.append("%s: the second run changed %s tasks" % (host, changed))

    rc, text = check(out, short, "before-unsigned-pull")
    lines.append("  before hardening, unsigned pull of %s: %s" % (
        UNSIGNED, "accepted (no trust policy yet)" if rc == 0 else "failed: " + text))
    if rc != 0:
        problems.append("%s: the unsigned pull failed before hardening (the control): %s" % (host, text))
    for label, name, image in SIGNED:
        rc, text = check(out, short, name)
        verdict = "pulled and ran (id -u: %s)" % text.split("\n")[-1] if rc == 0 else "FAILED: " + text
        lines.append("  after, %s %s: %s" % (label, image, verdict))
        if rc != 0:
            problems.append("%s: the %s image did not run: %s" % (host, label, text))
    rc, text = check(out, short, "unsigned-pull")
    refusal = [line for line in text.splitlines() if line.startswith("Error")] or [text]
    verdict = "refused: " + refusal[-1] if rc != 0 else "ACCEPTED"
    lines.append("  after, unsigned pull of %s: %s" % (UNSIGNED, verdict))
    if rc == 0 or "rejected" not in text:
        problems.append("%s: the unsigned pull was not refused by the policy: %s" % (host, text))

    before, after = posture(out, "before", host), posture(out, "after", host)
    found = legacy_findings(before)
    lines.append("  legacy container %s before (started by hand): %d findings" % (LEGACY, len(found)))
    for item in found:
        lines.append("    %-8s %s. Fix: %s" % (item["severity"], item["title"], first_sentence(item["fix"])))
    if not found:
        problems.append("%s: no findings for the legacy container before hardening" % host)
    remaining = legacy_findings(after)
    managed = [c["managed"] for c in after["containers"] if c["name"] == LEGACY]
    lines.append("  %s after (replaced, managed by %s): %s" % (
        LEGACY, managed[0] if managed else "nothing: not running",
        "%d findings" % len(remaining) if remaining else "no findings"))
    if remaining or managed != ["podsec.hardening"]:
        problems.append("%s: %s after hardening: managed by %s, findings %s" % (
            host, LEGACY, managed, [f["id"] for f in remaining]))
    lines.append("  posture score: %s/100 before, %s/100 after" % (before["score"], after["score"]))
    return lines


def main(argv):
    out, seconds = argv[1], argv[2]
    logs = os.path.join(out, "logs")
    first = debug_messages(read(os.path.join(logs, "site-first-run.log")), "Summarise what was hardened")
    second = recap(read(os.path.join(logs, "site-second-run.log")))
    problems = []
    for entry in json.loads(read(os.path.join(out, "hosts.json"))):
        print("\n".join(summarise(out, entry["name"], entry["hostname"], first, second, problems)))
    print("fleet reports (HTML, per-host JSON under hosts/):")
    for which in ("before", "after"):
        print("  %-7s %s" % (which + ":", os.path.join(out, "report-" + which, "index.html")))
    print("logs: %s" % logs)
    for problem in problems:
        print("demo FAILED: " + problem)
    print("demo %s in %s s" % ("failed" if problems else "finished", seconds))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
