/** Samples kept per reading; beyond this, a random one is replaced (a uniform sample of the period). */
const MAX_SAMPLES = 512;

/**
 * How late attempts start: for each attempt, the time from when its delivery became due (published, or its
 * retry time) to when it is sent. The publish pacer reads the median of each period: a few deliveries of a
 * slow endpoint queued behind its cap do not move it, while deliveries starved of the event loop all do.
 */
export class LagMeter {
  #samples: number[] = [];
  #seen = 0;
  #last = 0;

  /** One attempt started `lagMs` after its delivery became due. */
  sample(lagMs: number): void {
    this.#seen++;
    if (this.#samples.length < MAX_SAMPLES) this.#samples.push(lagMs);
    else {
      const i = Math.floor(Math.random() * this.#seen);
      if (i < MAX_SAMPLES) this.#samples[i] = lagMs;
    }
  }

  /** The median lag of the attempts started since the previous call; the previous reading when none started. */
  take(): number {
    if (this.#samples.length > 0) {
      const sorted = this.#samples.sort((a, b) => a - b);
      this.#last = Math.max(0, sorted[Math.floor(sorted.length / 2)]!);
      this.#samples = [];
      this.#seen = 0;
    }
    return this.#last;
  }
}
