export * from './registry';
export * from './labels';
export * from './cells';
export * from './metrics.controller';
export * from './text';
export { Gauge, Registry } from 'prom-client';
