export * from './types';
export * from './errors';
export * from './node-errors';
export * from './payload';
