import { createHash } from 'node:crypto';
import { ManualClock } from '@breakwater/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytes, EICAR, EICAR_SHA256 } from '../test/helpers.js';
import { FallbackBehavior, withCircuitBreaker } from './breaker-scanner.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';
import { PolicyAction } from './policy/action.js';
import { Condition } from './policy/condition.js';
import { PolicyEngine } from './policy/engine.js';
import { defaultPolicy } from './policy/presets.js';
import { PolicyRule } from './policy/rule.js';
import type { EngineScanEvent, ScanDecisionEvent } from './scan-stats.js';
import { LISTENER_ERROR_WARNING } from './scan-stats.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const clean = (name: string) => MockScanner.clean().withName(name);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (content: string, name = 'notes.txt') => FileInput.fromBytes(bytes(content), name);

interface Logged {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(logged: Logged[]) {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    logged.push({ level, fields, message });
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

/** A clean engine behind a breaker forced open that fails open; its warnings go to `logged`. */
function failingOpen(name: string, logged: Logged[]) {
  const guarded = withCircuitBreaker(clean(name), {
    fallback: FallbackBehavior.failOpen(),
    logger: recordingLogger(logged),
  });
  guarded.breaker.forceOpen();
  return guarded;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ScanManager.stats: engine runs', () => {
  it('lists every engine from the start and counts its runs by outcome', async () => {
    const manager = ScanManager.builder()
      .addScanner(
        clean('a')
          .withResponse(sha256('odd'), { type: 'suspicious', reason: 'packed', confidence: 0.7 })
          .withResponse(sha256('broken'), { type: 'error', recoverable: false }),
      )
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('b'))
      // Every second scan fails with connection_failed.
      .addScanner(clean('c').withFailRate(0.5))
      .build();
    expect(manager.stats().engines).toEqual({ a: {}, b: {}, c: {} });

    await manager.scan(file('plain'));
    await manager.scan(file('odd'));
    await manager.scan(file('broken'));
    await manager.scan(file('plain again'));

    expect(manager.stats().engines).toEqual({
      a: { clean: 2, suspicious: 1, error: 1 },
      b: { infected: 4 },
      c: { clean: 2, connection_failed: 2 },
    });
    expect(manager.stats().scans).toEqual({ completed: 4, failed: 0 });
  });

  it("counts an open breaker's refusals as circuit_open", async () => {
    const down = clean('down');
    down.makeUnhealthy();
    const guarded = withCircuitBreaker(down, { failureThreshold: 1 });
    const manager = ScanManager.builder().addScanner(clean('up')).addScanner(guarded).build();

    await manager.scan(file('first'));
    expect(guarded.breaker.state().name).toBe('open');
    const report = await manager.scan(file('second'));
    await manager.scan(file('third'));

    expect(report.failures.map((f) => f.error.kind)).toEqual(['circuit_open']);
    expect(down.scanCount).toBe(1);
    expect(manager.stats().engines).toEqual({
      up: { clean: 3 },
      down: { engine_unavailable: 1, circuit_open: 2 },
    });
  });

  it('counts a timeout under the engine that timed out', async () => {
    const clock = new ManualClock(0);
    const manager = ScanManager.builder()
      .addScanner(clean('fast').withClock(clock))
      .addScanner(clean('slow').withLatency(5_000).withClock(clock))
      .withConfig({ clock, scanTimeoutMs: 1_000 })
      .build();
    const scan = manager.scan(file('data'));
    for (let i = 0; i < 5; i++) await tick();
    clock.advance(1_000);
    const report = await scan;
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([['slow', 'timeout']]);
    expect(manager.stats().engines).toEqual({ fast: { clean: 1 }, slow: { timeout: 1 } });
  });

  it("counts a breaker's fail-open stand-in as fail_open in `all` mode", async () => {
    const logged: Logged[] = [];
    const guarded = failingOpen('clamav', logged);
    const manager = ScanManager.builder().addScanner(guarded).addScanner(clean('other')).build();
    const report = await manager.scan(file('data'));
    expect(report.results.map((r) => [r.engine, r.source])).toEqual([
      ['clamav-failopen', 'failopen'],
      ['other', undefined],
    ]);
    expect(manager.stats().engines).toEqual({ clamav: { fail_open: 1 }, other: { clean: 1 } });
    expect(logged.map((l) => [l.level, l.message])).toContainEqual([
      'warn',
      'circuit breaker "clamav" is failing open: callers get synthetic results',
    ]);
  });

  it('counts in `first-success` mode what the report shows: a bypassed stand-in is circuit_open', async () => {
    const guarded = failingOpen('primary', []);
    const third = clean('third');
    const manager = ScanManager.builder()
      .addScanner(guarded)
      .addScanner(MockScanner.infected(['X']).withName('secondary'))
      .addScanner(third)
      .withConfig({ mode: 'first-success' })
      .build();
    const report = await manager.scan(file('data'));
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['primary', 'circuit_open'],
    ]);
    // The engine never asked is not counted at all.
    expect(third.scanCount).toBe(0);
    expect(manager.stats().engines).toEqual({
      primary: { circuit_open: 1 },
      secondary: { infected: 1 },
      third: {},
    });
  });

  it('counts a stand-in as fail_open in `first-success` mode when nothing else answered', async () => {
    const guarded = failingOpen('primary', []);
    const down = clean('secondary');
    down.makeUnhealthy();
    const manager = ScanManager.builder()
      .addScanner(guarded)
      .addScanner(down)
      .withConfig({ mode: 'first-success' })
      .build();
    const report = await manager.scan(file('data'));
    expect(report.results.map((r) => r.source)).toEqual(['failopen']);
    expect(manager.stats().engines).toEqual({
      primary: { fail_open: 1 },
      secondary: { engine_unavailable: 1 },
    });
  });

  it('counts the runs of a cancelled scan as they ended, and the scan as failed', async () => {
    const clock = new ManualClock(0);
    const manager = ScanManager.builder()
      .addScanner(clean('slow').withLatency(5_000).withClock(clock))
      .withConfig({ clock })
      .build();
    const controller = new AbortController();
    const scan = manager.scan(file('data'), {}, { signal: controller.signal });
    for (let i = 0; i < 5; i++) await tick();
    controller.abort();
    await expect(scan).rejects.toMatchObject({ kind: 'cancelled' });
    expect(manager.stats()).toMatchObject({
      engines: { slow: { cancelled: 1 } },
      bytesScanned: 0,
      scans: { completed: 0, failed: 1 },
    });
  });
});

describe('ScanManager.stats: decisions, bytes and scans', () => {
  it('counts decisions by action, all five from 0', async () => {
    const policy = defaultPolicy().addRule(
      new PolicyRule('warn-acme', PolicyAction.allowWithWarning('acme files are not archived'))
        .withCondition(Condition.tenantEquals('acme'))
        .withPriority(200),
    );
    const manager = ScanManager.builder()
      .addScanner(
        clean('engine')
          .withResponse(EICAR_SHA256, {
            type: 'infected',
            threats: [{ name: 'Eicar-Test-Signature', severity: 'high', engine: 'engine' }],
          })
          .withResponse(sha256('odd'), { type: 'suspicious', reason: 'packed', confidence: 0.7 })
          .withResponse(sha256('broken'), { type: 'error', recoverable: true }),
      )
      .withPolicyEngine(policy)
      .build();
    expect(manager.stats().decisions).toEqual({
      allow: 0,
      allow_with_warning: 0,
      quarantine: 0,
      block: 0,
      require_review: 0,
    });
    const heard: ScanDecisionEvent[] = [];
    manager.on('decision', (event) => heard.push(event));

    await manager.scanWithPolicy(file('plain'));
    await manager.scanWithPolicy(file('plain'));
    await manager.scanWithPolicy(file('plain'), { tenantId: 'acme' });
    await manager.scanWithPolicy(file('odd'));
    await manager.scanWithPolicy(file(EICAR, 'eicar.com'));
    await manager.scanWithPolicy(file('broken'));
    // A plain scan decides nothing.
    await manager.scan(file('plain'));

    expect(manager.stats().decisions).toEqual({
      allow: 2,
      allow_with_warning: 1,
      quarantine: 1,
      block: 1,
      require_review: 1,
    });
    expect(heard.map((e) => e.action)).toEqual([
      'allow',
      'allow',
      'allow_with_warning',
      'quarantine',
      'block',
      'require_review',
    ]);
    expect(heard[0]).toEqual({ action: 'allow' });
  });

  it("counts each file's bytes once however many engines read it, and only for completed scans", async () => {
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .addScanner(clean('b'))
      .addScanner(clean('c'))
      .withConfig({ maxFileSize: 100 })
      .build();
    await manager.scan(file(EICAR, 'eicar.com'));
    await manager.scan(file('twelve bytes'));
    expect(manager.stats().bytesScanned).toBe(68 + 12);

    // Too large: refused before any engine ran.
    await expect(manager.scan(file('x'.repeat(101)))).rejects.toMatchObject({
      kind: 'file_too_large',
    });
    const down = clean('down');
    down.makeUnhealthy();
    const only = ScanManager.builder().addScanner(down).build();
    await expect(only.scan(file('unscanned'))).rejects.toMatchObject({
      kind: 'engine_unavailable',
    });

    expect(manager.stats()).toMatchObject({
      bytesScanned: 80,
      scans: { completed: 2, failed: 1 },
      engines: { a: { clean: 2 }, b: { clean: 2 }, c: { clean: 2 } },
    });
    expect(only.stats()).toEqual({
      engines: { down: { engine_unavailable: 1 } },
      decisions: { allow: 0, allow_with_warning: 0, quarantine: 0, block: 0, require_review: 0 },
      bytesScanned: 0,
      scans: { completed: 0, failed: 1 },
    });
  });

  it('returns a fresh copy each time: changing it changes no count', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    await manager.scanWithPolicy(file('plain'));
    const first = manager.stats();
    const writable = first as unknown as {
      engines: Record<string, Record<string, number>>;
      decisions: Record<string, number>;
      scans: Record<string, number>;
      bytesScanned: number;
    };
    (writable.engines.a as Record<string, number>).clean = 99;
    writable.engines.b = { clean: 1 };
    writable.decisions.allow = 99;
    writable.scans.completed = 99;
    writable.bytesScanned = 99;

    const second = manager.stats();
    expect(second).toEqual({
      engines: { a: { clean: 1 } },
      decisions: { allow: 1, allow_with_warning: 0, quarantine: 0, block: 0, require_review: 0 },
      bytesScanned: 5,
      scans: { completed: 1, failed: 0 },
    });
    expect(second).not.toBe(manager.stats());
    // Plain data: what a JSON endpoint sends is what stats() says.
    expect(JSON.parse(JSON.stringify(second))).toEqual(second);
  });
});

describe('ScanManager.on', () => {
  it('delivers one engineScan per engine run, with its duration on the manager clock', async () => {
    const clock = new ManualClock(1_000);
    const down = clean('down');
    down.makeUnhealthy();
    const manager = ScanManager.builder()
      .addScanner(clean('quick').withLatency(40).withClock(clock))
      .addScanner(clean('slow').withLatency(250).withClock(clock))
      .addScanner(down)
      .withConfig({ clock })
      .build();
    const heard: EngineScanEvent[] = [];
    manager.on('engineScan', (event) => heard.push(event));
    const scan = manager.scan(file('data'));
    for (let step = 0; step < 25; step++) {
      for (let i = 0; i < 5; i++) await tick();
      clock.advance(10);
    }
    await scan;
    expect(heard).toEqual([
      { engine: 'quick', outcome: 'clean', durationMs: 40 },
      { engine: 'slow', outcome: 'clean', durationMs: 250 },
      { engine: 'down', outcome: 'engine_unavailable', durationMs: 0 },
    ]);
  });

  it('measures durations on the system clock too, never negative', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).addScanner(clean('b')).build();
    const heard: EngineScanEvent[] = [];
    manager.on('engineScan', (event) => heard.push(event));
    await manager.scan(file('data'));
    expect(heard.map((e) => e.engine)).toEqual(['a', 'b']);
    for (const event of heard) {
      expect(event.outcome).toBe('clean');
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('reports a throwing listener to the audit logger, and the scan and other listeners go on', async () => {
    const logged: Logged[] = [];
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .withAuditLogger(recordingLogger(logged))
      .build();
    const boom = new Error('metrics backend gone');
    manager.on('engineScan', () => {
      throw boom;
    });
    manager.on('decision', () => {
      throw boom;
    });
    const heard: string[] = [];
    manager.on('engineScan', (event) => heard.push(event.engine));

    const { report, decision } = await manager.scanWithPolicy(file('data'));

    expect(report.aggregatedOutcome.type).toBe('clean');
    expect(decision.action.type).toBe('allow');
    expect(heard).toEqual(['a']);
    expect(manager.stats().scans.completed).toBe(1);
    const errors = logged.filter((l) => l.level === 'error');
    expect(errors).toEqual([
      {
        level: 'error',
        fields: { err: boom, event: 'engineScan' },
        message: 'ScanManager: a "engineScan" listener threw',
      },
      {
        level: 'error',
        fields: { err: boom, event: 'decision' },
        message: 'ScanManager: a "decision" listener threw',
      },
    ]);
  });

  it('reports a throwing listener as a process warning without a logger, or when the logger throws too', async () => {
    const warnings: unknown[][] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    const failing = () => {
      throw new Error('logger down');
    };
    const quiet = ScanManager.builder().addScanner(clean('a')).build();
    const broken = ScanManager.builder()
      .addScanner(clean('b'))
      .withAuditLogger({ info: () => {}, warn: () => {}, error: failing })
      .build();
    for (const manager of [quiet, broken]) {
      manager.on('engineScan', () => {
        throw new Error('listener bug');
      });
      await expect(manager.scan(file('data'))).resolves.toMatchObject({
        aggregatedOutcome: { type: 'clean' },
      });
    }
    expect(warnings).toEqual([
      [
        'ScanManager: a "engineScan" listener threw: listener bug',
        { code: LISTENER_ERROR_WARNING },
      ],
      [
        'ScanManager: a "engineScan" listener threw: listener bug',
        { code: LISTENER_ERROR_WARNING },
      ],
    ]);
  });

  it('stops delivering after unsubscribe, even when a listener unsubscribes during delivery', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).addScanner(clean('b')).build();
    const first: string[] = [];
    const second: string[] = [];
    const decisions: string[] = [];
    const unsubscribeFirst = manager.on('engineScan', (event) => {
      first.push(event.engine);
      unsubscribeFirst();
    });
    const unsubscribeSecond = manager.on('engineScan', (event) => second.push(event.engine));
    const unsubscribeDecision = manager.on('decision', (event) => decisions.push(event.action));

    await manager.scanWithPolicy(file('data'));
    expect(first).toEqual(['a']);
    expect(second).toEqual(['a', 'b']);
    expect(decisions).toEqual(['allow']);

    unsubscribeSecond();
    unsubscribeDecision();
    // A second call is harmless and removes nobody else.
    unsubscribeSecond();
    const third: string[] = [];
    manager.on('engineScan', (event) => third.push(event.engine));
    await manager.scanWithPolicy(file('data'));
    expect(first).toEqual(['a']);
    expect(second).toEqual(['a', 'b']);
    expect(decisions).toEqual(['allow']);
    expect(third).toEqual(['a', 'b']);
    // Counting never depended on listeners.
    expect(manager.stats().engines).toEqual({ a: { clean: 2 }, b: { clean: 2 } });
  });

  it('refuses an unknown event or a listener that is not a function', () => {
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    expect(() => manager.on('scan' as 'decision', () => {})).toThrow(
      new TypeError('ScanManager.on(event): takes "engineScan" or "decision", got "scan"'),
    );
    expect(() => manager.on('decision', 'log' as unknown as () => void)).toThrow(
      /ScanManager.on\("decision", listener\): needs a function, got "log"/,
    );
  });
});

describe('scan statistics, edge cases', () => {
  it('goes on when a listener throws a value that cannot be made a string', async () => {
    const warnings: unknown[][] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    manager.on('engineScan', () => {
      throw Object.create(null);
    });
    await expect(manager.scan(file('data'))).resolves.toMatchObject({
      aggregatedOutcome: { type: 'clean' },
    });
    expect(manager.stats().scans).toEqual({ completed: 1, failed: 0 });
    expect(warnings).toEqual([
      ['ScanManager: a "engineScan" listener threw: an object', { code: LISTENER_ERROR_WARNING }],
    ]);
  });

  it('counts a scan whose quarantine store failed as failed too: the caller got a ScanError', async () => {
    const store = {
      store: async () => {
        throw new Error('disk full');
      },
    };
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('e'))
      .withPolicyEngine(
        new PolicyEngine({ defaultAction: PolicyAction.allow() }).addRule(
          new PolicyRule('hold', PolicyAction.quarantine('infected upload')).withCondition(
            Condition.outcomeIs('infected'),
          ),
        ),
      )
      .withQuarantine(store as never)
      .build();
    const scanned = manager.scanWithPolicy(FileInput.fromBytes(bytes(EICAR), 'eicar.com'));
    await expect(scanned).rejects.toMatchObject({ kind: 'io' });
    const stats = manager.stats();
    expect(stats.decisions.quarantine).toBe(1);
    expect(stats.scans).toEqual({ completed: 1, failed: 1 });
  });

  it('never reports a negative duration, though the clock steps back during a run', async () => {
    // A wall clock stepping back a second at every read (NTP correcting a fast clock, in excess).
    let now = 1_000_000;
    const stepping = { now: () => (now -= 1_000) };
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .withConfig({ clock: stepping })
      .build();
    const heard: EngineScanEvent[] = [];
    manager.on('engineScan', (event) => heard.push(event));
    await manager.scan(file('data'));
    expect(heard).toHaveLength(1);
    expect(heard[0]?.durationMs).toBe(0);
  });

  it('unsubscribes only its own subscription when one function is subscribed twice', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    let heard = 0;
    const listener = () => {
      heard++;
    };
    const first = manager.on('engineScan', listener);
    manager.on('engineScan', listener);
    first();
    await manager.scan(file('data'));
    expect(heard).toBe(1);
  });
});
