import { commonSettings, metricsSetting, nodeSettings, sendPathSettings } from '../common';
import { defineConfig, int, str, url, type Setting } from '../setting';

// Allow-list syntax of the CORS / WebSocket origin and host settings. The gateway parses the same
// entries into matchers (apps/rpc-gateway/src/http/allow-lists.ts); validated here so a typo stops
// start-up with the other configuration problems instead of silently matching nothing.
const HOST = String.raw`(?:\*\.)?[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\]`;
const ORIGIN_ENTRY = new RegExp(String.raw`^(?:\*|null|(?:[a-z][a-z0-9+.-]*://)?(?:${HOST})(?::\d{1,5})?)$`);
const HOST_ENTRY = new RegExp(String.raw`^(?:\*|${HOST})$`);

function listSetting<D extends string[] | undefined>(kind: string, pattern: RegExp, o: { env: string; description: string; default: D }): Setting<string[] | D> {
  return {
    ...o,
    type: `${kind} list`,
    parse: (raw) => {
      const entries = raw
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter((e) => e.length > 0);
      const bad = entries.filter((e) => !pattern.test(e));
      if (bad.length) throw new Error(`not ${kind === 'origin' ? 'an origin' : 'a host name'}: ${bad.map((e) => JSON.stringify(e)).join(', ')}`);
      return entries;
    },
  };
}

/** Unset = undefined: each setting says what an unset list means. */
function originList(o: { env: string; description: string }): Setting<string[] | undefined> {
  return listSetting('origin', ORIGIN_ENTRY, { ...o, default: undefined });
}

function hostList(o: { env: string; description: string; default: string[] }): Setting<string[]> {
  return listSetting('host', HOST_ENTRY, o);
}

export const rpcGatewayConfig = defineConfig('rpc-gateway', {
  ...commonSettings,
  ...metricsSetting,
  ...nodeSettings,
  host: str({ env: 'RPC_HOST', default: '0.0.0.0', description: 'Interface the JSON-RPC endpoint listens on.' }),
  port: int({ env: 'RPC_PORT', default: 8545, min: 0, max: 65535, description: 'Port of the JSON-RPC endpoint.' }),
  ...sendPathSettings,
  bodyLimitBytes: int({ env: 'RPC_BODY_LIMIT_BYTES', default: 5 * 1024 * 1024, min: 1024, description: 'Largest JSON-RPC request body accepted (larger: HTTP 413), and largest WebSocket message (larger: the connection is closed with code 1009).' }),
  batchLimit: int({ env: 'RPC_BATCH_LIMIT', default: 1000, min: 1, description: 'Most requests in one JSON-RPC batch (geth\'s default is 1000).' }),
  nodeWsUrl: url({
    env: 'ETH_NODE_WS_URL',
    default: '',
    protocols: ['ws', 'wss'],
    description:
      "The node's WebSocket JSON-RPC URL, used only for subscriptions (eth_subscribe) of clients connected to the gateway over WebSocket: one node connection per client connection that subscribes. Unset: ETH_NODE_URL with http→ws, https→wss (anvil serves both on one port, and so does geth when --ws is on the --http port).",
  }),
  wsPingIntervalMs: int({
    env: 'RPC_WS_PING_INTERVAL_MS',
    default: 30_000,
    min: 100,
    description: 'How often the WebSocket endpoint pings each client connection (and each node connection); one not answering with a pong by the next ping is dropped.',
  }),
  wsMaxBufferedBytes: int({
    env: 'RPC_WS_MAX_BUFFERED_BYTES',
    default: 16 * 1024 * 1024,
    min: 1024,
    description:
      'Most bytes of replies and subscription notifications waiting to be sent to one WebSocket client; a client reading slower than that is disconnected (close code 1008) instead of the gateway buffering without bound.',
  }),
  wsMaxConnections: int({
    env: 'RPC_WS_MAX_CONNECTIONS',
    default: 10_000,
    min: 1,
    description:
      'Most WebSocket client connections one gateway replica keeps open (each may hold one node connection for its subscriptions). Beyond it an upgrade is refused with HTTP 503 and a JSON-RPC error naming this setting; HTTP JSON-RPC is not affected.',
  }),
  corsOrigins: originList({
    env: 'RPC_CORS_ORIGINS',
    description:
      "Browser origins allowed to call the JSON-RPC HTTP endpoint (CORS, like geth's --http.corsdomain), comma-separated: `https://app.example.com`, `app.example.com` (any scheme and port), `http://localhost:3000`, `*.example.com` (subdomains), `*` (any). A request from another origin (an Origin header not listed; unset: any Origin header) gets 403 and no CORS headers, so a page cannot even send a call whose answer it may not read. Requests without an Origin header (curl, ethers/viem/web3.js in Node, cast) are never affected.",
  }),
  vhosts: hostList({
    env: 'RPC_VHOSTS',
    default: ['*'],
    description:
      "Host header values (host names, comma-separated; `*.example.com` for subdomains, `*` for any) the JSON-RPC endpoint answers (any port), like geth's --http.vhosts; others get 403, HTTP and WebSocket upgrades alike. Hosts given as IP addresses and requests without a Host header are always accepted (as geth). Default `*`, not geth's `localhost`: the gateway runs in containers reached by service name, and the DNS-rebinding pages a Host check guards against are already refused by the Origin check (browsers send Origin on every POST and WebSocket handshake). Set it (e.g. `localhost,rpc.example.com`) when RPC_CORS_ORIGINS or RPC_WS_ORIGINS is `*`.",
  }),
  wsOrigins: originList({
    env: 'RPC_WS_ORIGINS',
    description:
      "Browser origins allowed to open a WebSocket (like geth's --ws.origins), same syntax as RPC_CORS_ORIGINS; another Origin gets 403 on the upgrade. Unset: the same list as RPC_CORS_ORIGINS. Upgrades without an Origin header (non-browser clients) are always accepted (as geth).",
  }),
});
