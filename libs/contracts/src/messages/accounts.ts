import { address, array, literal, nullable, object, optional, string, type Infer } from '../validate';

export const parseAccount = object({
  address: address(),
  backendId: string({ min: 1 }),
  keyId: string({ min: 1 }),
  /** active: the backend listed it at the last poll; stale: the backend is down, last known; inactive: gone. */
  status: literal('active', 'stale', 'inactive'),
  /**
   * Transaction types the key's backend can sign (its BackendCapabilities). Absent: unknown (an older
   * key-discovery), every type assumed. The gateway builds legacy for a key without type 2.
   */
  transactionTypes: optional(array(literal(0, 1, 2))),
});
export type Account = Infer<typeof parseAccount>;

export const parseAccountsListRequest = object({});
export type AccountsListRequest = Infer<typeof parseAccountsListRequest>;

/** Active and stale accounts (inactive ones are gone from every backend). */
export const parseAccountsListReply = object({ accounts: array(parseAccount) });
export type AccountsListReply = Infer<typeof parseAccountsListReply>;

export const parseAccountsResolveRequest = object({ address: address() });
export type AccountsResolveRequest = Infer<typeof parseAccountsResolveRequest>;

export const parseAccountsResolveReply = object({ account: nullable(parseAccount) });
export type AccountsResolveReply = Infer<typeof parseAccountsResolveReply>;

export const parseAccountsChangedEvent = object({
  added: array(address()),
  removed: array(address()),
  at: string(),
});
export type AccountsChangedEvent = Infer<typeof parseAccountsChangedEvent>;
