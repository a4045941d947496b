import { JsonRpcError, JsonRpcErrorCode } from '@hsm-signer/ethereum';

export const NODE_WS_UNAVAILABLE_MESSAGE = "The Ethereum node's WebSocket is not reachable, and subscriptions need it: check that the node serves WebSocket, or set ETH_NODE_WS_URL on the rpc-gateway";

/**
 * A subscription was asked for but the WebSocket to the node could not be opened (refused, no
 * WebSocket on that port, handshake timeout). -32000 like every "downstream unavailable" error
 * (research/rpc-signers.md §1.8), with a message that says what to configure. The URL stays out of
 * the message: hosted nodes carry API keys in it.
 */
export class NodeWebSocketUnavailableError extends JsonRpcError {
  override name = 'NodeWebSocketUnavailableError';
  constructor(options: { cause?: unknown } = {}) {
    super(JsonRpcErrorCode.Server, NODE_WS_UNAVAILABLE_MESSAGE, { httpStatus: 504, ...options });
  }
}
