// An Office document that carries a VBA project (macros). A macro is not malware by itself (many
// businesses run on them), so the rule is tagged `suspicious`: the tenant's policy decides whether
// such a file is quarantined, reviewed or let through with a warning. Not covered: PowerPoint
// 97-2003 (.ppt), which keeps its VBA project compressed inside the "PowerPoint Document" stream.
rule Office_Vba_Project : suspicious {
  meta:
    description = "an Office document with a VBA project (macros)"
    severity = "medium"
    reference = "https://learn.microsoft.com/en-us/openspecs/office_file_formats/ms-ovba/575462ba-bf67-4190-9fac-c275523c75fc"
  strings:
    // OOXML (docm, xlsm, pptm, xlsb, dotm, vsdm, ...) is a zip; the part is <folder>/vbaProject.bin
    // (word/, xl/, ppt/, visio/, or a producer's own), in any case (ECMA-376 part 2: part names
    // are case-insensitive). The name counts only in a zip local file header, checked in the
    // condition. A document that merely mentions "vbaProject.bin" has no such header.
    $part = "/vbaProject.bin" nocase
    // Legacy OLE2 (doc, xls): a storage "VBA" or a stream "_VBA_PROJECT" (UTF-16LE, any case,
    // as the compound file format compares names), checked in the condition to be the name of
    // a directory entry. The name as text elsewhere (a Word document about VBA) is not one.
    $ole_vba = "VBA" wide nocase
    $ole_project = "_VBA_PROJECT" wide nocase
  condition:
    // Fixed ranges (YARA-X warns of a loop over #part): the scanning process keeps at most
    // 1000 matches a pattern anyway.
    // A local file header (PK\3\4) 30 bytes before the name, whose name-length field (at 26)
    // is the length of a 1 to 32-character folder plus "/vbaProject.bin" (15).
    for any i in (1..1000) : (
      i <= #part and
      for any k in (1..32) : (
        uint32(@part[i] - k - 30) == 0x04034B50 and uint16(@part[i] - k - 4) == k + 15
      )
    ) or
    (
      uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and
      (
        // A 128-byte directory entry: the name NUL-terminated, its length in bytes (with the
        // NUL) at 64, its type at 66 (1 storage, 2 stream).
        for any i in (1..1000) : (
          i <= #ole_vba and uint16(@ole_vba[i] + 6) == 0 and
          uint16(@ole_vba[i] + 64) == 8 and uint8(@ole_vba[i] + 66) == 1
        ) or
        for any i in (1..1000) : (
          i <= #ole_project and uint16(@ole_project[i] + 24) == 0 and
          uint16(@ole_project[i] + 64) == 26 and uint8(@ole_project[i] + 66) == 2
        )
      )
    )
}
