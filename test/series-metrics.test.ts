import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../src/series-metrics.ts';

// The same observations through prom-client's own metrics and through ours: the registry writes the same text.
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
const OBSERVED = [0, 0.0005, 0.001, 0.0011, 0.005, 0.02, 0.05, 0.3, 0.5, 0.51, 7, 1e-9];

t.test('a histogram with a label writes what prom-client\'s Histogram writes', async (t) => {
  const theirs = new Registry();
  const ours = new Registry();
  const h = new Histogram({ name: 'x_seconds', help: 'Time', labelNames: ['site'] as const, buckets: BUCKETS, registers: [theirs] });
  const s = new SeriesHistogram('x_seconds', 'Time', BUCKETS, ['site'], [ours]);
  t.equal(await ours.metrics(), await theirs.metrics(), 'nothing observed: no series');
  for (const [i, v] of OBSERVED.entries()) {
    const site = i % 3 === 0 ? 'a' : 'b "quoted"\n';
    h.labels(site).observe(v);
    s.series(site).observe(v);
  }
  t.equal(await ours.metrics(), await theirs.metrics());
  t.match(await ours.metrics(), /x_seconds_bucket\{le="0.001",site="a"\} 1\nx_seconds_bucket\{le="0.005",site="a"\} 2\n/, 'cumulative buckets, by label value');
  t.equal(s.series('a'), s.series('a'), 'one series object per label value');
});

t.test('a histogram without labels is there at zero before any observation, as prom-client\'s', async (t) => {
  const theirs = new Registry();
  const ours = new Registry();
  const h = new Histogram({ name: 'y_seconds', help: 'Engine time', buckets: BUCKETS, registers: [theirs] });
  const s = new SeriesHistogram('y_seconds', 'Engine time', BUCKETS, [], [ours]).series();
  t.equal(await ours.metrics(), await theirs.metrics());
  t.match(await ours.metrics(), /y_seconds_count 0/);
  for (const v of OBSERVED) {
    h.observe(v);
    s.observe(v);
  }
  t.equal(await ours.metrics(), await theirs.metrics());
  s.observe(Number.NaN);
  t.equal(await ours.metrics(), await theirs.metrics(), 'a value that is not a number is left out');
});

t.test('a counter with two labels writes what prom-client\'s Counter writes', async (t) => {
  const theirs = new Registry();
  const ours = new Registry();
  const c = new Counter({ name: 'z_total', help: 'Requests', labelNames: ['site', 'verdict'] as const, registers: [theirs] });
  const s = new SeriesCounter('z_total', 'Requests', ['site', 'verdict'], [ours]);
  for (let i = 0; i < 40; i++) {
    const [site, verdict] = [`s${i % 3}`, i % 5 === 0 ? 'block' : 'allow'];
    c.labels(site, verdict).inc();
    s.series(site, verdict).inc();
  }
  t.equal(await ours.metrics(), await theirs.metrics());
  t.match(await ours.metrics(), /z_total\{site="s0",verdict="block"\} 3\n/);
});
