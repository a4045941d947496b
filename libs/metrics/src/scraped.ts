import type { Registry } from 'prom-client';

/**
 * A metric whose values live elsewhere and are read when scraped (a component's own `stats`, a
 * cached database count), registered in a prom-client Registry beside the families of cells.ts.
 * Unlike a prom-client Gauge it can export no sample at all (the source could not be read) instead
 * of a misleading 0, and unlike a prom-client Counter its value can come from outside.
 */
export class ScrapedMetric {
  constructor(
    registry: Registry,
    readonly type: 'counter' | 'gauge',
    readonly name: string,
    readonly help: string,
    private readonly labelName: string | undefined,
    private readonly read: () => Array<[string, number]> | Promise<Array<[string, number]>>,
  ) {
    registry.registerMetric(this as never);
  }

  async get() {
    const values = (await this.read()).map(([label, value]) => ({ value, labels: this.labelName ? { [this.labelName]: label } : {} }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' as const };
  }
}
