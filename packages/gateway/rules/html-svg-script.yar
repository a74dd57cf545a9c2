// An HTML page or SVG image that runs script when a browser opens it: a stored cross-site
// scripting vector wherever uploads are served back. Tagged `suspicious` (an HTML page with script
// is ordinary on its own): the tenant's policy decides.
//
// Every pattern looks only a few dozen bytes around what it found: a pattern with a long gap
// ("a tag's start, then up to 2 KiB, then on*=") costs its whole gap at each place its anchor
// occurs, and an upload made of nothing but the anchor held YARA-X for 18 s per MB.
rule Html_Svg_Script : suspicious {
  meta:
    description = "an HTML or SVG document with script (a script element, a javascript: URL or an on* event handler)"
    severity = "medium"
    reference = "https://cheatsheetseries.owasp.org/cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.html"
  strings:
    // The document, by how it starts: a UTF-8 byte order mark and whitespace allowed, then an
    // HTML doctype, the <html> or <svg> root element (also namespace-prefixed: <svg:svg>), or
    // an XML declaration with such a root element in the first 4 KiB (room for a doctype and
    // comments). Script in any other kind of file (a JavaScript source, a text file quoting
    // HTML) is not rendered by a browser as a page.
    $doctype = /^(\xEF\xBB\xBF)?\s*<!doctype\s{1,16}html[\s>]/ nocase
    $root = /^(\xEF\xBB\xBF)?\s*<(html|svg)[\s>\/]/ nocase
    $xml = /^(\xEF\xBB\xBF)?\s*<\?xml[\s?]/ nocase
    // Kept apart from the unprefixed ones: an optional prefix leaves "<" alone to anchor the
    // search, five times slower.
    $root_prefixed = /^(\xEF\xBB\xBF)?\s*<[a-z][a-z0-9]{0,15}:(html|svg)[\s>\/]/ nocase
    $inner_root = /<(html|svg)[\s>\/]/ nocase
    $inner_root_prefixed = /<[a-z][a-z0-9]{0,15}:(html|svg)[\s>\/]/ nocase
    // A script element, also namespace-prefixed as SVG allows (<svg:script>).
    $script = /<([a-z][a-z0-9]{0,15}:)?script[\s>\/]/ nocase
    // An attribute whose value is a javascript: URL (href, xlink:href, src, action, values, ...).
    $javascript_url = /[a-z]\s{0,16}=\s{0,16}["']?\s{0,16}javascript:/ nocase
    // An on* event handler after whitespace, `/` (<svg/onload=...>) or a closing quote
    // (<a href="x"onclick=...>); not after an opening one: value="online=yes" is no handler.
    $event_handler = /(\s|\/|[^=\s<>]["'])on[a-z]{2,30}\s{0,16}=/ nocase
  condition:
    (
      $doctype at 0 or $root at 0 or $root_prefixed at 0 or
      ($xml at 0 and ($inner_root in (0..4096) or $inner_root_prefixed in (0..4096)))
    ) and
    ($script or $javascript_url or $event_handler)
}
