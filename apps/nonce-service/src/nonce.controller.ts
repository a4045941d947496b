import { Controller, Get, HttpCode, HttpException, HttpStatus, Inject, Param, Post } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { BatchRoutes, ErrorCode, Routes, Subjects } from '@hsm-signer/contracts';
import { eachRequest, handleRpc, handleRpcBatch, ServiceError } from '@hsm-signer/messaging';
import { isDatabaseUnavailable, type LifecycleLedger, type PrismaClient } from '@hsm-signer/persistence';
import { NonceAllocator } from './nonce-allocator';
import type { Tracker } from './tracker';

export const LOGGER = Symbol('LOGGER');
export const PRISMA = Symbol('PRISMA');
export const LIFECYCLE = Symbol('LIFECYCLE');
export const TRACKER = Symbol('TRACKER');

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** NATS request handlers (queue group nonce-service) and the HTTP health endpoint. */
@Controller()
export class NonceController {
  constructor(
    @Inject(NonceAllocator) private readonly allocator: NonceAllocator,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(LIFECYCLE) private readonly lifecycle: LifecycleLedger,
    @Inject(TRACKER) private readonly tracker: Tracker,
  ) {}

  private readonly onUnexpected = (error: unknown) => this.logger.error({ err: error }, 'unexpected error in a nonce-service handler');

  /** Postgres down or restarting: a stable, retryable code for the caller, not the driver's text. */
  private readonly ledger = <T>(run: () => Promise<T>): Promise<T> =>
    run().catch((error: unknown) => {
      throw isDatabaseUnavailable(error) ? this.unavailable(error as Error) : error;
    });

  @MessagePattern(Subjects.nonceAllocate)
  allocate(@Payload() payload: unknown) {
    return handleRpc(Routes.nonceAllocate, payload, (request) => this.ledger(() => this.allocator.allocate(request)), this.onUnexpected);
  }

  @MessagePattern(Subjects.nonceRecordOutcome)
  recordOutcome(@Payload() payload: unknown) {
    return handleRpc(Routes.nonceRecordOutcome, payload, (request) => this.ledger(() => this.allocator.recordOutcome(request)), this.onUnexpected);
  }

  /** The gateways' hot path: a turn's allocations in one message; per account they coalesce into one statement (NonceAllocator). */
  @MessagePattern(Subjects.nonceAllocateBatch)
  allocateBatch(@Payload() payload: unknown) {
    return handleRpcBatch(BatchRoutes.nonceAllocate, payload, eachRequest((request) => this.ledger(() => this.allocator.allocate(request))), this.onUnexpected);
  }

  /** The gateways' hot path: a turn's outcomes in one message; the `submitted` ones in one statement. */
  @MessagePattern(Subjects.nonceRecordOutcomeBatch)
  recordOutcomeBatch(@Payload() payload: unknown) {
    return handleRpcBatch(
      BatchRoutes.nonceRecordOutcome,
      payload,
      async (requests) => (await this.allocator.recordOutcomes(requests)).map((r) => (r instanceof Error && isDatabaseUnavailable(r) ? this.unavailable(r) : r)),
      this.onUnexpected,
    );
  }

  private unavailable(error: Error): ServiceError {
    this.logger.warn({ err: error.message }, 'the ledger database is unreachable');
    return new ServiceError(ErrorCode.LedgerUnavailable, 'its database cannot be reached (Postgres down or restarting); retry shortly');
  }

  /** Operator view (issue 3 scope 8): the account's counter, chain floor, tracker lease, holes and last 50 transactions. */
  @Get('accounts/:chainId/:address')
  async account(@Param('chainId') chainId: string, @Param('address') address: string) {
    const key = accountKey(chainId, address);
    const view = await this.lifecycle.accountView(key.chainId, key.address, 50);
    if (!view) throw new HttpException({ error: `no nonce account ${key.chainId}/${key.address}` }, HttpStatus.NOT_FOUND);
    return view;
  }

  /**
   * Operator resync: one tracker pass for the account now (chain floor, reaped leases, receipts,
   * confirmations, re-sends, gap fill), then the resulting view. 409 when another replica holds the
   * account's tracker lease (it does the same every round).
   */
  @Post('accounts/:chainId/:address/resync')
  @HttpCode(200)
  async resync(@Param('chainId') chainId: string, @Param('address') address: string) {
    const key = accountKey(chainId, address);
    const lease = await this.tracker.leaseFor(key.chainId, key.address);
    if (!lease) {
      const view = await this.lifecycle.accountView(key.chainId, key.address, 0);
      if (!view) throw new HttpException({ error: `no nonce account ${key.chainId}/${key.address}` }, HttpStatus.NOT_FOUND);
      throw new HttpException({ error: `account is tracked by ${view.tracker.owner} until ${view.tracker.leaseUntil}; it resyncs every round` }, HttpStatus.CONFLICT);
    }
    try {
      await this.tracker.trackAccount(lease);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, ...key }, 'operator resync failed');
      throw new HttpException({ error: `resync failed: ${(error as Error).message}` }, HttpStatus.BAD_GATEWAY);
    }
    return this.lifecycle.accountView(key.chainId, key.address, 50);
  }

  /** 200 when Postgres answers; 503 otherwise (the NATS side is Nest's and reconnects by itself). */
  @Get('health')
  async health() {
    try {
      await this.prisma.$queryRaw`SELECT 1`;
    } catch {
      throw new HttpException({ ok: false, service: 'nonce-service', database: 'unavailable' }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { ok: true, service: 'nonce-service' };
  }
}

function accountKey(chainId: string, address: string): { chainId: number; address: string } {
  const id = Number(chainId);
  if (!Number.isSafeInteger(id) || id < 1 || !ADDRESS.test(address)) {
    throw new HttpException({ error: 'expected /accounts/<chainId>/<0x address>' }, HttpStatus.BAD_REQUEST);
  }
  return { chainId: id, address: address.toLowerCase() };
}
