/**
 * A dependency that goes down for a while: it refuses connections during its outage,
 * sometimes hangs just before it, and answers normally otherwise.
 */
export class FlakyDependency {
  private readonly startedAt = Date.now();

  constructor(
    private readonly outage: { from: number; to: number },
    private readonly latencyMs = 5,
  ) {}

  async lookup(sku: string, signal: AbortSignal): Promise<{ sku: string; stock: number }> {
    const elapsed = Date.now() - this.startedAt;
    if (elapsed >= this.outage.from - 300 && elapsed < this.outage.from) {
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    }
    if (elapsed >= this.outage.from && elapsed < this.outage.to) {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    return { sku, stock: sku.length * 7 };
  }
}
