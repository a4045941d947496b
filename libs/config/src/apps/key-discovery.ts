import { commonSettings, metricsSetting, databaseSetting } from '../common';
import { defineConfig, int, str } from '../setting';

export const keyDiscoveryConfig = defineConfig('key-discovery', {
  ...commonSettings,
  ...metricsSetting,
  ...databaseSetting,
  host: str({ env: 'DISCOVERY_HTTP_HOST', default: '0.0.0.0', description: 'Interface of the health HTTP endpoint.' }),
  port: int({ env: 'DISCOVERY_HTTP_PORT', default: 8082, min: 0, max: 65535, description: 'Port of the health HTTP endpoint.' }),
  pollIntervalMs: int({ env: 'DISCOVERY_POLL_INTERVAL_MS', default: 5_000, min: 200, description: 'How often the backends are asked for their keys.' }),
});
