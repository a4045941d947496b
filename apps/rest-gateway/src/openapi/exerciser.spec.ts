import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { escapeHtml, renderExerciser } from './exerciser';
import { EXERCISER_SCRIPT, swaggerUiAsset, swaggerUiAssetNames } from './swagger-ui-assets';

const DIST = dirname(require.resolve('swagger-ui-dist/package.json'));

/** src/href attribute values of the page. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
}

describe('renderExerciser', () => {
  const html = renderExerciser({ title: 'ERC20', swaggerUrl: '/contracts/erc20?swagger', assetsPath: '/assets/swagger-ui/' });

  it('loads Swagger UI only from our own asset path, each of them served by swaggerUiAsset', () => {
    const refs = references(html);
    expect(refs).toEqual(['/assets/swagger-ui/swagger-ui.css', '/assets/swagger-ui/favicon-32x32.png', '/assets/swagger-ui/swagger-ui-bundle.js', `/assets/swagger-ui/${EXERCISER_SCRIPT}`]);
    for (const ref of refs) expect(swaggerUiAsset(ref.slice('/assets/swagger-ui/'.length))).toBeDefined();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>/); // no inline script: a script-src 'self' CSP works
  });

  it('points the UI at the swagger URL and titles the page', () => {
    expect(html).toContain('<div id="swagger-ui" data-swagger-url="/contracts/erc20?swagger"></div>');
    expect(html).toContain('<title>ERC20</title>');
  });

  it('HTML-escapes the title, the swagger URL and the asset path', () => {
    const evil = renderExerciser({ title: '</title><script>alert(1)</script>', swaggerUrl: '/x?swagger&a="><img src=x onerror=alert(1)>', assetsPath: `/a"'><b>` });
    expect(evil).not.toContain('<script>alert');
    expect(evil).not.toContain('<img');
    expect(evil).not.toContain('<b>');
    expect(evil).toContain('<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(evil).toContain('data-swagger-url="/x?swagger&amp;a=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(references(evil)[0]).toBe('/a&quot;&#39;&gt;&lt;b&gt;/swagger-ui.css');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('the start-up script hands the data-swagger-url to SwaggerUIBundle, with the online validator off', () => {
    const script = swaggerUiAsset(EXERCISER_SCRIPT);
    expect(script?.contentType).toMatch(/^application\/javascript/);
    let onLoad: (() => void) | undefined;
    let config: Record<string, unknown> | undefined;
    const SwaggerUIBundle = Object.assign((c: Record<string, unknown>) => ((config = c), { ui: true }), { presets: { apis: 'apis-preset' }, plugins: { DownloadUrl: 'download-url' } });
    const window: Record<string, unknown> = { addEventListener: (event: string, fn: () => void) => event === 'load' && (onLoad = fn) };
    const document = { getElementById: (id: string) => (id === 'swagger-ui' ? { getAttribute: (name: string) => (name === 'data-swagger-url' ? '/contracts/erc20?swagger' : null) } : null) };
    runInNewContext(script!.body.toString('utf8'), { window, document, SwaggerUIBundle });
    expect(config).toBeUndefined(); // waits for load
    onLoad?.();
    expect(config).toMatchObject({ url: '/contracts/erc20?swagger', dom_id: '#swagger-ui', validatorUrl: null, presets: ['apis-preset'] });
    expect(window.ui).toEqual({ ui: true });
  });
});

describe('swaggerUiAsset', () => {
  it('serves the swagger-ui-dist files with their content types', () => {
    const css = swaggerUiAsset('swagger-ui.css');
    expect(css?.contentType).toBe('text/css; charset=utf-8');
    expect(css?.body.equals(readFileSync(join(DIST, 'swagger-ui.css')))).toBe(true);
    const bundle = swaggerUiAsset('swagger-ui-bundle.js');
    expect(bundle?.contentType).toBe('application/javascript; charset=utf-8');
    expect(bundle?.body.length).toBe(readFileSync(join(DIST, 'swagger-ui-bundle.js')).length);
    expect(swaggerUiAsset('swagger-ui-standalone-preset.js')?.body.length).toBeGreaterThan(0);
    const png = swaggerUiAsset('favicon-32x32.png');
    expect(png?.contentType).toBe('image/png');
    expect(png?.body.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('reads each file once (the same buffer is returned)', () => {
    expect(swaggerUiAsset('swagger-ui.css')?.body).toBe(swaggerUiAsset('swagger-ui.css')?.body);
  });

  it('refuses every name off the allow-list: traversal, absolute paths, other dist files, prototype keys', () => {
    for (const name of ['../package.json', '..%2Fpackage.json', 'swagger-ui.css/../../package.json', './swagger-ui.css', '/etc/passwd', 'index.html', 'swagger-initializer.js', 'swagger-ui-bundle.js.map', 'SWAGGER-UI.CSS', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(swaggerUiAsset(name)).toBeUndefined();
    }
  });

  it('lists what it serves', () => {
    expect(swaggerUiAssetNames().sort()).toEqual([EXERCISER_SCRIPT, 'favicon-16x16.png', 'favicon-32x32.png', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui.css'].sort());
    for (const name of swaggerUiAssetNames()) expect(swaggerUiAsset(name)?.body.length).toBeGreaterThan(0);
  });
});
