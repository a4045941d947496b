/**
 * The node's WebSocket URL: ETH_NODE_WS_URL when set, else ETH_NODE_URL with http→ws and
 * https→wss. anvil serves WebSocket on its HTTP port, and so does geth when `--ws.port` equals
 * `--http.port`; a node that serves WebSocket elsewhere needs ETH_NODE_WS_URL. Credentials and path
 * are kept (hosted nodes put the API key in either).
 */
export function nodeWebSocketUrl(configured: string | undefined, httpUrl: string): string {
  if (configured) return configured;
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** What may be logged of a node URL: scheme, host and port (paths and queries of hosted nodes carry API keys). */
export function describeNodeUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(invalid URL)';
  }
}
