import type { NatsBus } from '@hsm-signer/messaging';
import { AccountDirectory } from './account-directory';
import { EthNodeClient } from './eth-node-client';
import type { SendPathLogger } from './logger';
import { NodeChainMismatchError, TransactionSender, type SendObserver } from './transaction-sender';

/** The settings both gateways read for the send path (libs/config common.ts sendPathSettings + nodeSettings). */
export interface SendPathSettings {
  nodeUrl: string;
  nodeTimeoutMs: number;
  nodeBatchMax: number;
  accountsMaxAgeMs: number;
  gasMultiplier: number;
  feeCacheMs: number;
  estimateBlock: 'latest' | 'pending';
  /** 0 = take the node's. */
  chainId: number;
}

export interface SendPath {
  node: EthNodeClient;
  accounts: AccountDirectory;
  sender: TransactionSender;
}

/**
 * The node client, account directory and sender, wired the same way for the rpc-gateway and the
 * rest-gateway: one place decides what the send path is made of. The caller starts `accounts` and
 * closes `node` (their lifetimes are the gateway's).
 */
export function createSendPath(
  settings: SendPathSettings,
  bus: NatsBus,
  logger: SendPathLogger,
  extra: { testPauseBeforeSubmitMs?: number; testPauseAfterSubmitMs?: number; observer?: SendObserver } = {},
): SendPath {
  const node = new EthNodeClient({ url: settings.nodeUrl, timeoutMs: settings.nodeTimeoutMs, maxBatch: settings.nodeBatchMax });
  const accounts = new AccountDirectory({ bus, maxAgeMs: settings.accountsMaxAgeMs, logger });
  const sender = new TransactionSender({
    bus,
    node,
    accounts,
    gasMultiplier: settings.gasMultiplier,
    feeCacheMs: settings.feeCacheMs,
    estimateBlock: settings.estimateBlock,
    expectedChainId: settings.chainId || undefined,
    logger,
    ...extra,
  });
  return { node, accounts, sender };
}

/**
 * Start-up of a gateway's send path: the node's chain is checked (CHAIN_ID set and the node on
 * another chain → thrown: nothing may be signed for it; the node down → only a warning, the check
 * repeats on the first send) and the account directory starts following key-discovery.
 * `nodeLabel` is the node URL without credentials, for the log.
 */
export async function startSendPath(path: SendPath, logger: SendPathLogger & { info(obj: object, msg: string): void }, nodeLabel: string): Promise<void> {
  try {
    const chainId = await path.sender.chainId();
    logger.info({ chainId, node: nodeLabel }, 'connected to the Ethereum node');
  } catch (error) {
    if (error instanceof NodeChainMismatchError) throw error;
    logger.warn({ node: nodeLabel, err: (error as Error).message }, 'the Ethereum node is not reachable yet');
  }
  path.accounts.start();
}
