import { Subjects } from './subjects';
import type { Parser } from './validate';
import { batchRoute } from './batch';
import * as signer from './messages/signer';
import * as nonce from './messages/nonce';
import * as accounts from './messages/accounts';

/** A request/reply subject with the parsers for both directions. */
export interface Route<Req, Rep> {
  subject: string;
  request: Parser<Req>;
  reply: Parser<Rep>;
}
export type RequestOf<R> = R extends Route<infer Req, unknown> ? Req : never;
export type ReplyOf<R> = R extends Route<unknown, infer Rep> ? Rep : never;

/** An event subject with its payload parser. */
export interface EventRoute<E> {
  subject: string;
  payload: Parser<E>;
}

const route = <Req, Rep>(subject: string, request: Parser<Req>, reply: Parser<Rep>): Route<Req, Rep> => ({ subject, request, reply });

export const Routes = {
  signerSignTransaction: route(Subjects.signerSignTransaction, signer.parseSignTransactionRequest, signer.parseSignTransactionReply),
  signerSignDigest: route(Subjects.signerSignDigest, signer.parseSignDigestRequest, signer.parseSignDigestReply),
  signerListKeys: route(Subjects.signerListKeys, signer.parseListKeysRequest, signer.parseListKeysReply),
  nonceAllocate: route(Subjects.nonceAllocate, nonce.parseAllocateNonceRequest, nonce.parseAllocateNonceReply),
  nonceRecordOutcome: route(Subjects.nonceRecordOutcome, nonce.parseRecordOutcomeRequest, nonce.parseRecordOutcomeReply),
  accountsList: route(Subjects.accountsList, accounts.parseAccountsListRequest, accounts.parseAccountsListReply),
  accountsResolve: route(Subjects.accountsResolve, accounts.parseAccountsResolveRequest, accounts.parseAccountsResolveReply),
} as const;

/** The hot-path routes in batched form (batch.ts): what the gateways send; the single routes stay for everything else. */
export const BatchRoutes = {
  signerSignTransaction: batchRoute(Subjects.signerSignTransactionBatch, Routes.signerSignTransaction),
  nonceAllocate: batchRoute(Subjects.nonceAllocateBatch, Routes.nonceAllocate),
  nonceRecordOutcome: batchRoute(Subjects.nonceRecordOutcomeBatch, Routes.nonceRecordOutcome),
} as const;

export const Events = {
  accountsChanged: { subject: Subjects.accountsChanged, payload: accounts.parseAccountsChangedEvent } as EventRoute<accounts.AccountsChangedEvent>,
} as const;
