/**
 * Prometheus counters and histograms for the request path, exposed through a prom-client Registry like prom-client's
 * own.
 *
 * Why not prom-client's Counter and Histogram there: their `inc` / `observe` (a labelled child's too) validate the
 * labels, turn them into a hashed string key and (histograms) find the bucket by a string property on every call:
 * about 1-1.5 µs a request per metric on the proxy bench. Here a series (one set of label values) is made once and
 * kept by its caller; an observation is a bucket search over a few bounds and three adds. `get()` answers in
 * prom-client's metric format, so the registry writes the exposition text prom-client's own metric would.
 */

import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  /** Written after `labels` (a histogram's series labels come after `le`, as prom-client writes them). */
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

/** What both kinds share: series by label values, made on first use, and registration. */
abstract class SeriesMetric<S> {
  readonly aggregator = 'sum';
  private readonly bySeries = new Map<string, { labels: Labels; s: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  /** Called by a subclass once its own fields are set (`make` may need them). */
  protected register(registers: Registry[]): void {
    this.reset();
    for (const r of registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract make(): S;
  protected abstract values(labels: Labels, s: S, out: MetricValue[]): void;
  abstract readonly type: string;

  /** The series of these label values, in `labelNames` order (the same object every time: keep it). */
  series(...labelValues: string[]): S {
    const key = labelValues.join('\0');
    let e = this.bySeries.get(key);
    if (e === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => (labels[n] = labelValues[i] ?? ''));
      e = { labels, s: this.make() };
      this.bySeries.set(key, e);
    }
    return e.s;
  }

  /** prom-client's metric format (what a Registry reads to write /metrics). */
  get(): MetricData {
    const values: MetricValue[] = [];
    for (const { labels, s } of this.bySeries.values()) this.values(labels, s, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.bySeries.clear();
    // Without labels, the one series is there from the start (zeros until observed), as with prom-client.
    if (this.labelNames.length === 0) this.series();
  }
}

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class SeriesCounter extends SeriesMetric<CounterSeries> {
  readonly type = 'counter';
  constructor(name: string, help: string, labelNames: readonly string[], registers: Registry[]) {
    super(name, help, labelNames);
    this.register(registers);
  }
  protected make(): CounterSeries {
    return new CounterSeries();
  }
  protected values(labels: Labels, s: CounterSeries, out: MetricValue[]): void {
    out.push({ labels, value: s.value });
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  /** Non-finite values are left out (prom-client would throw). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class SeriesHistogram extends SeriesMetric<HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: Float64Array;
  constructor(name: string, help: string, buckets: readonly number[], labelNames: readonly string[], registers: Registry[]) {
    super(name, help, labelNames);
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.register(registers);
  }
  protected make(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }
  protected values(labels: Labels, s: HistogramSeries, out: MetricValue[]): void {
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += s.counts[i];
      out.push({ labels: { le: this.bounds[i] }, sharedLabels: labels, value: acc, metricName: bucket });
    }
    out.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: s.count, metricName: bucket });
    out.push({ labels: {}, sharedLabels: labels, value: s.sum, metricName: `${this.name}_sum` });
    out.push({ labels: {}, sharedLabels: labels, value: s.count, metricName: `${this.name}_count` });
  }
}
