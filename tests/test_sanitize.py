"""clean_html(): what survives a broad set of real XSS payloads, and what formatting stays."""

from html.parser import HTMLParser

import pytest

from sanitize import ALLOWED_TAGS, body_from_form, clean_html, html_to_text, is_blank, text_to_html

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\" style=\"color:red\">x</a>",
    "<p onmouseover=alert(1) style=\"background:url(javascript:alert(1))\">x</p>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<form action=\"javascript:alert(1)\"><input type=submit></form>",
    "<button formaction=javascript:alert(1)>x</button>",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<body onload=alert(1)>",
    "<template><script>alert(1)</script></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<a href=\"https://ok.example\"><img src=x onerror=alert(1)></a>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<title><img src=x onerror=alert(1)></title>",
    "\"><script>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
]


class Inspector(HTMLParser):
    """Every tag and attribute in a fragment, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)


def inspect(fragment):
    parser = Inspector()
    parser.feed(fragment)
    parser.close()
    return parser


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_keeps_anything_that_can_run(payload):
    cleaned = clean_html(payload)
    found = inspect(cleaned)
    assert set(found.tags) <= ALLOWED_TAGS, cleaned
    for name, value in found.attributes:
        assert not name.startswith("on"), cleaned
        assert name in {"href", "rel", "title"}, cleaned
        if name == "href":  # the value as the browser sees it: absolute, of a safe scheme
            assert value.lower().startswith(("http://", "https://", "mailto:")), cleaned
    lowered = cleaned.lower()
    assert "<script" not in lowered and "javascript:" not in lowered


def test_formatting_of_the_editor_survives():
    source = ("<p><strong>negrito</strong> <em>itálico</em> <u>sublinhado</u> <s>tachado</s></p>"
              "<ul><li>um</li></ul><ol><li>dois</li></ol><blockquote>citação</blockquote>")
    assert clean_html(source) == source


def test_links_keep_their_address_and_get_a_safe_rel():
    assert clean_html('<a href="https://sefin.ro.gov.br/guia">guia</a>') == (
        '<a href="https://sefin.ro.gov.br/guia" rel="nofollow noopener noreferrer">guia</a>')
    assert 'href="mailto:a@exemplo.com.br"' in clean_html('<a href="mailto:a@exemplo.com.br">a</a>')


def test_styles_classes_and_words_junk_go_but_the_text_stays():
    word = ('<p class="MsoNormal" style="margin:0cm"><span style="font-family:Calibri">Texto '
            '<o:p></o:p></span></p><script>alert(1)</script>')
    assert clean_html(word) == "<p>Texto </p>"


def test_headings_and_tables_keep_their_lines_and_cells_apart():
    """Pasted from a web page or a spreadsheet without the editor: the text keeps its shape."""
    html = clean_html("antes<h2 class='x'>Título</h2>depois"
                      "<table><tr><th>Placa</th><th>RENAVAM</th></tr><tr><td>NBB0A00</td><td>01234567897</td></tr></table>")
    assert html.startswith("antes<p>Título</p>depois")
    assert html.endswith("<p>Placa RENAVAM</p><p>NBB0A00 01234567897</p>")
    # Cells whose end tag was left out (valid HTML) are kept apart too.
    assert clean_html("<table><tr><td>a<td>b</table>") == "<p>a b</p>"
    assert html_to_text("<strong>x</strong><p>y</p><ul><li>z</li></ul>") == "x\ny\n- z"
    assert html_to_text(html) == "antes\nTítulo\ndepois\nPlaca RENAVAM\nNBB0A00 01234567897"


def test_plain_text_is_escaped_and_keeps_its_paragraphs():
    html_out = text_to_html("Linha 1\nLinha 2\n\n<script>alert(1)</script> & <b>")
    assert html_out == "<p>Linha 1<br>Linha 2</p><p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;</p>"


def test_relative_and_odd_links_lose_the_link_but_keep_the_text():
    assert clean_html('<a href="/sair">clique</a>') == "clique"
    assert clean_html('<a href="javascript&colon;alert(1)">x</a>') == "x"
    assert clean_html("<a>sem endereço</a>") == "sem endereço"


def test_bare_addresses_in_text_become_safe_links():
    assert clean_html("<p>veja https://sefin.ro.gov.br</p>") == (
        '<p>veja <a href="https://sefin.ro.gov.br" rel="nofollow noopener noreferrer">https://sefin.ro.gov.br</a></p>')


def test_blank_messages_are_recognized():
    for blank in ("", "   ", "<p><br></p>", "<p>&nbsp;</p>", "<script>x</script>"):
        assert is_blank(body_from_form(blank, "html")), blank
    assert is_blank(body_from_form("  \n\n ", "texto"))
    assert not is_blank(body_from_form("<p>ok</p>", "html"))
