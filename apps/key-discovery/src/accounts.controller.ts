import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { Routes, Subjects } from '@hsm-signer/contracts';
import { handleRpc } from '@hsm-signer/messaging';
import { AccountRegistry, type PrismaClient } from '@hsm-signer/persistence';
import { KeyDiscovery } from './discovery';

export const LOGGER = Symbol('LOGGER');
export const PRISMA = Symbol('PRISMA');

/** NATS request handlers (queue group key-discovery) and the HTTP health endpoint. */
@Controller()
export class AccountsController {
  constructor(
    @Inject(AccountRegistry) private readonly registry: AccountRegistry,
    @Inject(KeyDiscovery) private readonly discovery: KeyDiscovery,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private readonly onUnexpected = (error: unknown) => this.logger.error({ err: error }, 'unexpected error in a key-discovery handler');

  @MessagePattern(Subjects.accountsList)
  list(@Payload() payload: unknown) {
    return handleRpc(Routes.accountsList, payload, async () => ({ accounts: await this.registry.listVisible() }), this.onUnexpected);
  }

  @MessagePattern(Subjects.accountsResolve)
  resolve(@Payload() payload: unknown) {
    return handleRpc(Routes.accountsResolve, payload, async (request) => ({ account: (await this.registry.resolve(request.address)) ?? null }), this.onUnexpected);
  }

  /**
   * 200 while Postgres answers; reports the last poll (a failing signer is not a discovery outage),
   * and from the last listing: each backend's health and key count, and addresses listed by several
   * backends with the one chosen.
   */
  @Get('health')
  async health() {
    const lastPoll = this.discovery.lastPoll ? { at: this.discovery.lastPoll.at.toISOString(), ok: this.discovery.lastPoll.ok } : null;
    const listing = this.discovery.lastListing;
    const backends = listing ? { listedAt: listing.at.toISOString(), backends: listing.backends, duplicates: listing.duplicates } : { listedAt: null, backends: [], duplicates: [] };
    try {
      await this.prisma.$queryRaw`SELECT 1`;
    } catch {
      throw new HttpException({ ok: false, service: 'key-discovery', database: 'unavailable', lastPoll, ...backends }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { ok: true, service: 'key-discovery', lastPoll, ...backends };
  }
}
