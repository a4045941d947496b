import type { MicroserviceOptions } from '@nestjs/microservices';
import { DrainingNatsServer, type NatsDrainOptions } from './draining-nats-server';

/**
 * NestJS microservice options for a service that answers requests on NATS. All request subjects of
 * one service share one queue group, so replicas split the load. On close the server drains: no new
 * requests reach this replica, the ones it has are answered (at most `drain.timeoutMs`), then the
 * connection closes — see {@link DrainingNatsServer}.
 */
export function natsMicroserviceOptions(servers: string, queue: string, name: string, drain: NatsDrainOptions): MicroserviceOptions {
  return {
    strategy: new DrainingNatsServer(
      {
        servers: servers.split(',').map((s) => s.trim()),
        queue,
        name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      },
      drain,
    ),
  };
}
