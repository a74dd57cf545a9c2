/** What the demo started, stopped in the reverse order. */
export class Teardown {
  readonly #steps: { readonly what: string; readonly run: () => Promise<void> | void }[] = [];

  add(what: string, run: () => Promise<void> | void): void {
    this.#steps.push({ what, run });
  }

  /** Runs every step, even after one fails, and tells `say` what could not be stopped. */
  async run(say: (line: string) => void): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        say(`could not stop ${step.what}: ${(error as Error).message}`);
      }
    }
  }
}
