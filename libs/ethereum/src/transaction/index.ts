export * from './quantity';
export * from './request';
export * from './complete';
