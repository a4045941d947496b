export * from './azure-key-vault-backend';
