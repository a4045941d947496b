/**
 * NestJS's NATS transport wraps every message in an envelope: requests are `{pattern, data, id}`
 * and replies `{id, response | err, isDisposed}` (@nestjs/microservices 11 server-nats.js
 * handleMessage/getPublisher, nats-record.serializer.js). Our client speaks that envelope directly
 * so it can use nats.js `request()` — which fails fast with 503 "no responders" — where Nest's
 * ClientNats would wait for the whole timeout.
 */
import { randomUUID } from 'node:crypto';

export interface NestRequestEnvelope<T> {
  pattern: string;
  data: T;
  id: string;
}

export interface NestReplyEnvelope {
  id?: string;
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
}

export function wrapRequest<T>(subject: string, data: T): NestRequestEnvelope<T> {
  return { pattern: subject, data, id: randomUUID() };
}

/** Events carry no id, which is how Nest tells them from requests. */
export function wrapEvent<T>(subject: string, data: T): { pattern: string; data: T } {
  return { pattern: subject, data };
}
