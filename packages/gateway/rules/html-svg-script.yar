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
    // The document, by its name (below) or by how it starts: a UTF-8 byte order mark and
    // whitespace allowed, then an HTML or SVG doctype, the <html> or <svg> root element (also
    // namespace-prefixed: <svg:svg>), or what a browser renders as a page without one (<head>,
    // <body>, <meta>, <title>); or a comment or an XML declaration followed, in the first 64
    // KiB (room for a doctype, a licence, a generator's comments), by such a doctype or root.
    // Script in any other kind of file (a JavaScript source, a text file or XML data quoting
    // HTML) is not rendered by a browser as a page.
    $doctype = /^(\xEF\xBB\xBF)?\s*<!doctype\s{1,16}(html|svg)[\s>]/ nocase
    $root = /^(\xEF\xBB\xBF)?\s*<(html|svg|head|body|meta|title)[\s>\/]/ nocase
    $xml = /^(\xEF\xBB\xBF)?\s*<\?xml[\s?]/ nocase
    $comment = /^(\xEF\xBB\xBF)?\s*<!--/
    // Kept apart from the unprefixed ones: an optional prefix leaves "<" alone to anchor the
    // search, five times slower.
    $root_prefixed = /^(\xEF\xBB\xBF)?\s*<[a-z][a-z0-9]{0,15}:(html|svg)[\s>\/]/ nocase
    $inner_doctype = /<!doctype\s{1,16}(html|svg)[\s>]/ nocase
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
      // A browser renders these as a page or an image whatever their first bytes (svgz is
      // gzip: its script is not in the bytes scanned).
      extension matches /^(html?|xhtml|shtml|svg)$/ or
      $doctype at 0 or $root at 0 or $root_prefixed at 0 or
      (($xml at 0 or $comment at 0) and
        ($inner_doctype in (0..65536) or $inner_root in (0..65536) or
          $inner_root_prefixed in (0..65536)))
    ) and
    ($script or $javascript_url or $event_handler)
}
