import { describe, expect, it } from 'vitest';
import { inFlagTerms } from './flag-wording.js';

describe('inFlagTerms', () => {
  it("says the command line's words for the library's options", () => {
    expect(
      inFlagTerms(
        "Reading a.txt before scanning timed out after 60000 ms (the scan's time limit, scanTimeoutMs)",
      ),
    ).toBe(
      "Reading a.txt before scanning timed out after 60000 ms (the scan's time limit, the command line's per-scan limit)",
    );
    expect(
      inFlagTerms('virustotal: option "baseUrl" must not carry credentials, a query or a fragment'),
    ).toBe('virustotal: --virustotal-url must not carry credentials, a query or a fragment');
    expect(inFlagTerms('over maxFileSize (100 bytes)')).toBe('over --max-file-size (100 bytes)');
  });
});
