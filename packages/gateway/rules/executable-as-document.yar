// A program uploaded under the name of a document or an image: an invoice.pdf that is a Windows
// executable is the classic lure. The file's name comes from the caller (YaraScanner's external
// variable `extension`: lower case, no dot); the header from the bytes. A program under its own
// name (setup.exe, a Linux binary with no extension) is not flagged here: whether programs may be
// uploaded at all is the policy's business, not a sign of deceit.
rule Executable_As_Document {
  meta:
    description = "an executable (PE, ELF or Mach-O) uploaded under a document or image file name"
    severity = "high"
    reference = "https://attack.mitre.org/techniques/T1036/008/"
  condition:
    // Documents (Office with templates and shows, OpenDocument, Apple iWork, e-books, text
    // and data) and images. `extension` is read as Windows saves the name: `invoice.pdf. ` and
    // `invoice.pdf::$DATA` are a pdf. `invoice.pdf.exe` is an exe, so not flagged here.
    extension matches /^(pdf|docx?|docm|dot[xm]?|xlsx?|xls[mb]|xlt[xm]?|pptx?|pptm|pps[xm]?|pot[xm]?|odt|ods|odp|odg|pages|key|numbers|epub|rtf|txt|md|csv|json|xml|html?|png|jpe?g|jfif|gif|webp|svg|bmp|tiff?|ico|heic|heif|avif)$/ and
    (
      // PE: "MZ", and the e_lfanew offset at 0x3C points at the "PE\0\0" signature. A text
      // file that starts with "MZ" has no PE header there (or e_lfanew points past its end).
      (uint16(0) == 0x5A4D and uint32(uint32(0x3C)) == 0x00004550) or
      // ELF: the magic, then a valid class (32/64-bit) and data encoding (LE/BE).
      (uint32(0) == 0x464C457F and (uint8(4) == 1 or uint8(4) == 2) and
        (uint8(5) == 1 or uint8(5) == 2)) or
      // Mach-O, 32 and 64-bit, read as little-endian: FEEDFACE / FEEDFACF native, CEFAEDFE /
      // CFFAEDFE byte-swapped.
      uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
      uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE or
      // Universal (fat) binaries, always big-endian. A Java class file also starts CAFEBABE,
      // followed by its version (45 or more); a fat header is followed by its architecture
      // count, which file(1) takes to be at most 30.
      ((uint32be(0) == 0xCAFEBABE or uint32be(0) == 0xCAFEBABF) and
        uint32be(4) >= 1 and uint32be(4) <= 30)
    )
}
