export * from './ports';
export * from './anvil';
