import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with a plain "tests: N passed, N failed" line that any CI can read, and says
 * so when errors outside any test (an unhandled rejection) failed the run anyway.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed' || state === 'failed' || state === 'skipped') counts[state]++;
      }
    }
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
    const errors = unhandledErrors.length > 0 ? `, ${unhandledErrors.length} unhandled errors` : '';
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed${skipped}${errors}\n`,
    );
  }
}
