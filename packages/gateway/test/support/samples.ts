/** The EICAR test file: every engine calls it malware, and it harms nothing. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** A marker the test rules call suspicious, so the default policy quarantines the file. */
export const HOLD_MARKER = 'BREAKWATER-TEST-HOLD-FOR-REVIEW';

/**
 * Two YARA rules for tests that must not depend on the shipped rule set: EICAR (infected:
 * the default policy blocks it) and the hold marker (suspicious: the default policy
 * quarantines it).
 */
export const TEST_RULES = `rule Eicar_Test_File {
  meta:
    severity = "critical"
  strings:
    $eicar = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
  condition:
    $eicar
}

rule Test_Hold_For_Review : suspicious {
  strings:
    $hold = "${HOLD_MARKER}"
  condition:
    $hold
}
`;

export const CLEAN_TEXT = 'quarterly figures: nothing to see here\n';
