export * from './backends-file';
export * from './create-backends';
