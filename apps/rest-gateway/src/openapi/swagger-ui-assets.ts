import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Static files of the API exerciser, served by the gateway itself: it may run without internet access,
 * so nothing comes from a CDN. Only names in this list are served, which rules out path traversal
 * without any path parsing.
 */
const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * Our own start-up script. It lives in a file rather than inline in the page so a strict
 * `script-src 'self'` CSP works; it reads the document URL from the page (see exerciser.ts).
 * `validatorUrl: null` stops Swagger UI from sending the document to validator.swagger.io.
 */
export const EXERCISER_SCRIPT = 'exerciser-init.js';
const EXERCISER_INIT = `window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-swagger-url'),
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'BaseLayout'
  });
});
`;

export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

const cache = new Map<string, StaticAsset>();

/**
 * The swagger-ui-dist directory. Resolved through package.json rather than by loading the package's
 * main module, which would evaluate the 1.7 MB browser bundle in Node (it is what getAbsoluteFSPath returns).
 */
function swaggerUiDistPath(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** An exerciser asset by file name, or undefined when the name is not on the allow-list. Read once, then cached. */
export function swaggerUiAsset(name: string): StaticAsset | undefined {
  const cached = cache.get(name);
  if (cached) return cached;
  let asset: StaticAsset;
  if (name === EXERCISER_SCRIPT) {
    asset = { body: Buffer.from(EXERCISER_INIT, 'utf8'), contentType: 'application/javascript; charset=utf-8' };
  } else if (Object.hasOwn(SWAGGER_UI_FILES, name)) {
    asset = { body: readFileSync(join(swaggerUiDistPath(), name)), contentType: SWAGGER_UI_FILES[name] };
  } else {
    return undefined;
  }
  cache.set(name, asset);
  return asset;
}

/** The names swaggerUiAsset serves (for routing and tests). */
export function swaggerUiAssetNames(): string[] {
  return [...Object.keys(SWAGGER_UI_FILES), EXERCISER_SCRIPT];
}
