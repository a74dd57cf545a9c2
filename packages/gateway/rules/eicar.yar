// The EICAR anti-virus test file, matched the way the EICAR specification defines it and anti-virus
// products detect it: the 68-byte string is the start of the file, optionally followed by
// whitespace (space, tab, CR, LF, Ctrl-Z), 128 bytes at most in all. The string somewhere inside a
// larger file (a README about EICAR, a log, this rule set) is not the test file, and a gateway that
// blocked those would teach its users that its verdicts are noise.
rule Eicar_Test_File {
  meta:
    description = "the EICAR anti-virus test file (harmless, used to check that scanning works)"
    severity = "high"
    reference = "https://www.eicar.org/download-anti-malware-testfile/"
  strings:
    // The backslash is escaped, so this file is not itself a copy of the test string.
    $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
  condition:
    $eicar at 0 and filesize <= 128 and
    // A fixed range, not 68..filesize: YARA-X warns about loops over a range that depends on the
    // input, and the size is already bounded above.
    for all i in (68..127) : (
      i >= filesize or
      uint8(i) == 0x20 or uint8(i) == 0x09 or uint8(i) == 0x0A or uint8(i) == 0x0D or
      uint8(i) == 0x1A
    )
}
