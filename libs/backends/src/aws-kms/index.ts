export * from './aws-kms-backend';
