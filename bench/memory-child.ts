// Measures one library's heap per breaker in a process of its own, so neither the
// other libraries nor our bookkeeping (or opossum's live timers) colour the figure.
// Prints { perBreaker, retained } as JSON. Run with --expose-gc.
import {
  type KeyedBreakerName,
  keyedBreakers,
  type RawBreakerName,
  rawBreakers,
  SUCCESS,
} from './subjects.js';

const [name, countArg] = process.argv.slice(2);
const count = Number(countArg);
const names = [...Object.keys(rawBreakers), ...Object.keys(keyedBreakers)];
if (!names.includes(name as string) || !Number.isInteger(count) || count <= 0) {
  throw new Error(`usage: memory-child.ts <${names.join('|')}> <count>, got ${name} ${countArg}`);
}
// A keyed kind makes breaker i under key i and keeps it in its registry (or Map).
const keyed = keyedBreakers[name as KeyedBreakerName]?.();
let key = 0;
const library = keyed
  ? {
      make: () => keyed(`tenant-${key++}`),
      use: (b: { execute(op: () => Promise<unknown>): Promise<unknown> }) => b.execute(SUCCESS),
    }
  : rawBreakers[name as RawBreakerName];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('memory-child.ts needs node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const make = library.make as () => unknown;
const use = library.use as (breaker: unknown) => Promise<unknown>;
// Warm the code paths first, long enough for the optimising compiler to have run, so compiled
// code and feedback are not counted as breakers (or as retained once they are dropped).
await Promise.all(Array.from({ length: 2_000 }, make).map(use));

const slots: unknown[] = new Array(count).fill(undefined);
const before = heap();
for (let i = 0; i < count; i++) slots[i] = make();
await Promise.all(slots.map(use));
const during = heap();
slots.fill(undefined);
await new Promise((resolve) => setImmediate(resolve));
const after = heap();
process.stdout.write(
  `${JSON.stringify({ perBreaker: (during - before) / count, retained: Math.max(0, after - before) })}\n`,
);
// opossum's bucket timers are unref()d but would keep firing; nothing else is left to do.
process.exit(0);
