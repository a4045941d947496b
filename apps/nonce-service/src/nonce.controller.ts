import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { Routes, Subjects } from '@hsm-signer/contracts';
import { handleRpc } from '@hsm-signer/messaging';
import type { PrismaClient } from '@hsm-signer/persistence';
import { NonceAllocator } from './nonce-allocator';

export const LOGGER = Symbol('LOGGER');
export const PRISMA = Symbol('PRISMA');

/** NATS request handlers (queue group nonce-service) and the HTTP health endpoint. */
@Controller()
export class NonceController {
  constructor(
    @Inject(NonceAllocator) private readonly allocator: NonceAllocator,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private readonly onUnexpected = (error: unknown) => this.logger.error({ err: error }, 'unexpected error in a nonce-service handler');

  @MessagePattern(Subjects.nonceAllocate)
  allocate(@Payload() payload: unknown) {
    return handleRpc(Routes.nonceAllocate, payload, (request) => this.allocator.allocate(request), this.onUnexpected);
  }

  @MessagePattern(Subjects.nonceRecordOutcome)
  recordOutcome(@Payload() payload: unknown) {
    return handleRpc(Routes.nonceRecordOutcome, payload, (request) => this.allocator.recordOutcome(request), this.onUnexpected);
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
