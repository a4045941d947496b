import { APPS, STACK_VARS } from '@hsm-signer/testing';
import { allAppConfigs } from './index';

// libs/testing's stack cannot import libs/config (that would be a project cycle), so it keeps its
// own list of the variables it hands each app. This keeps that list honest: every variable the
// stack sets must be a setting the app actually reads.
describe('the local stack hands each app only settings it reads', () => {
  it.each(APPS.map((app) => [app]))('%s', (app) => {
    const schema = allAppConfigs.find((s) => s.app === app);
    expect(schema).toBeDefined();
    const known = new Set(Object.values(schema!.settings).map((s) => s.env));
    expect(STACK_VARS[app as keyof typeof STACK_VARS].filter((name) => !known.has(name) && name !== 'SOFTHSM2_CONF')).toEqual([]);
  });
});
