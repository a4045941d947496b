import { isIP } from 'node:net';

/**
 * The allow-lists behind RPC_CORS_ORIGINS, RPC_WS_ORIGINS and RPC_VHOSTS, built once at start-up.
 * Entries arrive validated and lower-cased by libs/config (apps/rpc-gateway.ts). A lookup is a
 * boolean for `*`, else one Map lookup of the header exactly as sent: header values are memoised
 * (a client sends the same Host / Origin on every request), so parsing runs once per distinct value.
 */

/** Distinct header values remembered; cleared when full, so hostile values cannot grow it. */
const MEMO_LIMIT = 256;

abstract class AllowList {
  /** `*` was given: everything matches, nothing is parsed or remembered. */
  readonly any: boolean;
  private readonly memo = new Map<string, boolean>();

  protected constructor(entries: readonly string[]) {
    this.any = entries.includes('*');
  }

  protected lookup(value: string): boolean {
    const known = this.memo.get(value);
    if (known !== undefined) return known;
    const allowed = this.decide(value);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(value, allowed);
    return allowed;
  }

  protected abstract decide(value: string): boolean;
}

/** A host name rule: exact, or `*.example.com` for any subdomain (not example.com itself). */
type HostRule = { exact: string } | { suffix: string };

function hostRule(entry: string): HostRule {
  return entry.startsWith('*.') ? { suffix: entry.slice(1) } : { exact: entry };
}

function hostMatches(rule: HostRule, host: string): boolean {
  return 'exact' in rule ? rule.exact === host : host.length > rule.suffix.length && host.endsWith(rule.suffix);
}

interface Authority {
  host: string;
  port?: string;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → the lower-case host (no brackets, no trailing dot) and the port if given. */
function splitAuthority(authority: string): Authority {
  let host = authority;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end > 0) {
      host = authority.slice(1, end);
      if (authority.charCodeAt(end + 1) === 58 /* : */) port = authority.slice(end + 2);
    }
  } else {
    const colon = authority.indexOf(':');
    // More than one colon: a bare IPv6 address, no port to strip (geth's SplitHostPort fallback).
    if (colon >= 0 && authority.indexOf(':', colon + 1) < 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  return port ? { host, port } : { host };
}

export function hostOf(authority: string): string {
  return splitAuthority(authority).host;
}

/**
 * RPC_VHOSTS, with geth's rules (go-ethereum node/rpcstack.go, virtualHostHandler): no Host header
 * (HTTP/1.0) passes, a host that is an IP address passes (DNS rebinding needs a host name the
 * attacker controls), anything else must be listed.
 */
export class HostList extends AllowList {
  private readonly rules: HostRule[];

  constructor(entries: readonly string[]) {
    super(entries);
    this.rules = entries.filter((e) => e !== '*').map((e) => hostRule(hostOf(e)));
  }

  allows(hostHeader: string | undefined): boolean {
    return this.any || hostHeader === undefined || hostHeader === '' || this.lookup(hostHeader);
  }

  protected decide(hostHeader: string): boolean {
    const host = hostOf(hostHeader);
    return isIP(host) !== 0 || this.rules.some((rule) => hostMatches(rule, host));
  }
}

/** An origin rule as geth's --ws.origins reads one: scheme and port optional (= any). */
interface OriginRule {
  scheme?: string;
  host: HostRule;
  port?: string;
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };

/** `[scheme://]host[:port]`; the port only when written. */
function parseOrigin(value: string): { scheme?: string } & Authority {
  const sep = value.indexOf('://');
  const authority = splitAuthority(sep < 0 ? value : value.slice(sep + 3));
  return sep < 0 ? authority : { scheme: value.slice(0, sep).toLowerCase(), ...authority };
}

/**
 * RPC_CORS_ORIGINS / RPC_WS_ORIGINS. An entry is `*`, `null` (the Origin of sandboxed and file://
 * pages, only when listed), or `[scheme://]host[:port]` where a missing scheme or port matches any,
 * as in geth's ruleAllowsOrigin (go-ethereum rpc/websocket.go); `*.example.com` matches subdomains.
 * A browser Origin without a port has its scheme's default port (https://a.com = https://a.com:443).
 */
export class OriginList extends AllowList {
  private readonly rules: OriginRule[];
  private readonly nullAllowed: boolean;

  constructor(entries: readonly string[]) {
    super(entries);
    this.nullAllowed = entries.includes('null');
    this.rules = entries
      .filter((e) => e !== '*' && e !== 'null')
      .map((e) => {
        const { scheme, host, port } = parseOrigin(e);
        return { scheme, host: hostRule(host), port };
      });
  }

  allows(origin: string): boolean {
    return this.any || this.lookup(origin);
  }

  protected decide(origin: string): boolean {
    if (origin === 'null') return this.nullAllowed;
    if (origin.indexOf('://') < 0) return false; // a browser always sends scheme://host[:port]
    const o = parseOrigin(origin);
    const port = o.port ?? (o.scheme === undefined ? undefined : DEFAULT_PORTS[o.scheme]);
    return this.rules.some((r) => (r.scheme === undefined || r.scheme === o.scheme) && hostMatches(r.host, o.host) && (r.port === undefined || r.port === port));
  }
}
