#!/usr/bin/env bash
# Builds the book and checks it as a reader gets it: every page opened in
# headless Chromium, with a screenshot of each, and the build failing on
# a broken link, a missing image or chart, or an unexpanded include.
#
#   scripts/book-check.sh [SCREENSHOT_DIR]    (default: target/book-check)
#
# Installs what it needs when missing: mdbook (cargo install), Chromium
# and Python 3 (Debian's packages, through apt-get). CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

shots="${1:-target/book-check}"
fail() { printf 'BOOK CHECK FAILED: %s\n' "$*" >&2; exit 1; }

install_deb() {
  command -v apt-get >/dev/null 2>&1 || fail "cannot install $* (no apt-get): install it by hand"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v mdbook >/dev/null 2>&1 || cargo install mdbook --locked
command -v python3 >/dev/null 2>&1 || install_deb python3
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  install_deb chromium
  browser="$(command -v chromium)" || fail "chromium did not install"
fi

echo "==> mdbook build book"
log="$(mdbook build book 2>&1)" || { printf '%s\n' "$log"; fail "mdbook build failed"; }
# mdbook reports a broken {{#include}} as an error and still builds.
if printf '%s\n' "$log" | grep -qiE 'error|unable to|failed'; then
  printf '%s\n' "$log"
  fail "mdbook reported an error (a broken {{#include}}?)"
fi

echo "==> links, images and includes of every page"
python3 - book/build <<'PY'
"""Every relative link and image of the built book must resolve: the file
exists (an image is not empty), and a #fragment names an id on its page."""
import html.parser, os, sys, urllib.parse

root = sys.argv[1]
SKIP = {"print.html", "404.html", "toc.html"}

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images = set(), [], []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])

def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    page.feed(text)
    return page, text

pages = sorted(
    os.path.relpath(os.path.join(d, f), root)
    for d, _, files in os.walk(root) for f in files
    if f.endswith(".html") and f not in SKIP and "/results/" not in os.path.join(d, f)
)
parsed = {p: parse(os.path.join(root, p)) for p in pages}
problems = []
for name, (page, text) in parsed.items():
    if "{{#include" in text or "{{#rustdoc_include" in text:
        problems.append(f"{name}: an include was left unexpanded")
    for src in page.images:
        if urllib.parse.urlparse(src).scheme:
            continue
        target = os.path.normpath(os.path.join(root, os.path.dirname(name), urllib.parse.unquote(src)))
        if not os.path.isfile(target) or os.path.getsize(target) == 0:
            problems.append(f"{name}: image {src} is missing or empty")
    for href in page.links:
        url = urllib.parse.urlparse(href)
        if url.scheme or href.startswith("mailto:"):
            continue
        target = name if not url.path else os.path.normpath(
            os.path.join(os.path.dirname(name), urllib.parse.unquote(url.path)))
        full = os.path.join(root, target)
        if not os.path.exists(full):
            problems.append(f"{name}: link {href} leads nowhere")
            continue
        if url.fragment and target.endswith(".html"):
            ids = parsed[target][0].ids if target in parsed else parse(full)[0].ids
            if url.fragment not in ids:
                problems.append(f"{name}: link {href}: no #{url.fragment} on {target}")
for problem in problems:
    print(problem)
print(f"{len(pages)} pages checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
PY

echo "==> every page in Chromium, a screenshot each, to $shots"
rm -rf "$shots"
mkdir -p "$shots"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
count=0
while IFS= read -r page; do
  shot="$shots/$(printf '%s' "${page%.html}" | tr '/' '_').png"
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2400 \
    --screenshot="$shot" "file://$PWD/book/build/$page" >/dev/null 2>&1 || true
  [ -s "$shot" ] || fail "Chromium could not render $page"
  count=$((count + 1))
done < <(cd book/build && find . -name '*.html' ! -name print.html ! -name 404.html ! -name 'toc*.html' \
           ! -path './results/*' | sed 's|^\./||' | sort)
echo "$count pages rendered; screenshots in $shots"

echo "==> every chart's text, as shown at 1280 px, is at least 12 px"
# The browser says how wide each chart is drawn on its page; the SVG
# says the size of its smallest text at its own width. A chart scaled
# down to fit the column scales its text down with it.
python3 - book/build "$browser" "$profile" <<'PY'
import json, os, re, subprocess, sys, urllib.parse

root, browser, profile = sys.argv[1:4]
SMALLEST_PX = 12.0
MEASURE = """<script>
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('img')]
    .filter(img => img.getAttribute('src').endsWith('.svg'))
    .map(img => [img.getAttribute('src'), img.getBoundingClientRect().width])
    .filter(([, width]) => width > 0);  // the enlarged copy, hidden until clicked
  const out = document.createElement('pre');
  out.id = 'chart-widths';
  out.textContent = JSON.stringify(charts);
  document.body.appendChild(out);
});
</script>"""

def shown_widths(page):
    """(src, width in px) of every SVG image of `page`, at 1280 px."""
    probe = page[:-len(".html")] + ".measure.html"
    with open(page, encoding="utf-8") as f:
        text = f.read()
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", MEASURE + "</body>"))
    try:
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--window-size=1280,2400",
             "--virtual-time-budget=5000", "--dump-dom", "file://" + os.path.abspath(probe)],
            capture_output=True, text=True, timeout=60).stdout
    finally:
        os.remove(probe)
    found = re.search(r'<pre id="chart-widths">(.*?)</pre>', dom, re.S)
    if not found:
        sys.exit(f"BOOK CHECK FAILED: could not measure the charts of {page}")
    return json.loads(found.group(1).replace("&quot;", '"'))

def smallest_text(svg_path):
    """The SVG's width and its smallest font size, in its own pixels."""
    with open(svg_path, encoding="utf-8") as f:
        svg = f.read()
    width = float(re.search(r'<svg[^>]*\swidth="([0-9.]+)"', svg).group(1))
    sizes = [float(s) for s in re.findall(r'font-size="([0-9.]+)"', svg)]
    return width, min(sizes, default=float("inf"))

problems, measured = [], 0
for folder, _, files in os.walk(root):
    for name in sorted(files):
        page = os.path.join(folder, name)
        if not name.endswith(".html") or name in ("print.html", "toc.html", "404.html"):
            continue
        with open(page, encoding="utf-8") as f:
            if ".svg" not in f.read():
                continue
        for src, shown in shown_widths(page):
            svg_path = os.path.normpath(os.path.join(folder, urllib.parse.unquote(src)))
            width, font = smallest_text(svg_path)
            px = font * shown / width
            measured += 1
            if px < SMALLEST_PX:
                problems.append(f"{os.path.relpath(page, root)}: {src}: text {px:.1f} px "
                                f"(font {font:.1f} at {width:.0f} px, shown {shown:.0f} px wide)")
for problem in problems:
    print(problem)
print(f"{measured} charts measured, {len(problems)} with text under {SMALLEST_PX:.0f} px")
sys.exit(1 if problems else 0)
PY
