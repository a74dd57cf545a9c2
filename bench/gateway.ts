/**
 * Case 12: what the gateway costs over the scan it wraps. 2,000 uploads of 10 KB, 32 at once,
 * through a gateway started in this process (startGateway on 127.0.0.1:0, the YARA engine on the
 * shipped rules, a real embedded SpiceDB with the decision cache warm, the default policy),
 * sent over HTTP with keep-alive as raw bodies by a client in a process of its own
 * (gateway-client.ts: callers are other processes in production, and a client on the gateway's
 * main thread took a fifth of that thread's CPU), against the same files through the same
 * gateway's ScanManager.scanWithPolicy in-process: from disk (FileInput.fromPath, as a program
 * scanning its files would) and as a stream (FileInput.fromStream, what the gateway hands the
 * manager: held in memory up to 1 MiB, spooled past that). Files per second, each file's
 * latency (p50, p99), 32 in flight, and the CPU this process spends per file.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import type { Logger } from '@breakwater/core';
import type { FileInput } from '@breakwater/scanbridge';
import { LoadClient } from './gateway-load.js';
import { type ScanOne, type Slice, timeSlice } from './gateway-pool.js';
import { type CaseResult, collectRows, push, rotate, StateError } from './harness.js';

export interface GatewayBenchOptions {
  uploads: number;
  bytes: number;
  inFlight: number;
}

/** The figures: 2,000 uploads of 10 KB, 32 at once. */
export const GATEWAY_FULL: GatewayBenchOptions = { uploads: 2_000, bytes: 10 * 1024, inFlight: 32 };

export const GATEWAY_CONTENDERS = {
  fromPath: 'bare ScanManager.scanWithPolicy, FileInput.fromPath',
  fromStream: 'ScanManager.scanWithPolicy, FileInput.fromStream',
  http: 'gateway: POST /v1/tenants/:tenant/scans over HTTP, from a client process',
} as const;

const TENANT = 'bench';
const SPICEDB_TOKEN_ENV = 'BENCH_SPICEDB_TOKEN';
/** Files per turn: the contenders take turns over slices, so a neighbour's load falls on all alike. */
const SLICE_FILES = 250;

/** Errors only: an audit line per upload would time stderr, not the gateway. */
const QUIET: Logger = {
  info() {},
  warn() {},
  error(fields, message) {
    process.stderr.write(`case gateway: ${message} ${JSON.stringify(fields)}\n`);
  },
};

interface Contender {
  readonly name: string;
  readonly run: (indexes: readonly number[], inFlight: number) => Promise<Slice>;
}

interface Timed {
  seconds: number;
  latencies: number[];
  /** CPU this process spent meanwhile, µs: the gateway's for HTTP, not its client's. */
  cpuMicros: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Every file of `indexes` through `contender`, `inFlight` at once; each must come out allowed. */
async function run(contender: Contender, indexes: readonly number[], inFlight: number) {
  const cpu = process.cpuUsage();
  const { seconds, latencies, refused } = await contender.run(indexes, inFlight);
  const { user, system } = process.cpuUsage(cpu);
  if (refused.length > 0) {
    throw new StateError(
      `case gateway: ${contender.name} decided ${refused[0]} for ${refused.length} of ${indexes.length} random files, expected allow`,
    );
  }
  return { seconds, latencies, cpuMicros: user + system };
}

/** The case's set-up: SpiceDB, the gateway, the files, the contenders. */
class GatewayBench {
  readonly contenders: readonly Contender[];
  readonly files: number;
  private readonly stops: (() => Promise<void> | void)[];

  private constructor(
    contenders: readonly Contender[],
    files: number,
    stops: (() => Promise<void> | void)[],
  ) {
    this.contenders = contenders;
    this.files = files;
    this.stops = stops;
  }

  static async start(options: GatewayBenchOptions): Promise<GatewayBench> {
    const stops: (() => Promise<void> | void)[] = [];
    const stop = async () => {
      for (const step of stops.splice(0).reverse()) await step();
    };
    try {
      // Loaded here, not with the report that names the contenders: only this case needs them.
      const [
        { startEmbeddedSpiceDb },
        { hashToken, parseConfig, schemaPath, startGateway },
        { FileInput },
      ] = await Promise.all([
        import('@breakwater/authz/embedded'),
        import('@breakwater/gateway'),
        import('@breakwater/scanbridge'),
      ]);
      const dir = await mkdtemp(join(tmpdir(), 'bench-gateway-'));
      stops.push(() => rm(dir, { recursive: true, force: true }));
      const bodies: Uint8Array[] = [];
      const paths: string[] = [];
      await mkdir(join(dir, 'files'));
      for (let i = 0; i < options.uploads; i++) {
        const bytes = randomBytes(options.bytes);
        const path = join(dir, 'files', `file-${i}.bin`);
        await writeFile(path, bytes);
        bodies.push(bytes);
        paths.push(path);
      }
      const spicedb: EmbeddedSpiceDb = await startEmbeddedSpiceDb({
        schema: readFileSync(schemaPath(), 'utf8'),
        relationships: [`tenant:${TENANT}#member@user:bench`],
      });
      stops.push(() => spicedb.close());
      const token = 'bw_bench_caller_token';
      const config = parseConfig(
        {
          host: '127.0.0.1',
          port: 0,
          spicedb: { endpoint: spicedb.endpoint, tokenEnv: SPICEDB_TOKEN_ENV, insecure: true },
          engines: [{ type: 'yara' }],
          policy: 'default',
          quarantine: { dir: 'quarantine' },
          tokens: [{ sha256: hashToken(token), subject: 'user:bench', tenant: TENANT }],
        },
        { baseDir: dir, env: { [SPICEDB_TOKEN_ENV]: spicedb.token }, source: 'case gateway' },
      );
      const gateway = await startGateway(config, { logger: QUIET });
      stops.push(() => gateway.close());
      const client = await LoadClient.start({
        endpoint: `${gateway.url}/v1/tenants/${TENANT}/scans`,
        token,
        paths,
        sockets: options.inFlight,
      });
      stops.push(() => client.close());
      const { manager } = gateway;
      const decision = async (input: FileInput) =>
        (await manager.scanWithPolicy(input)).decision.action.type;
      const inProcess =
        (scan: ScanOne): Contender['run'] =>
        (indexes, inFlight) =>
          timeSlice(indexes, inFlight, scan);
      const contenders: Contender[] = [
        {
          name: GATEWAY_CONTENDERS.fromPath,
          run: inProcess((i) => decision(FileInput.fromPath(paths[i] as string))),
        },
        {
          name: GATEWAY_CONTENDERS.fromStream,
          run: inProcess((i) => {
            const bytes = bodies[i] as Uint8Array;
            return decision(
              FileInput.fromStream(Readable.from([bytes]), {
                filename: `file-${i}.bin`,
                sizeHint: bytes.byteLength,
              }),
            );
          }),
        },
        {
          name: GATEWAY_CONTENDERS.http,
          run: (indexes, inFlight) => client.run(indexes, inFlight),
        },
      ];
      // The decision cache warm, the YARA process started, the connections open.
      for (const contender of contenders)
        await run(contender, [...Array(options.inFlight).keys()], options.inFlight);
      return new GatewayBench(contenders, options.uploads, stops);
    } catch (error) {
      await stop();
      throw error;
    }
  }

  /** Every contender over every file, slice by slice, the order rotated each slice. */
  async round(round: number, inFlight: number): Promise<Map<string, Timed>> {
    const totals = new Map<string, Timed>(
      this.contenders.map((c) => [c.name, { seconds: 0, latencies: [], cpuMicros: 0 }]),
    );
    const indexes = [...Array(this.files).keys()];
    for (let start = 0, turn = 0; start < indexes.length; start += SLICE_FILES, turn++) {
      const slice = indexes.slice(start, start + SLICE_FILES);
      for (const contender of rotate(this.contenders, round + turn)) {
        const timed = await run(contender, slice, inFlight);
        const total = totals.get(contender.name) as Timed;
        total.seconds += timed.seconds;
        total.latencies.push(...timed.latencies);
        total.cpuMicros += timed.cpuMicros;
      }
    }
    return totals;
  }

  async stop(): Promise<void> {
    for (const step of this.stops.splice(0).reverse()) await step();
  }
}

export async function gatewayCases(
  rounds: number,
  log: (line: string) => void = () => undefined,
  options: GatewayBenchOptions = GATEWAY_FULL,
): Promise<CaseResult[]> {
  const { uploads, bytes, inFlight } = options;
  const bench = await GatewayBench.start(options);
  const rate = new Map<string, number[]>();
  const p50 = new Map<string, number[]>();
  const p99 = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  try {
    // One round untimed: the first ran at half the speed of the rest (the optimising compiler
    // not yet done with the gateway, the manager and the client process), HTTP most of all.
    log('gateway warm-up round');
    await bench.round(rounds, inFlight);
    for (let round = 0; round < rounds; round++) {
      log(`gateway round ${round + 1}/${rounds}`);
      for (const [name, { seconds, latencies, cpuMicros }] of await bench.round(round, inFlight)) {
        const sorted = latencies.sort((a, b) => a - b);
        push(rate, name, uploads / seconds);
        push(cpu, name, cpuMicros / uploads);
        push(p50, name, percentile(sorted, 50));
        push(p99, name, percentile(sorted, 99));
      }
    }
  } finally {
    await bench.stop();
  }
  const what = `${uploads.toLocaleString('en-US')} uploads of ${bytes / 1024} KB, ${inFlight} at once, YARA on the shipped rules`;
  return [
    {
      id: 'gateway-throughput',
      title: `12. gateway: ${what}; through the gateway (HTTP keep-alive from a client process of its own, latencies timed there; a Bearer token, SpiceDB with the cache warm, the default policy) and through its ScanManager in-process`,
      unit: 'files/s',
      rows: collectRows(rate),
    },
    {
      id: 'gateway-p50',
      title: `12. gateway: latency per file, p50 (${inFlight} in flight)`,
      unit: 'ms',
      rows: collectRows(p50),
    },
    {
      id: 'gateway-p99',
      title: `12. gateway: latency per file, p99 (${inFlight} in flight)`,
      unit: 'ms',
      rows: collectRows(p99),
    },
    {
      id: 'gateway-cpu',
      // Less hostage to a shared machine than files/s: what one file costs the process, however
      // long it waited for a core. The YARA process's CPU is in none of the rows.
      title:
        "12. gateway: CPU of the bench's process per file (for HTTP the gateway's alone, the client being a process of its own)",
      unit: 'CPU µs/file',
      rows: collectRows(cpu),
    },
  ];
}
