// An Office document that carries a VBA project (macros). A macro is not malware by itself (many
// businesses run on them), so the rule is tagged `suspicious`: the tenant's policy decides whether
// such a file is quarantined, reviewed or let through with a warning.
rule Office_Vba_Project : suspicious {
  meta:
    description = "an Office document with a VBA project (macros)"
    severity = "medium"
    reference = "https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-ovba/575462ba-bf67-4190-9fac-c275523c75fc"
  strings:
    // OOXML (docm, xlsm, pptm, xlsb, dotm, ...) is a zip. The part's name counts only in a zip
    // local file header: the signature, 22 bytes of version, flags, method, time, date, CRC and
    // sizes, the name's length (19, 17 or 18, little-endian), the extra field's length, then the
    // name. A document that merely mentions "vbaProject.bin" does not match. Part names are
    // case-insensitive in OOXML (ECMA-376 part 2), hence nocase.
    $ooxml = /PK\x03\x04.{22}(\x13\x00..word|\x11\x00..xl|\x12\x00..ppt)\/vbaProject\.bin/s nocase
    // Legacy OLE2 (doc, xls): a 128-byte directory entry whose name (UTF-16LE, NUL-terminated,
    // in a 64-byte field) is followed by the name's length in bytes and the entry type: the
    // storage "VBA" (length 8, type 1) or the stream "_VBA_PROJECT" (length 26, type 2). The
    // name as text elsewhere (a Word document about VBA) has no such entry around it.
    $ole_vba = { 56 00 42 00 41 00 00 00 [56] 08 00 01 }
    $ole_project = {
      5F 00 56 00 42 00 41 00 5F 00 50 00 52 00 4F 00 4A 00 45 00 43 00 54 00 00 00 [38] 1A 00 02
    }
  condition:
    $ooxml or
    (uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and ($ole_vba or $ole_project))
}
