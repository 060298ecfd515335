/**
 * The per-delivery Prometheus figures, counted in plain numbers and turned into samples only when /metrics is read.
 * prom-client's labelled counters and histograms hash their labels object into a string on every inc and observe,
 * a child made once by `labels()` too (and the histogram checks and copies it): three times for every delivery on the
 * engine's thread, ~2.5 µs of it. These count by a map lookup of the label values and an increment, and give the
 * registry the same samples (names, label order, cumulative buckets, +Inf, _sum, _count) as prom-client's own would.
 */
import type { Registry } from 'prom-client';

/** What a prom-client Registry reads of a metric (its own Counter and Histogram give the same). */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  /** prom-client's buckets carry one (null: none kept). */
  exemplar?: null;
}

interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/** A counter with two labels (e.g. protocol and outcome). */
export class PairCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #counts = new Map<string, Map<string, PairCount>>();
  /** Every pair in the order first counted: the order prom-client's counter lists its samples in. */
  #order: PairCount[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly [string, string],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  inc(first: string, second: string): void {
    let bySecond = this.#counts.get(first);
    if (bySecond === undefined) {
      bySecond = new Map();
      this.#counts.set(first, bySecond);
    }
    const c = bySecond.get(second);
    if (c !== undefined) {
      c.n++;
      return;
    }
    const made = { first, second, n: 1 };
    bySecond.set(second, made);
    this.#order.push(made);
  }

  get(): Promise<Exported> {
    const [a, b] = this.labelNames;
    const values = this.#order.map((c): Sample => ({ value: c.n, labels: { [a]: c.first, [b]: c.second } }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.#counts.clear();
    this.#order = [];
  }
}

interface PairCount {
  first: string;
  second: string;
  n: number;
}

interface HistogramRow {
  /** Observations per bucket (not cumulative); the last is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram with one label (e.g. protocol), over fixed upper bounds. */
export class LabelHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #rows = new Map<string, HistogramRow>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A value that is not a finite number is left out (prom-client throws on it; a delivery's metrics must not). */
  observe(label: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let row = this.#rows.get(label);
    if (row === undefined) {
      row = { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.#rows.set(label, row);
    }
    // The first bound the value is at or under (prom-client's `le`); past every bound, +Inf only.
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    row.counts[i]!++;
    row.sum += value;
    row.count++;
  }

  get(): Promise<Exported> {
    const bucket = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const [label, row] of this.#rows) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += row.counts[i]!;
        values.push({ value: acc, labels: { le: this.bounds[i]!, [this.labelName]: label }, metricName: bucket, exemplar: null });
      }
      values.push({ value: row.count, labels: { le: '+Inf', [this.labelName]: label }, metricName: bucket, exemplar: null });
      values.push({ value: row.sum, labels: { [this.labelName]: label }, metricName: `${this.name}_sum` });
      values.push({ value: row.count, labels: { [this.labelName]: label }, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.#rows.clear();
  }
}
