/**
 * Reading the text format back: the value of one sample, for tests and scripts that check a scrape
 * (`sampleValue(body, 'hsm_rpc_requests_total', { method: 'eth_sendTransaction', outcome: 'ok' })`).
 * Labels must match exactly (all of them, any order). Undefined when there is no such sample.
 */
export function sampleValue(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.keys(labels);
  for (const sample of samples(body)) {
    if (sample.name !== name) continue;
    const got = Object.keys(sample.labels);
    if (got.length === wanted.length && wanted.every((k) => sample.labels[k] === labels[k])) return sample.value;
  }
  return undefined;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line of a scrape (comments skipped). Label values may hold escaped quotes. */
export function samples(body: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const [, name = '', pairs = '', value = ''] = m;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of pairs.matchAll(LABEL_PAIR)) labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name, labels, value: Number(value) });
  }
  return out;
}
