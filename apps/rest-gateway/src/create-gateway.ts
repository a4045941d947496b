import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { PinoNestLogger, redactUrl } from '@hsm-signer/logging';
import { NatsBus, RequestCoalescer } from '@hsm-signer/messaging';
import { applyMigrations, createPrismaClient, RestStore, type PrismaClient, type SaveReplyInput } from '@hsm-signer/persistence';
import { createSendPath, HttpDrain, startSendPath, type EthNodeClient } from '@hsm-signer/transactions';

/** At shutdown, how long requests in progress (a sync send waiting for its receipt) may take before their connections are cut. */
const HTTP_DRAIN_GRACE_MS = 10_000;
import type { Logger } from 'pino';
import type { Server } from 'node:http';
import { RestGatewayModule } from './app.module';
import { ContractInvoker } from './api/invoke';
import { Registry } from './api/registry';
import { RepliesApi } from './api/replies';
import { WebhookApi } from './api/webhook';
import { AsyncRequestQueue } from './dispatch/async-queue';
import { TransactionDispatcher } from './dispatch/transaction-dispatcher';
import { ReceiptWaiter } from './replies/receipt-waiter';
import type { NodeReceipt } from './replies/reply-bodies';
import { completePendingReplies } from './replies/reply-completer';
import { BackgroundTask } from './background-task';
import { RestMetrics } from './metrics';
import type { RestContext, RestGatewayConfig } from './rest-context';

export type { RestGatewayConfig } from './rest-context';

export interface RestGateway {
  app: INestApplication;
  bus: NatsBus;
  context: RestContext;
}

/**
 * Builds the rest-gateway: applies migrations, joins NATS, wires the send path (libs/transactions,
 * the same one the rpc-gateway runs), the JetStream queue of asynchronous requests and the reply
 * completion, and returns a Nest app that is not listening yet (main.ts or a test calls listen).
 */
export async function createRestGateway(config: RestGatewayConfig, logger: Logger): Promise<RestGateway> {
  const migrations = await applyMigrations(config.databaseUrl, {
    connectRetryMs: 60_000,
    onConnectRetry: (message) => logger.warn({ error: message }, 'database not reachable yet; retrying'),
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'database migrations applied');

  const name = config.serviceName || `rest-gateway-${process.pid}`;
  const bus = await NatsBus.connect({ servers: config.natsUrl, name, requestTimeoutMs: config.natsRequestTimeoutMs });
  let prisma: PrismaClient | undefined;
  const tasks: BackgroundTask[] = [];
  let queue: AsyncRequestQueue | undefined;
  let waiter: ReceiptWaiter | undefined;
  let node: EthNodeClient | undefined;
  try {
    prisma = createPrismaClient(config.databaseUrl, { poolSize: 8 });
    const store = new RestStore(prisma);
    const metrics = config.metricsEnabled
      ? new RestMetrics({ asyncProcessing: () => queue?.processing, syncWaiting: () => waiter?.size, pendingReplies: () => store.countPendingReplies() })
      : undefined;
    // The reply writes of one event-loop turn (the async workers' pending replies, a completer round's
    // final ones) go out as one statement: one commit for many replies instead of one each, which
    // was most of the Postgres cost of an asynchronous request (bench/README.md "rest-storm").
    const replyWrites = new RequestCoalescer<SaveReplyInput, boolean>((inputs) => store.saveReplies(inputs), { maxItems: 500 });
    // Final replies are stored for asynchronous requests only: counting their writes counts those transactions.
    const save = (input: SaveReplyInput) => replyWrites.submit(input);
    const saveReply = metrics ? metrics.countAsync(save) : save;
    // TEST ONLY, not settings: the e2e tests SIGKILL a replica inside these pauses (before the
    // broadcast, or between the broadcast and the ledger record). Never set them in production.
    const pause = (name: string) => Number(process.env[name] ?? '') || undefined;
    const { node: nodeClient, accounts, sender } = createSendPath(config, bus, logger, {
      testPauseBeforeSubmitMs: pause('HSM_TEST_PAUSE_BEFORE_SUBMIT_MS'),
      testPauseAfterSubmitMs: pause('HSM_TEST_PAUSE_AFTER_SUBMIT_MS'),
      observer: metrics?.send,
    });
    node = nodeClient;
    const receipt = (hash: string) => nodeClient.call<NodeReceipt | null>('eth_getTransactionReceipt', [hash]);
    waiter = new ReceiptWaiter({ ledgerStates: (ids) => store.ledgerStates(ids), receipt }, config.receiptPollMs, (error) =>
      logger.warn({ err: error.message }, 'a receipt round failed; retrying'),
    );
    const prefixes = { short: config.prefixShort, long: config.prefixLong };
    let publish: AsyncRequestQueue['publish'] = () => Promise.reject(new Error('not started'));
    const dispatcher = new TransactionDispatcher(
      {
        send: (tx, requestId) => sender.send(tx, { requestId }),
        replies: { createPendingReply: (input) => store.createPendingReply(input), saveReply, deletePendingReply: (id) => store.deletePendingReply(id) },
        registerDeployed: async (address, abiId, registerAs) => {
          await store.registerContract({ address, abiId, registeredAs: registerAs ?? null });
        },
      },
      waiter,
      { publish: (request) => publish(request) },
      config.syncTimeoutMs,
      logger,
    );
    queue = new AsyncRequestQueue(bus.connection, { stream: config.asyncStream, concurrency: config.asyncConcurrency, maxDeliveries: config.asyncMaxDeliveries, logger, onDelivery: metrics?.delivered }, (request, delivery) =>
      dispatcher.processAsync(request, delivery),
    );
    const started = queue;
    publish = (request) => started.publish(request);

    const nodeCall = <T>(method: string, params: unknown[]) => nodeClient.call<T>(method, params);
    const sending = metrics ? metrics.countSync(dispatcher) : dispatcher;
    const context: RestContext = {
      config,
      bus,
      store,
      registry: new Registry(store, { baseUrl: config.baseUrl, prefixes }),
      invoker: new ContractInvoker({ nodeCall, dispatcher: sending }, { bodyLimitBytes: config.bodyLimitBytes, baseUrl: config.baseUrl, prefixes }),
      replies: new RepliesApi(store, config.repliesQueryLimit),
      webhook: new WebhookApi(
        {
          nodeCall,
          dispatcher,
          storeAbi: async (abi, bytecode, abiName) => (await store.createAbi({ name: abiName ?? 'Contract', abi, bytecode, deployable: true })).id,
        },
        { bodyLimitBytes: config.bodyLimitBytes, baseUrl: config.baseUrl },
      ),
      prefixes,
      logger,
      metrics,
    };

    await startSendPath({ node: nodeClient, accounts, sender }, logger, redactUrl(config.nodeUrl));
    await queue.start();
    tasks.push(
      new BackgroundTask('reply completion', Math.max(config.receiptPollMs, 500), logger, async () =>
        metrics?.repliesCompleted(
          await completePendingReplies({ pendingRepliesWithLedger: (limit) => store.pendingRepliesWithLedger(limit), saveReply, receipt, finish: (r, nonce, meta) => dispatcher.finishPending(r, nonce, meta) }),
        ),
      ),
    );
    if (config.repliesRetentionDays > 0) {
      tasks.push(new BackgroundTask('reply retention', 3_600_000, logger, () => store.deleteRepliesBefore(new Date(Date.now() - config.repliesRetentionDays * 86_400_000))));
    }
    for (const task of tasks) task.start();

    const http: { drain?: HttpDrain } = {};
    const shutdown = {
      before: () => {
        logger.info('shutting down: draining HTTP connections, then the asynchronous requests in progress');
        http.drain?.begin();
      },
      after: async () => {
        http.drain?.end();
        await afterHttpClosed();
      },
    };
    const afterHttpClosed = async () => {
      await queue?.stop();
      for (const task of tasks) await task.stop();
      waiter?.close();
      await sender.flush();
      accounts.stop();
      await nodeClient.close();
      await prisma?.$disconnect();
      await bus.close();
    };
    const app = await NestFactory.create(RestGatewayModule.register(context, shutdown), { bodyParser: false, logger: new PinoNestLogger(logger) });
    // Before Express: every request is counted, the 404s of unknown routes and GET /metrics too.
    if (metrics) (app.getHttpServer() as Server).prependListener('request', metrics.track);
    http.drain = new HttpDrain(app.getHttpServer() as Server, HTTP_DRAIN_GRACE_MS);
    return { app, bus, context };
  } catch (error) {
    await queue?.stop().catch(() => undefined);
    for (const task of tasks) await task.stop();
    waiter?.close();
    await node?.close().catch(() => undefined);
    await prisma?.$disconnect().catch(() => undefined);
    await bus.close();
    throw error;
  }
}
