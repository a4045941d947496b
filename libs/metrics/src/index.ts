export * from './registry';
export * from './labels';
export * from './metrics.controller';
export * from './text';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
