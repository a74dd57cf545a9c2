import type { FaultProxy } from './fault-proxy.js';
import { type Fault, type FaultTarget, type Phase, type PhaseSchedule, phaseAt } from './phases.js';
import type { ReactionTimeline } from './timeline.js';

export interface ConductorOptions {
  readonly schedule: PhaseSchedule;
  /** Only faults whose target has a proxy. */
  readonly faults: readonly Fault[];
  readonly proxies: Readonly<Partial<Record<FaultTarget, FaultProxy>>>;
  /** The breaker each target's faults are aimed at. */
  readonly breakers: Readonly<Record<FaultTarget, string>>;
  readonly timeline: ReactionTimeline;
  /** ms since the demo started: the schedule's time. */
  readonly elapsed: () => number;
  readonly say: (line: string) => void;
  /** Told once each phase has been applied. */
  readonly onPhase?: ((phase: Phase) => void) | undefined;
}

export interface Conductor {
  /** Stops the script: no phase starts after this; one being applied is waited for. */
  stop(): Promise<void>;
}

const TARGETS: Readonly<Record<FaultTarget, string>> = { spicedb: 'SpiceDB', clamd: 'clamd' };

/** Runs the fault script: each phase at its time, told in the terminal and to the timeline. */
export function startPhases(options: ConductorOptions): Conductor {
  const { schedule, faults, proxies, breakers, timeline, elapsed, say, onPhase } = options;
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let applying: Promise<void> = Promise.resolve();

  const run = async (phase: Phase): Promise<void> => {
    const proxy = proxies[phase.fault.target];
    if (proxy === undefined) return;
    const breaker = breakers[phase.fault.target];
    if (phase.kind === 'fault') {
      timeline.faultStarted(breaker, elapsed());
      say(`fault ${phase.number}: ${phase.fault.title} (${phase.fault.how})`);
      await phase.fault.apply(proxy);
    } else {
      timeline.recoveryStarted(breaker, elapsed());
      say(`recovery ${phase.number}: ${TARGETS[phase.fault.target]} is back to normal`);
      await phase.fault.heal(proxy);
    }
    onPhase?.(phase);
  };

  const next = (): void => {
    const phase = phaseAt(schedule, faults, index);
    if (phase === undefined || stopped) return;
    timer = setTimeout(
      () => {
        index++;
        applying = run(phase).catch((error: unknown) =>
          say(`phase ${phase.kind} ${phase.number} failed: ${(error as Error).message}`),
        );
        next();
      },
      Math.max(0, phase.atMs - elapsed()),
    );
  };

  next();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await applying;
    },
  };
}
