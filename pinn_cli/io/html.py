"""The pieces of pinn-fit's self-contained HTML pages (a run's report.html, a sweep's
report.html): escaping, tables, plots embedded as base64 PNG, and the page around them. A page
loads nothing from elsewhere and runs no script."""
import base64
import html
import io
from pathlib import Path

from pinn_cli.io.record import atomic_write

STYLE = ("body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em;"
         "line-height:1.35}h2{border-bottom:1px solid #ddd;padding-bottom:2px;margin-top:1.6em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
         "padding:2px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
         "th{background:#f0f0f0}code{background:#f4f4f4}img{max-width:100%;display:block;"
         "margin:.5em 0}pre{background:#f8f8f8;padding:.5em;overflow-x:auto;font-size:85%;line-height:1.2}")


def e(value) -> str:
    """`value` as HTML text: nothing in it can open a tag or an attribute."""
    return html.escape(str(value), quote=True)


def png(fig, alt="plot") -> str:
    """The matplotlib figure `fig` as an <img> holding its PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return (f'<img alt="{e(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(buffer.getvalue()).decode("ascii")}">')


def png_file(path, alt="plot", limit: int = 5_000_000) -> str:
    """A PNG file as an <img> holding it; "" for a file that is missing, larger than `limit`
    bytes or not a PNG (its bytes are only base64-encoded, never interpreted)."""
    try:
        data = Path(path).read_bytes() if Path(path).stat().st_size <= limit else b""
    except OSError:
        return ""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{e(alt)}" src="data:image/png;base64,{encoded}">'


def table(head, rows) -> str:
    """A table of escaped text; a cell given as Raw is written as it is (a link)."""
    cell = lambda tag, c: f"<{tag}>{c if isinstance(c, Raw) else e(c)}</{tag}>"
    return ("<table><tr>" + "".join(cell("th", c) for c in head) + "</tr>"
            + "".join("<tr>" + "".join(cell("td", c) for c in r) + "</tr>" for r in rows)
            + "</table>")


class Raw(str):
    """HTML made here from escaped parts, written into a table as it is."""


def link(href, text) -> Raw:
    return Raw(f'<a href="{e(href)}">{e(text)}</a>')


def num(v) -> str:
    return f"{v:.6g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def write_page(path, title, intro, sections) -> Path:
    """An HTML page at `path`: `title` (text) as its title and heading, `intro` (HTML) under
    it, then each (heading text, body HTML) of `sections`; written whole or not at all."""
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>{intro}"
            + "".join(f"<h2>{e(h)}</h2>{body}" for h, body in sections)
            + "</body></html>\n")
    path = Path(path)
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
