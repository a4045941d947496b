export * from './vault-ethsign-backend';
export * from './ethsign-request';
