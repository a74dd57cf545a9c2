import { describe, expect, it } from 'vitest';
import { jsonLinesLogger } from '../src/server/json-logger.js';

describe('the default logger', () => {
  it('writes one JSON line per entry in pino shape', () => {
    const lines: string[] = [];
    const logger = jsonLinesLogger((line) => lines.push(line));
    logger.info({ event: 'gateway_audit', subject: 'user:alice' }, 'scan ok');
    logger.warn({}, 'careful');
    logger.error({ code: 'X' }, 'failed');
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(
      true,
    );
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((entry) => entry.level)).toEqual([30, 40, 50]);
    expect(parsed[0]).toMatchObject({
      event: 'gateway_audit',
      subject: 'user:alice',
      msg: 'scan ok',
    });
    expect(parsed[0]?.time).toEqual(expect.any(Number));
  });

  it('keeps the line when a field cannot be written as JSON', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    jsonLinesLogger((line) => lines.push(line)).warn({ cyclic }, 'still said');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 40, msg: 'still said' });
  });
});
