import { Controller, Get, Inject, Module, Res, type DynamicModule } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** GET /metrics: the process's registry in the Prometheus text format, for a scraper. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  async metrics(@Res() res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await this.registry.metrics();
    } catch (error) {
      // A failing collect callback (a gauge read from the database, say) must not become Nest's HTML 500.
      res.statusCode = 500;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`# metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
    res.statusCode = 200;
    res.setHeader('content-type', this.registry.contentType);
    res.end(body);
  }
}

/**
 * GET /metrics on the app's HTTP port when `registry` is given (METRICS_ENABLED), nothing otherwise
 * (the path is then a 404 like any unknown one). Put it in the app module's `imports`.
 */
@Module({})
export class MetricsModule {
  static register(registry: Registry | undefined): DynamicModule {
    if (!registry) return { module: MetricsModule };
    return { module: MetricsModule, controllers: [MetricsController], providers: [{ provide: METRICS_REGISTRY, useValue: registry }] };
  }
}
