"""Sanitizing of every HTML body we store: one `clean_html()`, and `text_to_html()` for
plain-text bodies. Only the output of these two ever reaches the database or a page.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache, partial

from markupsafe import escape

ALLOWED_TAGS = {
    "p", "br", "div", "strong", "b", "em", "i", "u", "s", "strike", "del",
    "ul", "ol", "li", "blockquote", "a", "pre", "code",
}
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
# Elements whose content is dropped with them, not kept as text.
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|template|iframe|object|embed|svg|math|noscript|xmp|title|head)\b.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)


_ABSOLUTE = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
# Blocks that are not kept keep their shape: a heading becomes a paragraph (not text run into
# the next), a table row a line of its own, cells apart ("cel1 cel2", not "cel1cel2").
_AS_PARAGRAPH = [
    (re.compile(r"<h[1-6]\b[^>]*>", re.IGNORECASE), "<p>"),
    (re.compile(r"</h[1-6]\s*>", re.IGNORECASE), "</p>"),
    (re.compile(r"<tr\b[^>]*>\s*(<t[dh]\b[^>]*>)?", re.IGNORECASE), "<p>"),  # as the editor's paste does
    (re.compile(r"</tr\s*>", re.IGNORECASE), "</p>"),
    (re.compile(r"<t[dh]\b[^>]*>", re.IGNORECASE), " "),  # between cells (an end tag may be left out)
    (re.compile(r"</t[dh]\s*>", re.IGNORECASE), ""),
]


def _link_attributes(attrs, new=False):
    """Keep only absolute http, https and mailto links; others lose the link, keep the text."""
    href = attrs.get((None, "href"), "")
    if not _ABSOLUTE.match(href):
        return None
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


@lru_cache(maxsize=1)
def _cleaner():
    # Built on first use: pages that only show messages never load bleach.
    import bleach
    from bleach.linkifier import LinkifyFilter

    return bleach.sanitizer.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags={"pre", "code"})],
    )


def clean_html(html: str) -> str:
    """Sanitized HTML: an allowlist of tags, links only to http, https and mailto."""
    html = _DROP_WITH_CONTENT.sub("", html or "")
    for pattern, replacement in _AS_PARAGRAPH:
        html = pattern.sub(replacement, html)
    return _cleaner().clean(html).strip()


def text_to_html(text: str) -> str:
    """Plain text as safe HTML: escaped, paragraphs and line breaks kept, links clickable."""
    paragraphs = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    html = "".join(
        "<p>" + str(escape(p)).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )
    return clean_html(html)


def html_to_text(html: str) -> str:
    """A readable plain-text version of sanitized HTML: for the text part of e-mails and
    for search. Links keep their address: "guia (https://...)"."""
    text = re.sub(r'(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>',
                  lambda m: m.group(2) if html_lib.unescape(m.group(1)) in m.group(2)
                  else f"{m.group(2)} ({m.group(1)})", html or "")
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    # A block starts a line ("antes<p>Título", "<strong>x</strong><p>y"): marked here, kept
    # below unless a line already ends there.
    text = re.sub(r"(?i)<(p|div|blockquote|pre|ul|ol)\b", "\x01<\\1", text)
    text = re.sub(r"(?i)</(p|div|li|blockquote|pre)>", "\n", text)
    text = re.sub(r"(?i)<li>", "- ", text)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", text)).replace("\xa0", " ")
    text = re.sub(r"(^|\n)\x01", r"\1", text).replace("\x01", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def body_from_form(text: str, fmt: str) -> str:
    """A message as typed in our forms: HTML from the editor, or plain text without it."""
    return clean_html(text) if fmt == "html" else text_to_html(text)


def is_blank(html: str) -> bool:
    """True when sanitized HTML shows no words (only tags, spaces or &nbsp;)."""
    text = re.sub(r"<[^>]+>", "", html or "").replace("&nbsp;", " ").replace("\xa0", " ")
    return not text.strip()
