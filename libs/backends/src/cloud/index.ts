export * from './network-errors';
