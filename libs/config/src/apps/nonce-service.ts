import { commonSettings, databaseSetting, nodeSettings } from '../common';
import { defineConfig, int, str } from '../setting';

export const nonceServiceConfig = defineConfig('nonce-service', {
  ...commonSettings,
  ...databaseSetting,
  ...nodeSettings,
  host: str({ env: 'NONCE_HTTP_HOST', default: '0.0.0.0', description: 'Interface of the health and operator HTTP endpoint.' }),
  port: int({ env: 'NONCE_HTTP_PORT', default: 8081, min: 0, max: 65535, description: 'Port of the health and operator HTTP endpoint.' }),
});
