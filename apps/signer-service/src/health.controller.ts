import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { BackendRegistry } from '@hsm-signer/backends';
import { secp256k1Implementation } from '@hsm-signer/ethereum';
import { BACKEND_REGISTRY } from './tokens';

/** The bit of Express's response we use (no @types/express in the workspace). */
interface StatusResponse {
  status(code: number): unknown;
}

export interface HealthBody {
  status: 'ok' | 'degraded';
  /** 'native' libsecp256k1 or the 'js' fallback (30× slower recovery). */
  secp256k1: 'native' | 'js';
  backends: Array<{ id: string; kind: string; healthy: boolean; reason?: string; keyCount?: number }>;
}

/** GET /health: per-backend health (200 when every backend is healthy, else 503). GET /health/live: the process answers. */
@Controller('health')
export class HealthController {
  constructor(@Inject(BACKEND_REGISTRY) private readonly registry: BackendRegistry) {}

  @Get()
  async health(@Res({ passthrough: true }) res: StatusResponse): Promise<HealthBody> {
    const statuses = await this.registry.health();
    const backends = statuses.map((s) => ({ id: s.id, kind: s.kind, healthy: s.healthy, reason: s.reason, keyCount: s.keyCount }));
    const ok = backends.length > 0 && backends.every((b) => b.healthy);
    const body: HealthBody = { status: ok ? 'ok' : 'degraded', secp256k1: secp256k1Implementation().native ? 'native' : 'js', backends };
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
