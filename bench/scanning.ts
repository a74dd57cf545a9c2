/**
 * Case 9: scanning files through a real clamd, 8 in flight: our ScanManager (one engine, the
 * default policy), our bare ClamAvScanner, and the npm `clamscan` package's scanStream, which
 * opens a connection per file. clamd is started here, on a free loopback port, with the one-line
 * EICAR database the tests use; clamd's own CPU time is read from /proc, so a figure limited by
 * clamd itself shows as such.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeClam from 'clamscan';
import { ClamAvScanner, FileInput, ScanManager } from '../packages/scanbridge/src/index.js';
import { CLAMD, type Clamd, startClamd } from '../packages/scanbridge/test/clamd-process.js';

export interface ScanBenchOptions {
  smallFiles: number;
  largeFiles: number;
  largeBytes: number;
  inFlight: number;
}

/** What one contender does with one file's path; resolves to whether the file was clean. */
type ScanOne = (path: string) => Promise<boolean>;

interface Contender {
  readonly name: string;
  readonly scan: ScanOne;
}

/** One contender's run over one set of files. */
export interface ScanRun {
  filesPerSecond: number;
  /** clamd's CPU seconds (user + system) per wall second of the run. */
  clamdCpuShare: number;
  /** CPU time per file, this process's and clamd's together, in microseconds. */
  cpuPerFile: number;
}

export const SCAN_CONTENDERS = [
  'ScanManager.scanWithPolicy',
  'bare ClamAvScanner.scan',
  'clamscan 2.4.0 scanStream',
] as const;

const TICKS_PER_SECOND = 100;

/** clamd's CPU time so far, in seconds, from /proc/<pid>/stat (utime + stime). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; the fields after it are plain numbers.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A seeded generator (mulberry32): the same files every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomBytes(random: () => number, size: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = (random() * 4_294_967_296) >>> 0;
  return new Uint8Array(words.buffer, 0, size);
}

async function writeFiles(
  dir: string,
  count: number,
  size: (random: () => number) => number,
  seed: number,
): Promise<string[]> {
  await mkdir(dir);
  const random = seeded(seed);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `file-${i}.bin`);
    await writeFile(path, randomBytes(random, size(random)));
    paths.push(path);
  }
  return paths;
}

/** One contender's time over some files. */
interface Timed {
  seconds: number;
  /** clamd's CPU seconds meanwhile. */
  cpu: number;
  /** This process's CPU seconds meanwhile. */
  own: number;
}

/** Every file, `inFlight` at once: the wall time, and clamd's CPU time meanwhile. */
async function run(
  contender: Contender,
  paths: readonly string[],
  inFlight: number,
  pid: number,
): Promise<Timed> {
  let next = 0;
  let clean = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      if (await contender.scan(paths[next++] as string)) clean++;
    }
  };
  const cpuBefore = await cpuSeconds(pid);
  const ownBefore = process.cpuUsage();
  const begin = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - begin) / 1000;
  const own = process.cpuUsage(ownBefore);
  const cpu = (await cpuSeconds(pid)) - cpuBefore;
  // Random bytes hold no EICAR: a contender that says otherwise did not scan what it was given.
  if (clean !== paths.length) {
    throw new Error(
      `case scan: ${contender.name} found ${paths.length - clean} of ${paths.length} random files not clean`,
    );
  }
  return { seconds, cpu, own: (own.user + own.system) / 1e6 };
}

/**
 * Files per turn: the contenders take turns over slices of the files, so a neighbour's load
 * on a shared machine, which comes and goes over seconds, falls on all of them alike.
 */
const SLICE_FILES = 150;

/** The scanning case's set-up, kept across rounds: clamd, the files, the contenders. */
export class ScanBench {
  readonly small: readonly string[];
  readonly large: readonly string[];
  private readonly clamd: Clamd;
  private readonly dir: string;
  private readonly contenders: readonly Contender[];
  private readonly scanners: readonly ClamAvScanner[];
  private readonly options: ScanBenchOptions;

  private constructor(
    clamd: Clamd,
    dir: string,
    small: string[],
    large: string[],
    options: ScanBenchOptions,
    clamscan: NodeClam,
  ) {
    this.clamd = clamd;
    this.dir = dir;
    this.small = small;
    this.large = large;
    this.options = options;
    const settings = { port: clamd.port, maxFileSize: options.largeBytes * 2 };
    const managed = new ClamAvScanner(settings);
    const bare = new ClamAvScanner(settings);
    this.scanners = [managed, bare];
    const manager = ScanManager.builder().addScanner(managed).build();
    this.contenders = [
      {
        name: SCAN_CONTENDERS[0],
        scan: async (path) =>
          (await manager.scanWithPolicy(FileInput.fromPath(path))).report.aggregatedOutcome.type ===
          'clean',
      },
      {
        name: SCAN_CONTENDERS[1],
        scan: async (path) => (await bare.scan(FileInput.fromPath(path))).outcome.type === 'clean',
      },
      {
        name: SCAN_CONTENDERS[2],
        scan: async (path) =>
          (await clamscan.scanStream(createReadStream(path))).isInfected === false,
      },
    ];
  }

  /** clamd started and the files written; undefined (with a note) when clamd is not installed. */
  static async start(
    options: ScanBenchOptions,
    log: (line: string) => void,
  ): Promise<ScanBench | undefined> {
    if (CLAMD === undefined) {
      log('case scan: clamd is not installed (apt-get install clamav-daemon); skipped');
      return undefined;
    }
    // clamd's own defaults for threads and sizes, so it is not the bench that limits clamd.
    const clamd = await startClamd({ streamMaxLength: '100M', maxThreads: 10 });
    const dir = await mkdtemp(join(tmpdir(), 'bench-scan-'));
    const small = await writeFiles(
      join(dir, 'small'),
      options.smallFiles,
      (random) => 512 + Math.floor(random() * (15 * 1024 - 512)),
      1,
    );
    const large = await writeFiles(
      join(dir, 'large'),
      options.largeFiles,
      () => options.largeBytes,
      2,
    );
    const clamscan = await new NodeClam().init({
      clamscan: { active: false },
      clamdscan: {
        host: '127.0.0.1',
        port: clamd.port,
        localFallback: false,
        bypassTest: true,
        active: true,
      },
      preference: 'clamdscan',
    });
    return new ScanBench(clamd, dir, small, large, options, clamscan);
  }

  /** Each contender over the files, slice by slice, in `order` rotated every slice. */
  async round(paths: readonly string[], order: readonly number[]): Promise<Map<string, ScanRun>> {
    const pid = this.clamd.pid as number;
    const totals = this.contenders.map(() => ({ seconds: 0, cpu: 0, own: 0 }));
    for (let start = 0, turn = 0; start < paths.length; start += SLICE_FILES, turn++) {
      const files = paths.slice(start, start + SLICE_FILES);
      for (let i = 0; i < order.length; i++) {
        const index = order[(i + turn) % order.length] as number;
        const timed = await run(
          this.contenders[index] as Contender,
          files,
          this.options.inFlight,
          pid,
        );
        const total = totals[index] as Timed;
        total.seconds += timed.seconds;
        total.cpu += timed.cpu;
        total.own += timed.own;
      }
    }
    const runs = new Map<string, ScanRun>();
    this.contenders.forEach((contender, index) => {
      const { seconds, cpu, own } = totals[index] as Timed;
      runs.set(contender.name, {
        filesPerSecond: paths.length / seconds,
        clamdCpuShare: cpu / seconds,
        cpuPerFile: ((cpu + own) / paths.length) * 1e6,
      });
    });
    return runs;
  }

  async stop(): Promise<void> {
    await Promise.all(this.scanners.map((scanner) => scanner.close()));
    await this.clamd.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
