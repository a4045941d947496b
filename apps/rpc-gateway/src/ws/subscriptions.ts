/**
 * Subscription methods (`eth_subscribe`, `eth_unsubscribe`, and any other `<namespace>_subscribe`
 * geth serves) are bound to the connection they were made on: the node sends `eth_subscription`
 * notifications down that socket and accepts `eth_unsubscribe` for the id only there. So they go
 * over a WebSocket to the node; everything else keeps the HTTP path.
 */
export function isSubscriptionMethod(method: string): boolean {
  return /_(un)?subscribe$/.test(method);
}

/**
 * Whether a pass-through body (one request or the forwarded part of a batch) holds a subscription
 * method. The substring test keeps the JSON parse off every other pass-through call.
 */
export function needsNodeSocket(body: string): boolean {
  if (!body.includes('subscribe')) return false;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  const items = Array.isArray(value) ? value : [value];
  return items.some((item) => typeof item === 'object' && item !== null && typeof (item as { method?: unknown }).method === 'string' && isSubscriptionMethod((item as { method: string }).method));
}
