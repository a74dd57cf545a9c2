/**
 * A real Prometheus server for integration tests (Debian's `prometheus`, 2.42): started on a free
 * loopback port with its own config and storage in a temporary directory, scraping the targets it
 * is given every second; stopped with SIGTERM (SIGKILL after 5 s) and its directory removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry, RegistryContentType } from 'prom-client';

export const PROMETHEUS = '/usr/bin/prometheus';
/** util-linux: runs a program with a parent-death signal (Linux's PR_SET_PDEATHSIG). */
const SETPRIV = '/usr/bin/setpriv';
const STOP_GRACE_MS = 5_000;

/** One series of an instant query's answer. */
export interface QuerySample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One series as stored: its samples, oldest first, each at its scrape's time (Unix seconds). */
export interface StoredSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly samples: readonly (readonly [time: number, value: number])[];
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The Prometheus process. */
  readonly pid: number;
  /** Its config and storage, removed by `stop()`. */
  readonly dir: string;
  /**
   * An instant query (`/api/v1/query`), evaluated now or at `time` (Unix seconds); rejects with
   * Prometheus's own error for a bad one.
   */
  query(promql: string, time?: number): Promise<QuerySample[]>;
  /** The samples stored for a series selector over the last `range` (a PromQL duration: '1m'). */
  stored(selector: string, range: string): Promise<StoredSeries[]>;
  /** Polls `promql` until `done` accepts its answer; rejects after `timeoutMs` with the last answer. */
  waitFor(
    promql: string,
    done: (samples: QuerySample[]) => boolean,
    timeoutMs?: number,
  ): Promise<QuerySample[]>;
  /** SIGTERM, SIGKILL after 5 s if it is still running, then removes its directory. */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `GET /metrics` on a free loopback port: what a service does to be scraped. */
export async function serveMetrics(
  register: Registry<RegistryContentType>,
): Promise<{ readonly target: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    register.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': register.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts Prometheus scraping `targets` (`host:port`, path `/metrics`) every second; resolves once it is ready. */
export async function startPrometheus(targets: readonly string[]): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(
      `Prometheus is not installed at ${PROMETHEUS}: run sudo apt-get install -y --no-install-recommends prometheus`,
    );
  }
  if (!existsSync(SETPRIV)) {
    throw new Error(`${SETPRIV} is missing: run sudo apt-get install -y util-linux`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'breakwater-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: breakwater',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Through setpriv, so that the kernel kills Prometheus when the process that started it dies:
  // a test process killed by a timeout or a signal runs no afterAll, and an orphaned Prometheus
  // would keep scraping a dead port on a shared machine.
  const child = spawn(
    SETPRIV,
    [
      '--pdeathsig',
      'KILL',
      PROMETHEUS,
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    await stopProcess(child, exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }

  const ask = async <R>(promql: string, time: number | undefined): Promise<R[]> => {
    const at = time === undefined ? '' : `&time=${time}`;
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}${at}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: R[] };
    };
    if (body.status !== 'success')
      throw new Error(`Prometheus refused the query ${promql}: ${body.error}`);
    return body.data?.result ?? [];
  };
  type Pair = [number, string];
  const query = async (promql: string, time?: number): Promise<QuerySample[]> =>
    (await ask<{ metric: Record<string, string>; value: Pair }>(promql, time)).map(
      ({ metric, value }) => ({ metric, value: Number(value[1]) }),
    );
  return {
    url,
    pid: child.pid as number,
    dir,
    query,
    async stored(selector, range) {
      const series = await ask<{ metric: Record<string, string>; values: Pair[] }>(
        `${selector}[${range}]`,
        undefined,
      );
      return series.map(({ metric, values }) => ({
        metric,
        samples: values.map(([time, value]) => [time, Number(value)] as const),
      }));
    },
    async waitFor(promql, done, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const samples = await query(promql);
        if (done(samples)) return samples;
        if (Date.now() > deadline) {
          throw new Error(
            `Prometheus did not answer ${promql} as expected within ${timeoutMs} ms; last answer: ${JSON.stringify(samples)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop,
  };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `Prometheus exited at start (${child.exitCode ?? child.signalCode}): ${log()}`,
      );
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Prometheus was not ready within 15 s: ${log()}`);
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
  });
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
