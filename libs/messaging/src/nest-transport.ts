import { Transport, type MicroserviceOptions } from '@nestjs/microservices';

/** How long a closing service keeps its NATS connection after unsubscribing, for replies in flight. */
export const NATS_SHUTDOWN_GRACE_MS = 300;

/**
 * NestJS microservice options for a service that answers requests on NATS. All request subjects of
 * one service share one queue group, so replicas split the load.
 */
export function natsMicroserviceOptions(servers: string, queue: string, name: string): MicroserviceOptions {
  return {
    transport: Transport.NATS,
    options: {
      servers: servers.split(',').map((s) => s.trim()),
      queue,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // On close: unsubscribe first, then give requests already delivered time to reply before the
      // connection goes (Nest's server-nats close()). Without it a request that arrived as a replica
      // shut down could be handled and its reply dropped: the caller waited out its whole timeout.
      gracefulShutdown: true,
      gracePeriod: NATS_SHUTDOWN_GRACE_MS,
    },
  };
}
