"""The fleet report (playbooks/audit.yml's index.html) as headless Chromium renders it, and parsers for the
DOM Chromium dumps. Shared by the fleet scenario's tests (molecule/fleet) and the demo's (tests/demo)."""

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("headless Chromium is needed to render the fleet report: apt-get install chromium")


def chromium_argv(profile, *args):
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            "--user-data-dir=" + profile] + list(args)


def render(report_dir):
    """The report in report_dir as Chromium parsed it (--dump-dom), plus a screenshot path (report.png there)."""
    index = os.path.join(report_dir, "index.html")
    profile = tempfile.mkdtemp(prefix="podsec-chromium-")
    try:
        dom = subprocess.run(chromium_argv(profile, "--dump-dom", "file://" + index), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True, universal_newlines=True, timeout=120).stdout
        shot = os.path.join(report_dir, "report.png")
        subprocess.run(chromium_argv(profile, "--window-size=1280,2400", "--screenshot=" + shot, "file://" + index),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return {"dom": dom, "screenshot": shot}


class FindingRows(HTMLParser):
    """The rows of the findings tables as Chromium rendered them: (host section, data-id, cell texts)."""

    def __init__(self, row_class="finding"):
        HTMLParser.__init__(self)
        self.row_class = row_class
        self.rows = []
        self.section = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs.get("id", "").replace("host-", "", 1)
        elif tag == "tr" and attrs.get("class") == self.row_class:
            self._row = (self.section, attrs.get("data-id"), [])
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row[2].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def finding_rows(dom, row_class="finding"):
    """The rows of class ``row_class``: the findings tables' (default) or the images tables' (image-finding)."""
    parser = FindingRows(row_class)
    parser.feed(dom)
    return parser.rows


class TextAndTags(HTMLParser):
    """Collects the visible text and the element names of a DOM dump."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.text = []
        self.tags = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parsed(dom):
    """(visible text with whitespace collapsed, element names) of a DOM dump."""
    parser = TextAndTags()
    parser.feed(dom)
    return " ".join(" ".join(parser.text).split()), parser.tags
