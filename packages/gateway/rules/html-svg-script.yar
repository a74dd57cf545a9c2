// An HTML page or SVG image that runs script when a browser opens it: a stored cross-site
// scripting vector wherever uploads are served back. Tagged `suspicious` (an HTML page with script
// is ordinary on its own): the tenant's policy decides.
rule Html_Svg_Script : suspicious {
  meta:
    description = "an HTML or SVG document with script (a script element, a javascript: URL or an on* event handler)"
    severity = "medium"
    reference = "https://cheatsheetseries.owasp.org/cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.html"
  strings:
    // The document, by how it starts: a UTF-8 byte order mark and whitespace allowed, then an
    // HTML doctype, an <html> or <svg> element, or an XML declaration followed (within 4 KiB:
    // room for a doctype and comments) by the root element. Script in any other kind of file (a
    // JavaScript source, a text file quoting HTML) is not rendered by a browser as a page.
    $document = /^(\xEF\xBB\xBF)?\s*(<!doctype\s+html|<html[\s>\/]|<svg[\s>\/]|<\?xml.{0,4096}<(svg|html)[\s>\/])/s nocase
    // A namespace-prefixed root (<svg:svg xmlns:svg="...">), kept apart: an optional prefix
    // before every root element would leave "<" alone to anchor the search, five times slower.
    $document_prefixed = /^(\xEF\xBB\xBF)?\s*(<\?xml.{0,4096})?<[a-z][a-z0-9]{0,30}:(svg|html)[\s>\/]/s nocase
    // A script element, also namespace-prefixed as SVG allows (<svg:script>).
    $script = /<([a-z][a-z0-9]{0,30}:)?script[\s>\/]/ nocase
    // An attribute, inside a tag, whose value is a javascript: URL (href, xlink:href, src,
    // action, formaction, ...).
    $javascript_url = /<[a-z][^<>]{0,2048}=\s*["']?\s*javascript:/ nocase
    // An on* event handler inside a tag, after whitespace, `/` (<svg/onload=...>) or a closing
    // quote (<a href="x"onclick=...>); not an opening one: value="online=yes" is no handler.
    $event_handler = /<[a-z][^<>]{0,2048}(\s|\/|[^=\s<>]["'])on[a-z]{2,30}\s*=/ nocase
  condition:
    ($document at 0 or $document_prefixed at 0) and
    ($script or $javascript_url or $event_handler)
}
