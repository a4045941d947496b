export * from './registry';
export * from './labels';
export * from './cells';
export * from './metrics.controller';
export * from './text';
export * from './scraped';
export { Gauge, Registry } from 'prom-client';
