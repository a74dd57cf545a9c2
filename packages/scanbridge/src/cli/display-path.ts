// In a latin1 view of the bytes (one char per byte): a backslash, which starts every escape
// and so is escaped itself; a multi-byte UTF-8 sequence; or else a single byte of 0x80 and
// up, which is not UTF-8 there (overlong forms and surrogates are not valid UTF-8, so they
// fall to that last branch). Other ASCII does not match and stays as it is.
const TO_ESCAPE =
  /\\|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}|[\x80-\xff]/g;

/**
 * A path's bytes as text to show: valid UTF-8 as itself, every other byte as `\xHH` and a
 * backslash as `\\`, so no two names show alike: `report\xff.txt` (a byte 0xff),
 * `report\ufffd.txt` (a replacement character, which decoding would make of that byte too)
 * and `report\\xff.txt` (four ASCII characters) are three names on screen.
 */
export function displayPath(path: Buffer): string {
  return path.toString('latin1').replace(TO_ESCAPE, (sequence) => {
    if (sequence === '\\') return '\\\\';
    return sequence.length > 1
      ? Buffer.from(sequence, 'latin1').toString('utf8')
      : `\\x${sequence.charCodeAt(0).toString(16)}`;
  });
}

/** The path as a string Node encodes back to the same bytes, when it has one. */
export function stringPath(path: Buffer): string | undefined {
  const text = path.toString('utf8');
  return Buffer.from(text).equals(path) ? text : undefined;
}
