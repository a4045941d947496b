import { commonSettings, databaseSetting, nodeSettings } from '../common';
import { defineConfig, int, str } from '../setting';

export const restGatewayConfig = defineConfig('rest-gateway', {
  ...commonSettings,
  ...nodeSettings,
  ...databaseSetting,
  host: str({ env: 'REST_HOST', default: '0.0.0.0', description: 'Interface the REST API listens on.' }),
  port: int({ env: 'REST_PORT', default: 8080, min: 0, max: 65535, description: 'Port of the REST API.' }),
});
