export * from './setting';
export * from './common';
export * from './docs';
export * from './apps';
export * from './run-service';
