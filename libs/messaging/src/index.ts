export * from './errors';
export * from './nats-bus';
export * from './rpc-handler';
export * from './nest-transport';
export * from './request-coalescer';
export * from './in-flight';
export * from './draining-nats-server';
export * from './reply-mux';
