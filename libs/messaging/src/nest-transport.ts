import { Transport, type MicroserviceOptions } from '@nestjs/microservices';

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
    },
  };
}
