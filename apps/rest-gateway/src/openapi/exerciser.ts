import { EXERCISER_SCRIPT } from './swagger-ui-assets';

export interface ExerciserOptions {
  /** Page title, e.g. the contract name. */
  title: string;
  /** URL of the Swagger document, e.g. `/contracts/erc20?swagger` (§2.2 `?ui` points at `?swagger`). */
  swaggerUrl: string;
  /** URL path under which swaggerUiAsset files are served, e.g. `/assets/swagger-ui`. */
  assetsPath: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * The "API exerciser" page (`?ui`, §2.2). ethconnect embeds rapidoc from a CDN; we serve Swagger UI from
 * our own assets so the page works on a gateway without internet access. No inline script: the
 * document URL is passed in a data attribute, read by the served start-up script.
 */
export function renderExerciser({ title, swaggerUrl, assetsPath }: ExerciserOptions): string {
  const assets = escapeHtml(assetsPath.replace(/\/+$/, ''));
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="stylesheet" href="${assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${assets}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui" data-swagger-url="${escapeHtml(swaggerUrl)}"></div>
  <script src="${assets}/swagger-ui-bundle.js"></script>
  <script src="${assets}/${EXERCISER_SCRIPT}"></script>
</body>
</html>
`;
}
