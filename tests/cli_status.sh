#!/bin/sh
# cli_status.sh - the server's status page (GET /) as a browser shows it:
# one self-contained HTML page (inline SVG, no script, nothing fetched) with
# every model's state, fingerprint, load waterfall and section residency,
# and the traffic; then headless Chromium renders it and the screenshot must
# hold the drawn bars in their exact colours.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
T="$TE_TESTDATA/tiny-mean.temb"
I8="$TE_TESTDATA/minilm-mean-int8.temb"

start_server -m "$T" -m "mini=$I8" || { fail "server starts"; finish; }
for _ in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
for i in 1 2 3 4 5; do
    post "an embedding request ($i)" 200 /embed '{"model": "mini", "inputs": "status page traffic"}'
done
req "GET / is the status page" 200 "$BASE/"
cp "$WORK/body" "$WORK/status.html"
check "it is HTML" sh -c "curl -s -o /dev/null -w '%{content_type}' '$BASE/' | grep -q '^text/html'"
"$TE_BIN" info --json "$T" > "$WORK/t.json"
"$TE_BIN" info --json "$I8" > "$WORK/i8.json"
check "every model with its state, fingerprint and pictures; no script, nothing external" python3 - \
    "$WORK/status.html" "$WORK/t.json" "$WORK/i8.json" <<'PY'
import json, re, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.external = [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v and (v.startswith("//") or re.match(r"^[a-z]+:", v)):
                self.external.append((tag, k, v))
    def handle_data(self, d):
        self.text.append(d)

html = open(sys.argv[1]).read()
p = Page()
p.feed(html)
text = " ".join(p.text)
assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags, p.tags
assert not p.external, p.external
for name, info in (("tiny-mean", sys.argv[2]), ("mini", sys.argv[3])):
    fp = json.load(open(info))["fingerprint"]
    assert name in text and fp in text, (name, fp)
assert text.count("ready") >= 2
# per model a load waterfall and residency bars; two sparklines for the traffic
assert p.tags.count("svg") == 2 * 2 + 2, p.tags.count("svg")
m = re.search(r"(\d+) requests since start", text)
assert m and int(m.group(1)) >= 5, m
assert "5 texts" in text and "warmup" in html
PY
req "HEAD / answers" 200 -I "$BASE/"
curl -s "$BASE/models" > "$WORK/models1.json"
for i in 1 2 3; do curl -s -o /dev/null "$BASE/"; done
curl -s "$BASE/models" > "$WORK/models2.json"
check "looking at the page counts no call and loads nothing" python3 - "$WORK/models1.json" "$WORK/models2.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
calls = lambda d: {m["name"]: (m["calls"], m["loads"]) for m in (d["models"] if isinstance(d, dict) else d)}
assert calls(a) == calls(b), (calls(a), calls(b))
PY
stop_server "the server stops cleanly"

start_server -m "$T" --api-key sekret || { fail "server with a key starts"; finish; }
req "with --api-key, GET / needs the key" 401 "$BASE/"
req "... and shows the page with it" 200 -H "Authorization: Bearer sekret" "$BASE/"
stop_server "the keyed server stops cleanly"

# The page as Chromium draws it: the layer residency bars (#1f77b4) and the
# warmup segments (#e15759) are solid fills, so their exact colour must
# cover at least a bar's area of the screenshot.
start_server -m "$T" -m "mini=$I8" || { fail "server starts again"; finish; }
for _ in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
CHROMIUM=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROMIUM" ]; then
    fail "headless Chromium is installed (make deps installs it)"
else
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --window-size=1400,900 \
        --user-data-dir="$WORK/chromium" --screenshot="$WORK/status.png" "$BASE/" > "$WORK/chromium.log" 2>&1
    check "Chromium took a screenshot of the page" test -s "$WORK/status.png"
    python3 tests/png_colors.py "$WORK/status.png" 1f77b4 e15759 > "$WORK/colors" 2>&1
    check "the screenshot shows the residency bars and the load waterfalls" python3 - "$WORK/colors" <<'PY'
import sys
n = dict(l.split() for l in open(sys.argv[1]) if not l.startswith("size"))
print("  pixels: layers bars %s, warmup segments %s" % (n["1f77b4"], n["e15759"]))
assert int(n["1f77b4"]) >= 2 * 16 * 150  # two full layer bars (16 px tall, 160 px at 100%)
assert int(n["e15759"]) >= 2 * 16 * 20
PY
fi
stop_server "the server stops cleanly after the screenshot"
finish
