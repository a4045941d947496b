export * from './ports';
export * from './anvil';
export * from './softhsm';
