export {};
export * from './signature';
