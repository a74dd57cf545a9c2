import type { Registry } from 'prom-client';

export interface ScrapedSample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/** Every sample of one metric family, as the register exports it; [] when it is not registered. */
export async function samplesOf(register: Registry, name: string): Promise<ScrapedSample[]> {
  const family = (await register.getMetricsAsJSON()).find((m) => m.name === name);
  return (family?.values ?? []) as ScrapedSample[];
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
export function sampleValue(
  samples: readonly { labels: object; value: number; metricName?: string }[],
  labels: Readonly<Record<string, string | number>>,
  metricName?: string,
): number | undefined {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (s) =>
      (metricName === undefined || s.metricName === metricName) &&
      Object.keys(s.labels).length === wanted.length &&
      wanted.every(
        ([key, value]) => String((s.labels as Record<string, unknown>)[key]) === String(value),
      ),
  );
  if (found.length > 1) throw new Error(`${found.length} samples carry ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** A pino-shaped logger that keeps what it was told. */
export function capturingLogger() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  return {
    warnings,
    logger: {
      warn(fields: Record<string, unknown>, message: string) {
        warnings.push({ fields, message });
      },
    },
  };
}
